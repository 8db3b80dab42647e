/**
 * Evaluation on the held-out fold (METHOD-NOTES "The loop" step 5): RL variants run the policy
 * deterministically for T steps and segment the represented image; the others segment the image.
 * Predictions are the Segmentation-Net's probabilities thresholded at 0.5. Per-case metrics come
 * from @mrlseg/metrics; the case's fbRatio and interval are the ground truth's at the dataset's
 * original resolution (SampleMeta.fbRatio), so a case lands in the same interval whatever the
 * training size; distances (HD, HD95, ASSD) are in pixels of the training size. RL variants also
 * record what the policy masked (CaseAgentFractionsSchema), against the mask at the training size.
 */
import * as tf from '@tensorflow/tfjs';
import type { CaseAgentFractions, CaseMetricRecord, IntervalsSchema, RlConfig } from '@mrlseg/types';
import type { z } from 'zod';
import { computeSegmentationMetrics, intervalLabel, toCaseMetricRecord } from '@mrlseg/metrics';
import { runEpisodeDeterministic } from '@mrlseg/rl-core';
import { encodeGreyPng } from '@mrlseg/data';
import type { ResultsStore } from '../store/store';
import { makeBatch, type Slice } from './batches';
import type { ProgressListener } from './events';

export interface EvalNets {
  seg: tf.LayersModel;
  /** Reinforcement-Net of RL variants; null: segment the raw image. */
  rl: tf.LayersModel | null;
  rlConfig: RlConfig;
  /**
   * An RL variant whose validation-based selection kept the pre-trained Segmentation-Net: the agent
   * is off, so it masks nothing, and the cases record 0 masked (rather than "not recorded").
   */
  agentOff?: boolean;
}

export interface CasePrediction {
  slice: Slice;
  /** Binary prediction, row-major S x S. */
  prediction: Uint8Array;
  /** 1 where the final represented state masked the pixel (1 - retained(T) of the deterministic episode; RL variants), row-major S x S, else null. */
  actions: Uint8Array | null;
}

/** Predicts the slices in batches; `onBatch(done, total)` after each batch. */
export function predictSlices(nets: EvalNets, slices: readonly Slice[], batchSize: number, onBatch?: (done: number, total: number) => void): CasePrediction[] {
  const out: CasePrediction[] = [];
  for (let i = 0; i < slices.length; i += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, slices.length - i) }, (_, k) => i + k);
    const { images, labels } = makeBatch(slices, idx, null);
    labels.dispose();
    let probs: Float32Array;
    let retainedMap: Float32Array | null = null;
    try {
      if (nets.rl) {
        const ep = runEpisodeDeterministic(nets.rl, nets.seg, images, nets.rlConfig);
        try {
          probs = ep.probabilities.dataSync() as Float32Array;
          const retained = ep.retained[ep.retained.length - 1];
          retainedMap = retained.dataSync() as Float32Array;
        } finally {
          ep.dispose();
        }
      } else {
        const p = nets.seg.predict(images) as tf.Tensor;
        probs = p.dataSync() as Float32Array;
        p.dispose();
      }
    } finally {
      images.dispose();
    }
    const px = slices[i].size * slices[i].size;
    idx.forEach((k, b) => {
      const prediction = new Uint8Array(px);
      for (let j = 0; j < px; j++) prediction[j] = probs[b * px + j] > 0.5 ? 1 : 0;
      let actions: Uint8Array | null = nets.agentOff && !nets.rl ? new Uint8Array(px) : null;
      if (retainedMap) {
        actions = new Uint8Array(px);
        for (let j = 0; j < px; j++) actions[j] = retainedMap[b * px + j] > 0.5 ? 0 : 1;
      }
      out.push({ slice: slices[k], prediction, actions });
    });
    onBatch?.(Math.min(i + batchSize, slices.length), slices.length);
  }
  return out;
}

/**
 * What the policy masked in one case (CaseAgentFractionsSchema): maskedFraction = sum(a) / N and
 * lesionMaskedFraction = sum(a * g) / sum(g), with a the action mask (1 = masked after the T
 * deterministic steps), g the binary ground truth, both row-major over the same N pixels.
 * @param actions - CasePrediction.actions; null (no agent) gives null for both.
 * @param groundTruth - binary lesion mask, same length; no lesion pixel gives a null lesionMaskedFraction.
 */
export function agentFractions(actions: Uint8Array | null, groundTruth: Uint8Array): CaseAgentFractions {
  if (actions === null) return { maskedFraction: null, lesionMaskedFraction: null };
  if (actions.length !== groundTruth.length || actions.length === 0) {
    throw new RangeError(`agentFractions: actions (${actions.length} pixels) and groundTruth (${groundTruth.length} pixels) must be the same non-empty size`);
  }
  let masked = 0;
  let lesion = 0;
  let lesionMasked = 0;
  for (let i = 0; i < actions.length; i++) {
    const a = actions[i] !== 0 ? 1 : 0;
    const g = groundTruth[i] !== 0 ? 1 : 0;
    masked += a;
    lesion += g;
    lesionMasked += a & g;
  }
  return { maskedFraction: masked / actions.length, lesionMaskedFraction: lesion === 0 ? null : lesionMasked / lesion };
}

/** Means of the agent's fractions over a set of cases (reports, `mrlseg eval`). */
export interface AgentFractionsSummary {
  /** Mean maskedFraction over the cases that recorded one; null when none did. */
  maskedFraction: number | null;
  /** Mean lesionMaskedFraction over the cases that recorded one (those with a lesion); null when none did. */
  lesionMaskedFraction: number | null;
  /** Cases summarised. */
  cases: number;
  /** Of those, cases with a recorded maskedFraction (the others were stored before schema 2). */
  recorded: number;
  /** Of those, cases with a recorded lesionMaskedFraction (recorded and with a lesion). */
  withLesion: number;
}

/** Summarises the agent's fractions of `cases` (null values left out of each mean; see AgentFractionsSummary). */
export function summarizeAgentFractions(cases: readonly CaseAgentFractions[]): AgentFractionsSummary {
  const masked = cases.map((c) => c.maskedFraction).filter((v): v is number => v !== null);
  const lesion = cases.map((c) => c.lesionMaskedFraction).filter((v): v is number => v !== null);
  const mean = (v: number[]) => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : null);
  return { maskedFraction: mean(masked), lesionMaskedFraction: mean(lesion), cases: cases.length, recorded: masked.length, withLesion: lesion.length };
}

/** The stored metric record of one predicted case (with the agent's fractions for RL variants). */
export function caseRecord(runId: string, p: CasePrediction, intervals: z.infer<typeof IntervalsSchema>): CaseMetricRecord {
  const s = p.slice;
  const m = computeSegmentationMetrics(p.prediction, s.mask, { width: s.size, height: s.size, intervals });
  const fb = s.meta.fbRatio;
  return toCaseMetricRecord(
    { ...m, fbRatio: fb, foregroundFraction: fb / (1 + fb), interval: intervalLabel(fb, intervals) },
    { runId, caseId: s.id, patient: s.patient },
    agentFractions(p.actions, s.mask),
  );
}

/** Mean Dice of predictions (cases with an undefined Dice left out), for training curves. */
export function meanDice(preds: readonly CasePrediction[], intervals: z.infer<typeof IntervalsSchema>): number | null {
  const d = preds.map((p) => caseRecord('curve', p, intervals).dice).filter((v): v is number => v !== null);
  return d.length ? d.reduce((a, b) => a + b, 0) / d.length : null;
}

/** PNGs of a case: image (grey), prediction, ground truth and (RL) action mask (white = masked). */
export async function casePngs(p: CasePrediction): Promise<{ image: Buffer; prediction: Buffer; groundTruth: Buffer; actions: Buffer | null }> {
  const s = p.slice;
  const grey = new Uint8Array(s.image.length);
  for (let i = 0; i < grey.length; i++) grey[i] = Math.max(0, Math.min(255, Math.round(s.image[i] * 255)));
  return {
    image: await encodeGreyPng(grey, s.size, s.size),
    prediction: await encodeGreyPng(p.prediction, s.size, s.size, { binary: true }),
    groundTruth: await encodeGreyPng(s.mask, s.size, s.size, { binary: true }),
    actions: p.actions ? await encodeGreyPng(p.actions, s.size, s.size, { binary: true }) : null,
  };
}

export interface EvaluateAndStoreInput {
  store: ResultsStore;
  runId: string;
  nets: EvalNets;
  test: readonly Slice[];
  intervals: z.infer<typeof IntervalsSchema>;
  batchSize: number;
  emit?: ProgressListener;
  writePngs: boolean;
  /** Called between prediction and writing (throws to stop). */
  check?: () => void | Promise<void>;
}

export interface EvaluationSummary {
  meanDice: number | null;
  cases: number;
  /** What the policy masked, over the evaluated cases; null without an agent. */
  agent: AgentFractionsSummary | null;
}

/** Predicts the held-out slices, writes their PNGs and replaces the run's cases (with the agent's fractions) in the store. */
export async function evaluateAndStore(i: EvaluateAndStoreInput): Promise<EvaluationSummary> {
  const emit = i.emit ?? (() => {});
  const steps = Math.ceil(i.test.length / i.batchSize);
  emit({ type: 'phase-start', runId: i.runId, phase: 'eval', epochs: 1, startEpoch: 0, stepsPerEpoch: steps });
  const preds = predictSlices(i.nets, i.test, i.batchSize, (done) =>
    emit({ type: 'step', runId: i.runId, phase: 'eval', epoch: 0, step: Math.ceil(done / i.batchSize), steps, loss: null, reward: null }),
  );
  await i.check?.();
  const records = preds.map((p) => caseRecord(i.runId, p, i.intervals));
  if (i.writePngs) {
    for (const p of preds) {
      const png = await casePngs(p);
      i.store.writeCaseArtifact(i.runId, p.slice.id, 'image', png.image);
      i.store.writeCaseArtifact(i.runId, p.slice.id, 'prediction', png.prediction);
      i.store.writeCaseArtifact(i.runId, p.slice.id, 'groundTruth', png.groundTruth);
      if (png.actions) i.store.writeCaseArtifact(i.runId, p.slice.id, 'actions', png.actions);
    }
  }
  await i.store.replaceCases(i.runId, records);
  const d = records.map((r) => r.dice).filter((v): v is number => v !== null);
  return { meanDice: d.length ? d.reduce((a, b) => a + b, 0) / d.length : null, cases: records.length, agent: i.nets.rl ? summarizeAgentFractions(records) : null };
}
