/**
 * The agent diagnosis of issue 15 (`mrlseg diagnose rl`, bench/known-answer.ts): pre-train a
 * Segmentation-Net (or load one), FREEZE it, train each agent formulation (rl.credit) for the same
 * number of updates and score its greedy policy on held-out patients: masked fraction of lesion,
 * distractor and other background pixels, Dice on the masked vs the raw images (paired t-test over
 * cases, pooled over seeds). With the Segmentation-Net frozen only the masking can change Dice, so
 * "the agent learned" is a number. Distractors are the dataset's own where it knows them (the
 * synthetic generator's `distractors`), else the connected false positives of the Segmentation-Net
 * on the raw image. Every `reportEvery` updates a curve point: instruments on 32 training slices
 * (masked fractions, policy entropy, advantage mean and spread, half-batch gradient cosine).
 * Held out: the last quarter of the patients in sorted order; the agent never sees them.
 * For the unit formulations, also what the credit labels "mask" on the same training slices and on
 * the held-out ones, as pixel fractions beside the masked ones (`labelled`): the gap between the
 * two on held-out patients is what the policy did not learn to generalise (docs/results.md 4.12).
 */
import * as tf from '@tensorflow/tfjs';
import type { ExperimentConfig, RlConfig, VariantId } from '@mrlseg/types';
import { initFromSegmentationNet, segmentationLoss } from '@mrlseg/models';
import { computeCommitteeCredit, createAgentTrainer, isUnitCredit, labelOptionsOf, retainedOfUnits, runEpisodeDeterministic, trainableVariables, unitLabels, unitMapsOf } from '@mrlseg/rl-core';
import { pairedTTest } from '@mrlseg/metrics';
import { mixSeed } from '@mrlseg/data';
import { applyVariant } from '../config/variants';
import { batchesOf, epochOrder, makeBatch, makeImageBatch, PHASE_SEED, type Slice } from './batches';
import { buildRlModel, buildSegModel, pretrainBatch } from './train-run';
import { loadTrainNets } from './checkpoint';
import { learningRateAt } from './schedule';
import { checkCreditQuorum, copySegNet, earlierSnapshotEpochs } from './credit-snapshots';
import { countMasked, emptyMaskedCounts, falsePositiveComponents, gradientCosine, maskedFractions } from './agent-instruments';

export interface DiagnoseRlOptions {
  /** Dataset, model, RL and training settings (training.epochs = pre-training epochs). */
  config: ExperimentConfig;
  slices: readonly Slice[];
  seeds: number[];
  credits: RlConfig['credit'][];
  /** Agent updates per formulation and seed. */
  updates: number;
  /** Which RL variant's reward components (FB, ADP) the agent is trained with. */
  variant?: Extract<VariantId, 'rl-seg' | 'rl-fb-seg' | 'rl-fb-adp-seg'>;
  /** Learning rate of the unit formulations (default: training.rlLr); the A2C rows keep training.rlLr. */
  unitLr?: number;
  /** A pre-trained checkpoint folder to start from instead of pre-training (one per run of the tool). */
  checkpoint?: string;
  reportEvery?: number;
  /**
   * Augment the agent's training batches with config.preprocessing.augmentation, as the trainer's RL
   * phase does (default false: the rows of docs/results.md sections 4.1-4.7 were measured without).
   * Without it the agent sees the same training slices every epoch and can memorise where their
   * distractors are instead of learning what one looks like (section 4.8).
   */
  augment?: boolean;
  /**
   * Unit formulations: after training, also score the same greedy policy on the held-out slices at
   * each of these rl.greedyThreshold values (a unit is masked when its mean mask logit is above the
   * threshold), giving `sweep` in the row: the trade-off between what the policy masks and the
   * frozen network's Dice, without training again. The row's own result keeps rl.greedyThreshold.
   */
  greedyThresholds?: number[];
  /** One JSON-serialisable record per event (pre-training done, curve point, held-out result). */
  log?: (record: Record<string, unknown>) => void;
}

export interface DiagnoseRlRow {
  credit: RlConfig['credit'];
  seed: number;
  masked: { lesion: number; distractor: number; other: number; all: number };
  diceRaw: number;
  diceMasked: number;
  pValue: number;
  perCaseRaw: number[];
  perCaseMasked: number[];
  distractorFpRaw: number;
  distractorFpMasked: number;
  /**
   * Unit formulations: the pixel fractions of lesion, distractor and other background in units that
   * the credit labels "mask" (credit above rl.creditMargin, every other unit kept, i.e. the 'raw'
   * context), on the training probe (the curve's 32 slices) and on the held-out slices: what the
   * labels ask for, to read beside `masked`. Absent for 'pixel' and 'patch'.
   */
  labelled?: { training: { lesion: number; distractor: number; other: number; all: number }; heldOut: { lesion: number; distractor: number; other: number; all: number } };
  /** The held-out result at each of DiagnoseRlOptions.greedyThresholds (unit formulations; absent otherwise). */
  sweep?: { threshold: number; masked: { lesion: number; distractor: number; other: number; all: number }; diceMasked: number; pValue: number; perCaseMasked: number[] }[];
  seconds: number;
  curve: Record<string, unknown>[];
}

const mean = (v: number[]) => v.reduce((p, q) => p + q, 0) / Math.max(1, v.length);

function diceOf(p: ArrayLike<number>, y: Uint8Array): number {
  let i2 = 0;
  let sp = 0;
  let sy = 0;
  for (let i = 0; i < y.length; i++) {
    const b = p[i] > 0.5 ? 1 : 0;
    i2 += b * y[i];
    sp += b;
    sy += y[i];
  }
  return sp + sy === 0 ? 1 : (2 * i2) / (sp + sy);
}

/** Held-out split of the diagnosis: the last quarter of the patients in sorted order (at least one). */
export function diagnosisSplit(slices: readonly Slice[]): { train: Slice[]; test: Slice[] } {
  const patients = [...new Set(slices.map((s) => s.patient))].sort();
  if (patients.length < 2) throw new Error(`diagnose rl: the dataset needs at least 2 patients (got ${patients.length})`);
  const held = new Set(patients.slice(-Math.max(1, Math.round(patients.length / 4))));
  return { train: slices.filter((s) => !held.has(s.patient)), test: slices.filter((s) => held.has(s.patient)) };
}

/**
 * The diagnosis's Segmentation-Net: the config's OnlySeg network pre-trained for training.epochs on
 * `train`. `onEpoch(e, seg)` runs after each epoch e (0-based), e.g. to take a snapshot.
 */
export function pretrainForDiagnosis(config: ExperimentConfig, train: readonly Slice[], onEpoch?: (epoch: number, seg: tf.LayersModel) => void): tf.LayersModel {
  const seg = buildSegModel({ ...config, variant: 'onlyseg' });
  const opt = config.training.optimizer === 'sgd' ? tf.train.sgd(config.training.lr) : tf.train.adam(config.training.lr);
  const lossFn = segmentationLoss(config.training.loss);
  const vars = trainableVariables(seg);
  const E = config.training.epochs;
  for (let e = 0; e < E; e++) {
    (opt as unknown as { learningRate: number }).learningRate = learningRateAt(config.training.lrSchedule, config.training.lr, e, E);
    for (const [step, idx] of batchesOf(epochOrder(train.length, config.seed, PHASE_SEED.pretrain, e), config.training.batchSize).entries()) {
      const { images, labels } = pretrainBatch(config, train, idx, e, step);
      const l = opt.minimize(() => lossFn(labels, seg.apply(images, { training: true }) as tf.Tensor), true, vars)!;
      tf.dispose([images, labels, l]);
    }
    onEpoch?.(e, seg);
  }
  opt.dispose();
  return seg;
}

/** Distractor pixels of each slice: known ones, else the frozen Segmentation-Net's connected false positives. */
function distractorsOf(seg: tf.LayersModel, set: readonly Slice[]): Uint8Array[] {
  return set.map((s) => {
    if (s.distractor) return s.distractor;
    const p = tf.tidy(() => (seg.apply(makeImageBatch([s], [0]), { training: false }) as tf.Tensor).dataSync());
    return falsePositiveComponents(p, s.mask, s.size, s.size);
  });
}

function evaluate(seg: tf.LayersModel, rlNet: tf.LayersModel | null, rl: RlConfig, set: readonly Slice[], distractors: Uint8Array[]) {
  const counts = emptyMaskedCounts();
  const raw: number[] = [];
  const masked: number[] = [];
  let fpRaw = 0;
  let fpMasked = 0;
  for (const idx of batchesOf(set.map((_, i) => i), 16)) {
    const images = makeImageBatch(set, idx);
    const n = images.shape[1] * images.shape[2];
    const pr = tf.tidy(() => (seg.apply(images, { training: false }) as tf.Tensor).dataSync());
    let pm: ArrayLike<number> = pr;
    let kept: Float32Array | null = null;
    if (rlNet) {
      const ep = runEpisodeDeterministic(rlNet, seg, images, rl);
      pm = ep.probabilities.dataSync().slice();
      kept = ep.retained[ep.retained.length - 1].dataSync().slice() as Float32Array;
      ep.dispose();
    }
    idx.forEach((k, b) => {
      const s = set[k];
      const pRaw = Array.prototype.slice.call(pr, b * n, (b + 1) * n) as number[];
      const pMasked = Array.prototype.slice.call(pm, b * n, (b + 1) * n) as number[];
      raw.push(diceOf(pRaw, s.mask));
      masked.push(diceOf(pMasked, s.mask));
      const d = distractors[k];
      for (let i = 0; i < n; i++) {
        if (d[i]) {
          fpRaw += pRaw[i] > 0.5 ? 1 : 0;
          fpMasked += pMasked[i] > 0.5 ? 1 : 0;
        }
      }
      if (kept) countMasked(counts, kept.subarray(b * n, (b + 1) * n), s.mask, d);
    });
    images.dispose();
  }
  return { counts, raw, masked, fpRaw: fpRaw / set.length, fpMasked: fpMasked / set.length };
}

/**
 * What the unit credit labels "mask" on `set` (every unit kept, rl's margin and options), counted
 * as pixels of lesion / distractor / other background: the targets the agent is trained towards.
 */
function labelledFractions(seg: tf.LayersModel, creditNets: readonly tf.LayersModel[], rl: RlConfig, set: readonly Slice[], distractors: Uint8Array[]) {
  const counts = emptyMaskedCounts();
  for (const idx of batchesOf(set.map((_, i) => i), 8)) {
    const { images, labels } = makeBatch(set, idx, null);
    try {
      const [, h, w] = images.shape;
      const units = unitMapsOf(seg, images, rl);
      const none = units.map((u) => new Array<boolean>(u.count).fill(false));
      const { mask } = unitLabels(computeCommitteeCredit(creditNets, images, labels, units, none, rl), labelOptionsOf(rl));
      const retained = retainedOfUnits(units, mask, h, w);
      const kept = retained.dataSync();
      retained.dispose();
      idx.forEach((k, b) => countMasked(counts, kept.subarray(b * h * w, (b + 1) * h * w), set[k].mask, distractors[k]));
    } finally {
      tf.dispose([images, labels]);
    }
  }
  return maskedFractions(counts);
}

/** Runs the diagnosis (see the file comment); returns one row per (formulation, seed). */
export async function diagnoseRl(o: DiagnoseRlOptions): Promise<DiagnoseRlRow[]> {
  const log = o.log ?? (() => {});
  if (!Number.isInteger(o.updates) || o.updates < 1) throw new RangeError(`diagnoseRl: updates must be a positive integer, got ${o.updates}`);
  if (o.greedyThresholds && !o.greedyThresholds.every(Number.isFinite)) throw new RangeError(`diagnoseRl: greedyThresholds must be finite numbers, got [${o.greedyThresholds.join(', ')}]`);
  checkCreditQuorum(o.config.rl, o.config.training.epochs, 'diagnoseRl');
  const every = o.reportEvery ?? 20;
  const { train, test } = diagnosisSplit(o.slices);
  const variant = o.variant ?? 'rl-fb-adp-seg';
  const rows: DiagnoseRlRow[] = [];
  for (const seed of o.seeds) {
    const t0 = performance.now();
    const base = { ...o.config, seed };
    // rl.creditNet 'snapshots': the committee is taken along this pre-training (the last member is `seg` itself).
    const committee: tf.LayersModel[] = [];
    const snapshots = base.rl.creditNet === 'snapshots';
    if (snapshots && o.checkpoint) throw new Error("diagnose rl: rl.creditNet 'snapshots' needs the pre-training's trajectory; drop --checkpoint");
    const snapAt = snapshots ? earlierSnapshotEpochs(base.training.epochs, base.rl.creditSnapshots) : [];
    const seg = o.checkpoint
      ? (await loadTrainNets(o.checkpoint)).seg
      : pretrainForDiagnosis(base, train, (e, net) => {
          if (snapAt.includes(e)) committee.push(copySegNet(net, () => buildSegModel({ ...base, variant: 'onlyseg' })));
        });
    if (snapshots) committee.push(seg);
    const dTrain = distractorsOf(seg, train.slice(0, 32));
    const dTest = distractorsOf(seg, test);
    const ev0 = evaluate(seg, null, base.rl, test, dTest);
    log({ seed, pretrainSeconds: +((performance.now() - t0) / 1000).toFixed(1), heldOutSlices: test.length, diceRaw: +mean(ev0.raw).toFixed(4), distractorFalsePositivePixelsPerCase: +ev0.fpRaw.toFixed(2) });
    for (const credit of o.credits) {
      const t1 = performance.now();
      const config = applyVariant({ ...base, variant, rl: { ...base.rl, credit, finetuneSeg: false } }, variant);
      const unit = credit === 'counterfactual' || credit === 'candidates';
      const rlNet = buildRlModel(config);
      initFromSegmentationNet(rlNet, seg);
      const opt = tf.train.adam(unit && o.unitLr ? o.unitLr : config.training.rlLr);
      const trainer = createAgentTrainer({ policyNet: rlNet, segNet: seg, ...(committee.length ? { creditSegNet: committee } : {}), rl: config.rl, optimizer: opt, seed: mixSeed(seed, PHASE_SEED.rl, 0) });
      const curve: Record<string, unknown>[] = [];
      const B = config.training.rlBatchSize;
      const creditNets = committee.length ? committee : [seg];
      const labelled = isUnitCredit(config.rl)
        ? { training: labelledFractions(seg, creditNets, config.rl, train.slice(0, 32), dTrain), heldOut: labelledFractions(seg, creditNets, config.rl, test, dTest) }
        : undefined;
      if (labelled) {
        const r4 = (f: { lesion: number; distractor: number; other: number }) => ({ lesion: +f.lesion.toFixed(4), distractor: Number.isNaN(f.distractor) ? null : +f.distractor.toFixed(4), other: +f.other.toFixed(4) });
        log({ credit, seed, labelledMask: { training: r4(labelled.training), heldOut: r4(labelled.heldOut) } });
      }
      try {
        for (let u = 0, e = 0; u < o.updates; e++) {
          for (const idx of batchesOf(epochOrder(train.length, seed, PHASE_SEED.rl, e), B)) {
            if (u >= o.updates) break;
            if (idx.length < 2) continue;
            const aug = o.augment ? { config: config.preprocessing.augmentation, seed, phase: PHASE_SEED.rl, epoch: e } : null;
            const { images, labels } = makeBatch(train, idx, aug);
            let cosine: number | null = null;
            if (u % every === 0) {
              const h = Math.floor(idx.length / 2);
              const parts = [images.slice(0, h), images.slice(h), labels.slice(0, h), labels.slice(h)] as tf.Tensor4D[];
              const g1 = trainer.policyGradient(parts[0], parts[2]);
              const g2 = trainer.policyGradient(parts[1], parts[3]);
              cosine = gradientCosine(g1, g2);
              tf.dispose([...parts, ...g1.filter(Boolean), ...g2.filter(Boolean)]);
            }
            const r = trainer.trainStep(images, labels);
            tf.dispose([images, labels]);
            u++;
            if (cosine !== null || u % every === 0 || u === o.updates) {
              const f = maskedFractions(evaluate(seg, rlNet, config.rl, train.slice(0, 32), dTrain).counts);
              const point = {
                credit,
                seed,
                update: u,
                loss: +r.loss.toFixed(4),
                entropy: +r.entropy.toFixed(4),
                advantageMean: r.advantageMean === undefined ? null : +r.advantageMean.toFixed(4),
                advantageStd: r.advantageStd === undefined ? null : +r.advantageStd.toFixed(4),
                maskLabelShare: r.maskLabelShare === undefined ? null : +r.maskLabelShare.toFixed(4),
                gradientCosine: cosine === null ? null : +cosine.toFixed(3),
                maskedLesion: +f.lesion.toFixed(4),
                maskedDistractor: Number.isNaN(f.distractor) ? null : +f.distractor.toFixed(4),
                maskedOther: +f.other.toFixed(4),
                seconds: +((performance.now() - t1) / 1000).toFixed(1),
              };
              curve.push(point);
              log(point);
            }
          }
        }
        const ev = evaluate(seg, rlNet, config.rl, test, dTest);
        const f = maskedFractions(ev.counts);
        const t = pairedTTest(ev.masked, ev.raw);
        // The same policy at other greedy thresholds (unit formulations only: A2C rows take no threshold).
        const sweep = isUnitCredit(config.rl)
          ? (o.greedyThresholds ?? []).map((threshold) => {
              const e = evaluate(seg, rlNet, { ...config.rl, greedyThreshold: threshold }, test, dTest);
              const point = { threshold, masked: maskedFractions(e.counts), diceMasked: mean(e.masked), pValue: pairedTTest(e.masked, e.raw).pValue, perCaseMasked: e.masked };
              log({ credit, seed, heldOut: true, greedyThreshold: threshold, maskedLesion: +point.masked.lesion.toFixed(4), maskedDistractor: +point.masked.distractor.toFixed(4), maskedOther: +point.masked.other.toFixed(4), diceMasked: +point.diceMasked.toFixed(4), p: +point.pValue.toPrecision(3) });
              return point;
            })
          : [];
        const row: DiagnoseRlRow = {
          credit,
          seed,
          masked: f,
          diceRaw: mean(ev.raw),
          diceMasked: mean(ev.masked),
          pValue: t.pValue,
          perCaseRaw: ev.raw,
          perCaseMasked: ev.masked,
          distractorFpRaw: ev.fpRaw,
          distractorFpMasked: ev.fpMasked,
          ...(labelled ? { labelled } : {}),
          ...(sweep.length ? { sweep } : {}),
          seconds: (performance.now() - t1) / 1000,
          curve,
        };
        rows.push(row);
        log({ credit, seed, heldOut: true, maskedLesion: +f.lesion.toFixed(4), maskedDistractor: +f.distractor.toFixed(4), maskedOther: +f.other.toFixed(4), diceRaw: +row.diceRaw.toFixed(4), diceMasked: +row.diceMasked.toFixed(4), p: +t.pValue.toPrecision(3), distractorFpRaw: +ev.fpRaw.toFixed(2), distractorFpMasked: +ev.fpMasked.toFixed(2), seconds: +row.seconds.toFixed(1) });
      } finally {
        trainer.dispose();
        opt.dispose();
        rlNet.dispose();
      }
    }
    for (const net of committee) if (net !== seg) net.dispose();
    seg.dispose();
  }
  return rows;
}

/** The markdown summary table of a diagnosis: one row per formulation, means over seeds, paired test over cases pooled over seeds. */
export function diagnosisTable(rows: readonly DiagnoseRlRow[]): string {
  const out = [
    '| credit | seeds | lesion masked | distractor masked | other background masked | Dice raw | Dice masked | paired t-test, cases pooled over seeds | held out, labelled "mask": lesion / distractor / other |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  const pct = (v: number) => (Number.isFinite(v) ? `${(100 * v).toFixed(2)} %` : 'n/a');
  for (const credit of [...new Set(rows.map((r) => r.credit))]) {
    const rs = rows.filter((r) => r.credit === credit);
    const m = (f: (r: DiagnoseRlRow) => number) => mean(rs.map(f));
    const raw = rs.flatMap((r) => r.perCaseRaw);
    // One table line: masked fractions and Dice of one result per seed, the paired test against the raw cases.
    const line = (label: string, at: { masked: DiagnoseRlRow['masked']; diceMasked: number; perCaseMasked: number[] }[], held: string) => {
      const mj = (f: (p: (typeof at)[number]) => number) => mean(at.map(f));
      const t = pairedTTest(at.flatMap((p) => p.perCaseMasked), raw);
      return `| ${label} | ${rs.length} | ${pct(mj((p) => p.masked.lesion))} | ${pct(mj((p) => p.masked.distractor))} | ${pct(mj((p) => p.masked.other))} | ${pct(m((r) => r.diceRaw))} | ${pct(mj((p) => p.diceMasked))} | p = ${t.pValue.toPrecision(3)}, difference ${(100 * t.meanDifference).toFixed(2)} points, n = ${t.n} |${held === '' ? ' ' : ` ${held} `}|`;
    };
    const held = rs.every((r) => r.labelled)
      ? (['lesion', 'distractor', 'other'] as const).map((k) => pct(m((r) => r.labelled!.heldOut[k]))).join(' / ')
      : 'n/a';
    out.push(line(credit, rs, held));
    // The same policies at the other greedy thresholds (DiagnoseRlOptions.greedyThresholds), when every seed has them.
    const sweeps = rs.map((r) => r.sweep ?? []);
    for (let j = 0; j < Math.min(...sweeps.map((w) => w.length)); j++) {
      const at = sweeps.map((w) => w[j]);
      if (at.every((p) => p.threshold === at[0].threshold)) out.push(line(`${credit}, greedy threshold ${at[0].threshold}`, at, ''));
    }
  }
  return out.join('\n');
}
