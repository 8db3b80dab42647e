/**
 * One run of the protocol (METHOD-NOTES "The loop"): pre-train the segmentation network ->
 * initialise the Reinforcement-Net from it -> RL training with optional Segmentation-Net
 * fine-tuning -> deterministic evaluation on the held-out fold. Every finished epoch writes a
 * checkpoint and its curve entry in one store transaction, so a run can be resumed at the next
 * epoch with nothing lost; seeds are derived from (run seed, phase, epoch), so a resumed run
 * computes what an uninterrupted one would.
 *
 * Issue 15: training uses the run's training slices less a validation split of whole patients
 * (training.validationFraction; validation-split.ts); curves and model selection use that split,
 * never the held-out fold. After the RL phase (or, for variants without RL, the budget-fair
 * fine-tuning phase on raw images: training.budgetFair), the run keeps whichever of its pre-trained
 * Segmentation-Net (agent off) and its per-epoch states scored the best validation Dice
 * (training.select = 'validation'), says which, and records it (RunRecord.selection). Every RL
 * epoch also records the agent's instruments (agent-instruments.ts) in its curve entry.
 */
import { cpSync, existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { SEG_NET_PRESETS, type ExperimentConfig, type SegNetSizes } from '@mrlseg/types';
import { buildReinforcementNet, buildResUnet, buildSegmentationNet, buildUnet, initFromSegmentationNet, segmentationLoss } from '@mrlseg/models';
import { createAgentTrainer, isUnitCredit, trainableVariables, type TrainStepResult } from '@mrlseg/rl-core';
import { mixSeed } from '@mrlseg/data';
import type { ResultsStore } from '../store/store';
import { agentOffBySelection, variantSpec } from '../config/variants';
import { inferenceMetadataPropsOf } from '../config/inference-metadata';
import { batchesOf, epochOrder, makeBatch, PHASE_SEED, type Slice } from './batches';
import { maskOutBatch } from './mask-out';
import { loadTrainExtras, loadTrainNets, saveTrainState } from './checkpoint';
import { evaluateAndStore, meanDice, predictSlices, type CasePrediction } from './evaluate';
import type { ProgressListener, TrainPhase } from './events';
import { learningRateAt } from './schedule';
import { splitValidation } from './validation-split';
import { countMasked, emptyMaskedCounts, falsePositiveComponents, gradientCosine, maskedFractions } from './agent-instruments';
import { checkCreditQuorum, earlierSnapshotEpochs } from './credit-snapshots';
import { lesionRuleAllows, offerToSelection } from './selection';
import { readFileSync, writeFileSync } from 'node:fs';
import type { RunSelection } from '@mrlseg/types';

/** Thrown when the abort signal stops a run between two steps (Ctrl-C). */
export class RunInterrupted extends Error {
  constructor(readonly runId: string, readonly where: string) {
    super(`run ${runId} interrupted during ${where}; the last finished epoch is checkpointed, continue with --resume`);
    this.name = 'RunInterrupted';
  }
}

export interface RunPhases {
  pretrain: boolean;
  rl: boolean;
  eval: boolean;
}

export interface TrainRunInput {
  store: ResultsStore;
  runId: string;
  /** The run's config (after applyVariant, seed = the run's seed). */
  config: ExperimentConfig;
  train: readonly Slice[];
  /** Held-out slices; empty when training on everything. */
  test: readonly Slice[];
  /** Continue from the run's last checkpoint. */
  resume: boolean;
  phases: RunPhases;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
  /** Write the per-case PNGs (default true). */
  writePngs?: boolean;
  /**
   * Pre-training shared between runs whose pre-training is identical (same data, network, loss,
   * schedule, seed and fold: the paper pre-trains one Segmentation-Net for all RL variants):
   * `dir` holds the final pre-training checkpoint once a run has finished it; a fresh run starts
   * from there (copying the source run's pre-training curve) instead of repeating it.
   */
  sharedPretrain?: { dir: string; sourceRunId: () => string | null; publish: (runId: string) => void };
}

export interface TrainRunResult {
  /** Phases still to do (when `phases` stopped early); empty when the run is complete. */
  pending: TrainPhase[];
  meanDice: number | null;
  cases: number;
  timings: Record<string, number>;
}

/** Segmentation-Net sizes of the config's preset ('custom' = model.segNet). */
export function segNetSizes(config: ExperimentConfig): SegNetSizes {
  return config.model.preset === 'custom' ? config.model.segNet : SEG_NET_PRESETS[config.model.preset];
}

/**
 * Initialiser seed of the run's networks. TensorFlow.js initialisers treat a seed of 0 as "no
 * seed" (Math.random), and @mrlseg/models numbers its layers' seeds from seed * 1000, so the first
 * layer of a model built with seed 0 is not reproducible; runs map their seed s >= 0 to s + 1.
 */
export const modelSeed = (seed: number): number => (seed >= 0 ? seed + 1 : seed);

/**
 * One pre-training batch: augmented as configured, then with training.maskOut's masked units
 * ({@link maskOutBatch}) when it is on. Shared by the trainer and the agent diagnosis.
 */
export function pretrainBatch(config: ExperimentConfig, slices: readonly Slice[], idx: number[], epoch: number, step: number): { images: tf.Tensor4D; labels: tf.Tensor4D } {
  const b = makeBatch(slices, idx, { config: config.preprocessing.augmentation, seed: config.seed, phase: PHASE_SEED.pretrain, epoch });
  if (!(config.training.maskOut > 0)) return b;
  const m = maskOutBatch(b.images, b.labels, config.rl, config.training.maskOut, mixSeed(config.seed, PHASE_SEED.pretrain, epoch, step, 0x3a5c));
  b.images.dispose();
  return { images: m.images, labels: b.labels };
}

/** Builds the run's segmentation network (Segmentation-Net, U-Net or ResU-Net) with the run's seed. */
export function buildSegModel(config: ExperimentConfig): tf.LayersModel {
  const spec = variantSpec(config.variant);
  const inputSize = config.preprocessing.size;
  const seed = modelSeed(config.seed);
  if (spec.net === 'unet') return buildUnet({ inputSize, baseWidth: config.model.baseWidth, seed });
  if (spec.net === 'resunet') return buildResUnet({ inputSize, baseWidth: config.model.baseWidth, seed });
  return buildSegmentationNet(segNetSizes(config), { inputSize, seed });
}

/** Builds the Reinforcement-Net with the run's model seed + 1 (so it differs from the Segmentation-Net's). */
export function buildRlModel(config: ExperimentConfig): tf.LayersModel {
  if (config.rl.maskHistory) {
    throw new Error('rl.maskHistory = true needs a two-channel Reinforcement-Net, which @mrlseg/models does not build; set rl.maskHistory to false');
  }
  const probabilityInput = config.rl.policyInput === 'image+probability';
  if (probabilityInput && !isUnitCredit(config.rl)) {
    throw new Error(`rl.policyInput 'image+probability' works with rl.credit 'counterfactual' or 'candidates', not '${config.rl.credit}'`);
  }
  return buildReinforcementNet(segNetSizes(config), { inputSize: config.preprocessing.size, seed: modelSeed(config.seed) + 1, retainBias: config.rl.retainBias, probabilityInput });
}

function setLearningRate(opt: tf.Optimizer, lr: number): void {
  // tf.AdamOptimizer reads this field at every applyGradients call.
  (opt as unknown as { learningRate: number }).learningRate = lr;
}

function makeOptimizer(config: ExperimentConfig, lr: number): tf.Optimizer {
  return config.training.optimizer === 'sgd' ? tf.train.sgd(lr) : tf.train.adam(lr);
}

const checkpointName = (phase: 'pretrain' | 'rl' | 'finetune', epoch: number) => `${phase}-${String(epoch).padStart(4, '0')}`;

/** Mean of the finite values (null when none). */
const meanOf = (v: (number | undefined)[]): number | null => {
  const f = v.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  return f.length ? f.reduce((a, b) => a + b, 0) / f.length : null;
};

/** Cosine between the policy gradients of the two halves of a batch (the signal-to-noise instrument). */
function halfBatchCosine(trainer: ReturnType<typeof createAgentTrainer>, images: tf.Tensor4D, labels: tf.Tensor4D): number {
  const half = Math.floor(images.shape[0] / 2);
  const parts = [images.slice(0, half), images.slice(half), labels.slice(0, half), labels.slice(half)] as tf.Tensor4D[];
  let g1: (tf.Tensor | null)[] = [];
  let g2: (tf.Tensor | null)[] = [];
  try {
    g1 = trainer.policyGradient(parts[0], parts[2]);
    g2 = trainer.policyGradient(parts[1], parts[3]);
    return gradientCosine(g1, g2);
  } finally {
    tf.dispose([...parts, ...g1.filter((g): g is tf.Tensor => g != null), ...g2.filter((g): g is tf.Tensor => g != null)]);
  }
}

/** Masked pixels of lesion, distractor and other background over `preds` (predictSlices' actions are 1 where masked; no agent: nothing masked). */
function maskedCountsOf(preds: readonly CasePrediction[], distractors?: readonly Uint8Array[]) {
  const counts = emptyMaskedCounts();
  preds.forEach((p, k) => countMasked(counts, p.actions ? p.actions.map((a) => 1 - a) : new Uint8Array(p.prediction.length).fill(1), p.slice.mask, distractors?.[k]));
  return counts;
}

/** Trains (or continues) and evaluates one run, writing everything to the store. */
export async function trainRun(input: TrainRunInput): Promise<TrainRunResult> {
  const { store, runId, config, test, phases, signal } = input;
  const emit: ProgressListener = input.onProgress ?? (() => {});
  const spec = variantSpec(config.variant);
  const E = config.training.epochs;
  const R = spec.rl ? config.training.rlEpochs : 0;
  // Budget-fair fine-tuning of variants without RL (applyVariant keeps rlEpochs for them only when training.budgetFair).
  const F = spec.rl ? 0 : config.training.rlEpochs;
  const seed = config.seed;
  if (input.train.length === 0) throw new Error(`run ${runId}: no training slices`);
  const { fit: train, val } = splitValidation(input.train, config.training.validationFraction);
  if (train.length === 0) throw new Error(`run ${runId}: no training slices left after the validation split (training.validationFraction ${config.training.validationFraction})`);
  // Training steps are synchronous on cpu/wasm: yield to the event loop before each step so a
  // Ctrl-C (a macrotask) is seen between steps.
  const check = async (where: string) => {
    await new Promise<void>((res) => setImmediate(res));
    if (signal?.aborted) throw new RunInterrupted(runId, where);
  };

  // ---- state: fresh or from the last checkpoint
  let seg: tf.LayersModel;
  let rl: tf.LayersModel | null = null;
  let pretrainDone = 0; // epochs of pre-training finished
  let rlDone = 0;
  let ftDone = 0;
  const last = input.resume ? await store.lastCheckpoint(runId) : undefined;
  const segOpt = makeOptimizer(config, config.training.lr);
  const rlOpt = spec.rl ? makeOptimizer(config, config.training.rlLr) : null;
  const optimizers = (): Record<string, tf.Optimizer> => (rlOpt ? { seg: segOpt, rl: rlOpt } : { seg: segOpt });
  let rewardFilter: tf.Tensor4D | null = null;
  // rl.creditNet 'pretrained': the frozen copy of the pre-trained Segmentation-Net the agent's credit
  // is asked of while `seg` fine-tunes; kept in <run>/credit-net so --resume continues with it.
  let creditSeg: tf.LayersModel | null = null;
  // rl.creditNet 'snapshots': the committee's earlier members, saved during pre-training in
  // <run>/credit-snapshots (and beside a shared pre-training, so runs that share it get them too);
  // its last member is the frozen pre-trained network (credit-net). Any run of such a config saves
  // them, so an OnlySeg run that pre-trains first shares them with the RL runs.
  const snapEpochs = config.rl.creditNet === 'snapshots' && isUnitCredit(config.rl) && E > 0 ? earlierSnapshotEpochs(E, config.rl.creditSnapshots) : [];
  checkCreditQuorum(config.rl, E, 'trainRun');
  const snapRoot = join(store.runDir(runId), 'credit-snapshots'); // runDir(runId, sub) would create it
  const sharedSnapRoot = input.sharedPretrain ? `${input.sharedPretrain.dir}.credit-snapshots` : null;
  const hasSnapshots = (root: string) => snapEpochs.every((e) => existsSync(join(root, checkpointName('pretrain', e))));
  const committee: tf.LayersModel[] = [];
  if (last) {
    const loaded = await loadTrainNets(last.path);
    seg = loaded.seg;
    rl = loaded.rl;
    if (loaded.state.phase === 'pretrain') pretrainDone = loaded.state.epoch + 1;
    else if (loaded.state.phase === 'finetune') {
      pretrainDone = E;
      ftDone = loaded.state.epoch + 1;
    } else {
      pretrainDone = E;
      rlDone = loaded.state.epoch + 1;
    }
    rewardFilter = (await loadTrainExtras(last.path, optimizers())).rewardFilter;
  } else if (input.sharedPretrain && existsSync(input.sharedPretrain.dir) && E > 0 && (snapEpochs.length === 0 || (sharedSnapRoot !== null && hasSnapshots(sharedSnapRoot)))) {
    if (snapEpochs.length) {
      rmSync(snapRoot, { recursive: true, force: true });
      cpSync(sharedSnapRoot!, snapRoot, { recursive: true });
    }
    const loaded = await loadTrainNets(input.sharedPretrain.dir);
    seg = loaded.seg;
    loaded.rl?.dispose();
    pretrainDone = E;
    rewardFilter = (await loadTrainExtras(input.sharedPretrain.dir, optimizers())).rewardFilter;
    const source = input.sharedPretrain.sourceRunId();
    if (source) await store.copyEpochs(source, runId, 'pretrain');
    emit({ type: 'message', level: 'info', text: `run ${runId}: pre-training shared with run ${source ?? '(unknown)'} (identical pre-training config)` });
  } else {
    seg = buildSegModel(config);
  }
  const segVars = trainableVariables(seg);
  const lossFn = segmentationLoss(config.training.loss);
  const intervals = config.dataset.intervals;
  const batch = config.training.batchSize;
  const evalBatch = Math.max(1, Math.min(16, batch));

  /** Predictions on the validation split (null without one, or off-schedule); `always` ignores validateEvery (model selection). */
  const validationPredictions = (epoch: number, total: number, withRl: boolean, always = false): CasePrediction[] | null => {
    if (val.length === 0) return null;
    if (!always && (epoch + 1) % config.training.validateEvery !== 0 && epoch !== total - 1) return null;
    return predictSlices({ seg, rl: withRl ? rl : null, rlConfig: config.rl }, val, evalBatch);
  };
  /** Mean Dice on the validation split (null without one). */
  const validate = (epoch: number, total: number, withRl: boolean, always = false): number | null => {
    const preds = validationPredictions(epoch, total, withRl, always);
    return preds ? meanDice(preds, intervals) : null;
  };

  // ---- validation-based selection (training.select): the best state so far lives in <run>/best
  const bestDir = store.runDir(runId, 'best');
  const selectionFile = join(bestDir, 'selection.json');
  const selecting = config.training.select === 'validation' && val.length > 0;
  let selection: RunSelection | null = existsSync(selectionFile) ? (JSON.parse(readFileSync(selectionFile, 'utf8')) as RunSelection) : null;
  // training.selectMaxLesionMasked: an agent state whose greedy policy masks a larger share of the
  // validation lesion pixels is recorded but kept only while no allowed state was offered (selection.ts).
  const maxLesion = config.training.selectMaxLesionMasked;
  const offerState = async (tag: string, valDice: number | null, withRl: boolean, lesionMasked: number | null = null) => {
    if (!selecting || valDice === null) return;
    const { next, improved } = offerToSelection(selection, { tag, valDice, lesionMasked }, { maxLesionMasked: maxLesion, validationCases: val.length });
    if (improved) {
      const tmp = `${bestDir}.tmp`;
      rmSync(tmp, { recursive: true, force: true });
      await saveTrainState(tmp, { runId, phase: 'pretrain', epoch: Math.max(0, E - 1), epochs: Math.max(1, E) }, { seg, rl: withRl ? rl : null, optimizers: {}, rewardFilter: null }, inferenceMetadataPropsOf(config, runId));
      writeFileSync(join(tmp, 'selection.json'), JSON.stringify(next));
      rmSync(bestDir, { recursive: true, force: true });
      renameSync(tmp, bestDir);
    } else writeFileSync(selectionFile, JSON.stringify(next));
    selection = next;
  };

  const saveEpoch = async (phase: 'pretrain' | 'rl' | 'finetune', epoch: number, epochs: number, rec: { loss: number | null; reward: number | null; valDice: number | null; lr: number; durationMs: number; stats?: Record<string, number | null> | null }) => {
    const dir = join(store.runDir(runId, 'checkpoints'), checkpointName(phase, epoch));
    await saveTrainState(dir, { runId, phase, epoch, epochs }, { seg, rl: phase === 'rl' ? rl : null, optimizers: optimizers(), rewardFilter }, inferenceMetadataPropsOf(config, runId));
    await store.recordEpochCheckpoint({ runId, phase, epoch, ...rec }, dir);
    // Keep only the newest checkpoint folder: it is where --resume continues.
    const parent = store.runDir(runId, 'checkpoints');
    for (const f of readdirSync(parent)) if (f !== checkpointName(phase, epoch)) rmSync(join(parent, f), { recursive: true, force: true });
    await store.pruneCheckpoints(runId, dir);
    emit({ type: 'epoch', runId, phase, epoch, epochs, ...rec });
  };

  const pending: TrainPhase[] = [];
  try {
    // ---- phase 1: (pre-)training of the segmentation network
    if (pretrainDone < E) {
      if (!phases.pretrain) pending.push('pretrain');
      else {
        const steps = Math.ceil(train.length / batch);
        emit({ type: 'phase-start', runId, phase: 'pretrain', epochs: E, startEpoch: pretrainDone, stepsPerEpoch: steps });
        for (let e = pretrainDone; e < E; e++) {
          const t0 = performance.now();
          const lr = learningRateAt(config.training.lrSchedule, config.training.lr, e, E);
          setLearningRate(segOpt, lr);
          const order = batchesOf(epochOrder(train.length, seed, PHASE_SEED.pretrain, e), batch);
          let lossSum = 0;
          let n = 0;
          for (let s = 0; s < order.length; s++) {
            await check(`pretrain epoch ${e + 1}`);
            const { images, labels } = pretrainBatch(config, train, order[s], e, s);
            const loss = segOpt.minimize(() => lossFn(labels, seg.apply(images, { training: true }) as tf.Tensor), true, segVars)!;
            const l = (await loss.data())[0];
            tf.dispose([images, labels, loss]);
            if (!Number.isFinite(l)) throw new Error(`run ${runId}: pre-training loss became ${l} at epoch ${e + 1}, step ${s + 1} (lower training.lr?)`);
            lossSum += l * order[s].length;
            n += order[s].length;
            emit({ type: 'step', runId, phase: 'pretrain', epoch: e, step: s + 1, steps, loss: l, reward: null });
          }
          await check(`pretrain epoch ${e + 1}`);
          const valDice = validate(e, E, false);
          await saveEpoch('pretrain', e, E, { loss: lossSum / n, reward: null, valDice, lr, durationMs: performance.now() - t0 });
          if (snapEpochs.includes(e)) {
            const dir = join(snapRoot, checkpointName('pretrain', e));
            rmSync(`${dir}.tmp`, { recursive: true, force: true });
            await saveTrainState(`${dir}.tmp`, { runId, phase: 'pretrain', epoch: e, epochs: E }, { seg, rl: null, optimizers: {}, rewardFilter: null }, inferenceMetadataPropsOf(config, runId));
            rmSync(dir, { recursive: true, force: true });
            renameSync(`${dir}.tmp`, dir);
          }
        }
        pretrainDone = E;
        const shared = input.sharedPretrain;
        if (shared && !existsSync(shared.dir)) {
          const tmp = `${shared.dir}.tmp`;
          rmSync(tmp, { recursive: true, force: true });
          cpSync(join(store.runDir(runId, 'checkpoints'), checkpointName('pretrain', E - 1)), tmp, { recursive: true });
          // The credit snapshots go first: a published shared pre-training has them if its config asked for them.
          if (snapEpochs.length && hasSnapshots(snapRoot) && sharedSnapRoot) {
            rmSync(sharedSnapRoot, { recursive: true, force: true });
            cpSync(snapRoot, sharedSnapRoot, { recursive: true });
          }
          renameSync(tmp, shared.dir);
          shared.publish(runId);
        }
        // A run without an agent saved the snapshots only to share them.
        if (!spec.rl) rmSync(snapRoot, { recursive: true, force: true });
      }
    }

    // ---- phase 2: RL (Reinforcement-Net initialised from the Segmentation-Net)
    if (spec.rl && rlDone < R) {
      if (!phases.rl || pending.length) pending.push('rl');
      else {
        if (!rl) {
          rl = buildRlModel(config);
          if (config.rl.pretrain) initFromSegmentationNet(rl, seg);
        }
        if (rlDone === 0 && E > 0) await offerState('pretrained', validate(0, 1, false, true), false);
        const snapshots = config.rl.creditNet === 'snapshots' && isUnitCredit(config.rl);
        if (!creditSeg && (snapshots || (config.rl.creditNet === 'pretrained' && config.rl.finetuneSeg && isUnitCredit(config.rl)))) {
          const creditDir = join(store.runDir(runId), 'credit-net'); // runDir(runId, sub) would create it
          if (rlDone === 0) {
            rmSync(creditDir, { recursive: true, force: true });
            await saveTrainState(creditDir, { runId, phase: 'pretrain', epoch: Math.max(0, E - 1), epochs: Math.max(1, E) }, { seg, rl: null, optimizers: {}, rewardFilter: null }, inferenceMetadataPropsOf(config, runId));
          } else if (!existsSync(creditDir)) {
            throw new Error(`run ${runId}: rl.creditNet is 'pretrained' but ${creditDir} (the frozen pre-trained Segmentation-Net) is missing; start the run again without --resume`);
          }
          const loaded = await loadTrainNets(creditDir);
          loaded.rl?.dispose();
          creditSeg = loaded.seg;
          if (snapshots) {
            if (!hasSnapshots(snapRoot)) {
              throw new Error(`run ${runId}: rl.creditNet is 'snapshots' but ${snapRoot} lacks the pre-training snapshots (epochs ${snapEpochs.map((e) => e + 1).join(', ')}); start the run again without --resume`);
            }
            for (const e of snapEpochs) {
              const member = await loadTrainNets(join(snapRoot, checkpointName('pretrain', e)));
              member.rl?.dispose();
              committee.push(member.seg);
            }
            committee.push(creditSeg);
          }
        }
        const rlBatch = config.training.rlBatchSize;
        const steps = Math.ceil(train.length / rlBatch);
        // Fine-tuning continues the segmentation optimizer at the learning rate pre-training ended with.
        setLearningRate(segOpt, learningRateAt(config.training.lrSchedule, config.training.lr, Math.max(0, E - 1), Math.max(1, E)));
        // Instruments: the validation split (else the first 16 training slices); distractors where
        // the data knows them, else the Segmentation-Net's connected false positives at the start of RL.
        const probe = (val.length ? val : train).slice(0, 32);
        const probeDistractors = probe.map((sl) => {
          if (sl.distractor) return sl.distractor;
          const p = predictSlices({ seg, rl: null, rlConfig: config.rl }, [sl], 1)[0];
          return falsePositiveComponents(p.prediction, sl.mask, sl.size, sl.size);
        });
        emit({ type: 'phase-start', runId, phase: 'rl', epochs: R, startEpoch: rlDone, stepsPerEpoch: steps });
        for (let e = rlDone; e < R; e++) {
          const t0 = performance.now();
          const lr = learningRateAt(config.training.rlLrSchedule, config.training.rlLr, e, R);
          setLearningRate(rlOpt!, lr);
          const trainer = createAgentTrainer({
            policyNet: rl,
            segNet: seg,
            creditSegNet: committee.length ? committee : (creditSeg ?? undefined),
            rl: config.rl,
            optimizer: rlOpt!,
            segOptimizer: config.rl.finetuneSeg ? segOpt : undefined,
            segLoss: config.rl.finetuneSeg ? (y, p) => lossFn(y, p) : undefined,
            seed: mixSeed(seed, PHASE_SEED.rl, e),
            rewardFilterInit: rewardFilter ?? undefined,
          });
          const order = batchesOf(epochOrder(train.length, seed, PHASE_SEED.rl, e), rlBatch);
          let lossSum = 0;
          let rewardSum = 0;
          let n = 0;
          const results: TrainStepResult[] = [];
          let cosine: number | null = null;
          try {
            for (let s = 0; s < order.length; s++) {
              await check(`rl epoch ${e + 1}`);
              const { images, labels } = makeBatch(train, order[s], { config: config.preprocessing.augmentation, seed, phase: PHASE_SEED.rl, epoch: e });
              let r;
              try {
                if (s === 0 && order[s].length >= 2) cosine = halfBatchCosine(trainer, images, labels);
                r = trainer.trainStep(images, labels);
              } finally {
                tf.dispose([images, labels]);
              }
              if (!Number.isFinite(r.loss)) throw new Error(`run ${runId}: RL loss became ${r.loss} at epoch ${e + 1}, step ${s + 1} (lower training.rlLr?)`);
              results.push(r);
              lossSum += r.loss * order[s].length;
              rewardSum += r.episodeReward * order[s].length;
              n += order[s].length;
              emit({ type: 'step', runId, phase: 'rl', epoch: e, step: s + 1, steps, loss: r.loss, reward: r.episodeReward });
            }
            rewardFilter?.dispose();
            rewardFilter = trainer.rewardFilter.clone();
          } finally {
            trainer.dispose();
          }
          await check(`rl epoch ${e + 1}`);
          const valPreds = validationPredictions(e, R, true, selecting);
          const valDice = valPreds ? meanDice(valPreds, intervals) : null;
          // The share of the validation lesion pixels the greedy policy masks (selection's lesion rule).
          const valCounts = valPreds ? maskedCountsOf(valPreds) : null;
          const valLesionMasked = valCounts && valCounts.lesion > 0 ? valCounts.lesionMasked / valCounts.lesion : null;
          // What the greedy policy masks on the probe slices (the first of the validation split's, when it was just predicted).
          const probePreds = valPreds && val.length ? valPreds.slice(0, probe.length) : predictSlices({ seg, rl, rlConfig: config.rl }, probe, evalBatch);
          const f = maskedFractions(maskedCountsOf(probePreds, probeDistractors));
          const fin = (x: number) => (Number.isFinite(x) ? x : null);
          const stats = {
            maskedLesion: fin(f.lesion),
            maskedDistractor: fin(f.distractor),
            maskedOther: fin(f.other),
            maskedAll: fin(f.all),
            entropy: meanOf(results.map((r) => r.entropy)),
            advantageMean: meanOf(results.map((r) => r.advantageMean)),
            advantageStd: meanOf(results.map((r) => r.advantageStd)),
            maskLabelShare: meanOf(results.map((r) => r.maskLabelShare)),
            gradientCosine: cosine,
          };
          await saveEpoch('rl', e, R, { loss: lossSum / n, reward: rewardSum / n, valDice, lr, durationMs: performance.now() - t0, stats });
          await offerState(`rl-${e + 1}`, valDice, true, valLesionMasked);
        }
        rlDone = R;
        // The frozen credit network(s) are needed only while the agent trains.
        rmSync(join(store.runDir(runId), 'credit-net'), { recursive: true, force: true });
        rmSync(snapRoot, { recursive: true, force: true });
      }
    }

    // ---- phase 2 (variants without RL): budget-fair fine-tuning on raw images (training.budgetFair)
    if (!spec.rl && ftDone < F && pretrainDone >= E) {
      if (!phases.rl || pending.length) pending.push('finetune');
      else {
        if (ftDone === 0) await offerState('pretrained', validate(0, 1, false, true), false);
        const rlBatch = config.training.rlBatchSize;
        const steps = Math.ceil(train.length / rlBatch);
        const lr = learningRateAt(config.training.lrSchedule, config.training.lr, Math.max(0, E - 1), Math.max(1, E));
        setLearningRate(segOpt, lr);
        const bnTraining = config.rl.finetuneBatchNorm === 'batch';
        emit({ type: 'phase-start', runId, phase: 'finetune', epochs: F, startEpoch: ftDone, stepsPerEpoch: steps });
        for (let e = ftDone; e < F; e++) {
          const t0 = performance.now();
          // The same batches an RL variant's fine-tuning steps see (seeded by the RL phase), as raw images.
          const order = batchesOf(epochOrder(train.length, seed, PHASE_SEED.rl, e), rlBatch);
          let lossSum = 0;
          let n = 0;
          for (let s = 0; s < order.length; s++) {
            await check(`finetune epoch ${e + 1}`);
            const { images, labels } = makeBatch(train, order[s], { config: config.preprocessing.augmentation, seed, phase: PHASE_SEED.rl, epoch: e });
            const loss = segOpt.minimize(() => lossFn(labels, seg.apply(images, { training: bnTraining }) as tf.Tensor), true, segVars)!;
            const l = (await loss.data())[0];
            tf.dispose([images, labels, loss]);
            lossSum += l * order[s].length;
            n += order[s].length;
            emit({ type: 'step', runId, phase: 'finetune', epoch: e, step: s + 1, steps, loss: l, reward: null });
          }
          await check(`finetune epoch ${e + 1}`);
          const valDice = validate(e, F, false, selecting);
          await saveEpoch('finetune', e, F, { loss: lossSum / n, reward: null, valDice, lr, durationMs: performance.now() - t0 });
          await offerState(`finetune-${e + 1}`, valDice, false);
        }
        ftDone = F;
      }
    }

    // ---- model selection on the validation split
    if (!pending.length && selecting && selection && (R > 0 || F > 0)) {
      const last = spec.rl ? `rl-${R}` : `finetune-${F}`;
      if (selection.chosen !== last && existsSync(bestDir)) {
        const best = await loadTrainNets(bestDir);
        seg.dispose();
        rl?.dispose();
        seg = best.seg;
        rl = best.rl;
      }
      await store.setSelection(runId, selection);
      const fmt = (v: number | null | undefined) => (v == null ? 'n/a' : `${(100 * v).toFixed(2)} %`);
      // training.selectMaxLesionMasked: the agent states it ruled out, and whether the kept one passes it.
      const over = Object.entries(selection.lesionMasked ?? {}).filter(([, v]) => !lesionRuleAllows(v, maxLesion));
      const lesionRule = over.length
        ? `; ${over.map(([t, v]) => `${t} (${fmt(v)})`).join(', ')} masked more than ${fmt(maxLesion)} of the validation lesion pixels` +
          (lesionRuleAllows(selection.lesionMasked?.[selection.chosen], maxLesion) ? ' and could not be kept' : ', and no state that masks less was offered')
        : '';
      emit({
        type: 'message',
        level: selection.chosen === 'pretrained' || !lesionRuleAllows(selection.lesionMasked?.[selection.chosen], maxLesion) ? 'warn' : 'info',
        text:
          `run ${runId}: kept ${selection.chosen === 'pretrained' ? `the pre-trained Segmentation-Net${spec.rl ? ' with the agent off' : ''}` : selection.chosen} ` +
          `(validation Dice ${fmt(selection.valDice[selection.chosen])} on ${selection.validationCases} slices; pre-trained ${fmt(selection.valDice.pretrained)}, last epoch ${fmt(selection.valDice[last])}${lesionRule})`,
      });
    }

    // ---- phase 3: evaluation on the held-out fold
    let md: number | null = null;
    let cases = 0;
    const timings: Record<string, number> = {};
    if (!phases.eval || pending.length) {
      if (test.length) pending.push('eval');
    } else if (test.length) {
      const agentOff = agentOffBySelection(config.variant, selection);
      if (spec.rl && !rl && !agentOff) {
        // R = 0 for an RL variant: initialise the agent as the protocol would and evaluate it untrained.
        rl = buildRlModel(config);
        if (config.rl.pretrain) initFromSegmentationNet(rl, seg);
      }
      const t0 = performance.now();
      const ev = await evaluateAndStore({ store, runId, nets: { seg, rl: spec.rl && !agentOff ? rl : null, rlConfig: config.rl, agentOff }, test, intervals, batchSize: evalBatch, emit, writePngs: input.writePngs ?? true, check: () => check('evaluation') });
      md = ev.meanDice;
      cases = ev.cases;
      timings.eval = performance.now() - t0;
    }
    for (const ep of await store.epochs(runId)) timings[ep.phase] = (timings[ep.phase] ?? 0) + ep.durationMs;
    return { pending, meanDice: md, cases, timings };
  } finally {
    seg.dispose();
    rl?.dispose();
    creditSeg?.dispose();
    for (const net of committee) if (net !== creditSeg) net.dispose();
    segOpt.dispose();
    rlOpt?.dispose();
    rewardFilter?.dispose();
  }
}

/**
 * Loads the final networks of a finished run (for export or re-evaluation): the state its
 * validation-based selection kept (`<run>/best`, RunRecord.selection; 'pretrained' = no agent), else
 * its last checkpoint.
 */
export async function loadRunNets(store: ResultsStore, runId: string): Promise<{ seg: tf.LayersModel; rl: tf.LayersModel | null }> {
  const run = await store.getRun(runId);
  const sel = run?.selection;
  const bestDir = store.runDir(runId, 'best');
  if (sel && existsSync(join(bestDir, 'selection.json'))) {
    const kept = JSON.parse(readFileSync(join(bestDir, 'selection.json'), 'utf8')) as RunSelection;
    if (kept.chosen === sel.chosen) {
      const { seg, rl } = await loadTrainNets(bestDir);
      return { seg, rl };
    }
  }
  const last = await store.lastCheckpoint(runId);
  if (!last) throw new Error(`run ${runId} has no checkpoint in ${store.location} (did its training finish an epoch?)`);
  const { seg, rl } = await loadTrainNets(last.path);
  return { seg, rl };
}
