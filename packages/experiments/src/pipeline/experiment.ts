/**
 * An experiment = variants x folds x seeds over one dataset (`planRuns`), run one after the other
 * into the results store. With `resume`, the most recent experiment made from the same config
 * (same config hash) is continued: completed runs are kept, the others continue from their last
 * checkpoint. The data are loaded and preprocessed once; the split is patient-level
 * (`makeFolds` of @mrlseg/data, seed 0 unless `folds.splitFile` names a saved split), so the
 * folds are the same for every variant and seed.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import type { ExperimentConfig } from '@mrlseg/types';
import { applySplit, loadSplit, makeFolds, openDataset, saveSplit, type SampleRef, type Split } from '@mrlseg/data';
import { exportMrlSegOnnx, exportOnnx } from '@mrlseg/models';
import { inferenceMetadataPropsOf } from '../config/inference-metadata';
import type { ResultsStore } from '../store/store';
import { agentOffBySelection, applyVariant, variantSpec } from '../config/variants';
import { configHash, planRuns, runId as makeRunId, slug, type RunPlan } from '../config/load-config';
import { gitCommit, packageVersions } from '../config/provenance';
import { toSlice, type Slice } from './batches';
import { evaluateAndStore, type EvaluationSummary } from './evaluate';
import type { ProgressListener } from './events';
import { loadRunNets, RunInterrupted, trainRun, type RunPhases } from './train-run';

export interface RunExperimentOptions {
  store: ResultsStore;
  /** TensorFlow.js backend in use (recorded with every run). */
  backend: string;
  /** Continue the latest experiment with the same config. */
  resume?: boolean;
  /** Phases to run now (default all); later phases are left for a later call with `resume`. */
  phases?: Partial<RunPhases>;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
  /**
   * Export the best completed run (highest mean Dice; the only run when there is one) as ONNX to
   * this file; RL variants as one graph with the T deterministic steps unrolled.
   */
  exportOnnx?: string;
  /** Write per-case PNGs (default true). */
  writePngs?: boolean;
  /** Folder of the git repository to record the commit of (default: the working directory). */
  repoDir?: string;
  /** Who starts the experiment (recorded with it; default the OS user name). */
  author?: string;
}

export interface RunOutcome {
  runId: string;
  plan: RunPlan;
  status: 'completed' | 'failed' | 'incomplete' | 'skipped';
  meanDice: number | null;
  cases: number;
  error?: string;
}

export interface ExperimentResult {
  experimentId: string;
  resumed: boolean;
  runs: RunOutcome[];
  /** Run exported to ONNX and the file written, when `exportOnnx` was given. */
  onnx: { runId: string; path: string } | null;
  samples: number;
}

const stamp = (d = new Date()) => d.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);

/** The OS user name (the default author of an experiment), or null when it cannot be read. */
export function defaultAuthor(): string | null {
  try {
    return userInfo().username || null;
  } catch {
    return null;
  }
}

/** How a run's dataset is described in the store (`format:root`, or the synthetic generator's parameters). */
export function describeDataset(c: ExperimentConfig): string {
  return c.dataset.root ? `${c.dataset.format}:${c.dataset.root}` : `${c.dataset.format}(count=${c.dataset.synthetic.count}, size=${c.dataset.synthetic.size}, seed=${c.dataset.synthetic.seed})`;
}

/** Hash of what determines a run's pre-training (runs with equal keys share it). */
export function pretrainKey(c: ExperimentConfig, fold: number): string {
  const t = c.training;
  return `pre-${configHash({
    dataset: c.dataset,
    preprocessing: c.preprocessing,
    model: c.model,
    net: variantSpec(c.variant).net,
    training: { epochs: t.epochs, batchSize: t.batchSize, optimizer: t.optimizer, lr: t.lr, lrSchedule: t.lrSchedule, loss: t.loss, validateEvery: t.validateEvery },
    // Mask-out shapes pre-training through the agent's units; named only when on, so keys made before it existed still match.
    ...(t.maskOut > 0 ? { maskOut: t.maskOut, maskUnits: { shape: c.rl.unitShape, size: c.rl.unitSize, compactness: c.rl.superpixelCompactness, value: c.rl.maskValue } } : {}),
    seed: c.seed,
    fold,
  })}`;
}

/** Loads every usable slice of the dataset, preprocessed (no augmentation). */
export async function loadSlices(config: ExperimentConfig, emit: ProgressListener = () => {}): Promise<{ refs: SampleRef[]; slices: Map<string, Slice> }> {
  const ds = openDataset(config.dataset);
  const { refs, problems } = await ds.scan();
  for (const p of problems.slice(0, 10)) emit({ type: 'message', level: 'warn', text: `dataset: ${p.file}: ${p.message}` });
  if (problems.length > 10) emit({ type: 'message', level: 'warn', text: `dataset: ${problems.length - 10} more problem(s) not shown` });
  if (refs.length === 0) {
    throw new Error(`dataset ${config.dataset.root ?? config.dataset.format} (format ${config.dataset.format}) has no usable samples${problems.length ? `; first problem: ${problems[0].file}: ${problems[0].message}` : ''}`);
  }
  const samples = await ds.loadMany(refs, config.preprocessing);
  return { refs, slices: new Map(samples.map((s) => [s.meta.id, toSlice(s)])) };
}

/** The experiment's patient-level split (null for folds.k = 0), saved as `split.json` in its artifacts folder. */
export async function splitFor(config: ExperimentConfig, refs: SampleRef[], store: ResultsStore, experimentId: string): Promise<Split | null> {
  if (config.folds.k === 0) return null;
  let split: Split;
  if (config.folds.splitFile && existsSync(config.folds.splitFile)) {
    split = await loadSplit(config.folds.splitFile);
    if (split.k !== config.folds.k) throw new Error(`folds.splitFile ${config.folds.splitFile} has k = ${split.k}, the config folds.k = ${config.folds.k}`);
  } else {
    split = makeFolds(refs, {
      k: config.folds.k,
      seed: 0,
      stratify: config.folds.stratify,
      intervals: config.dataset.intervals,
      dataset: { format: config.dataset.format, root: config.dataset.root },
    });
    if (config.folds.splitFile) await saveSplit(config.folds.splitFile, split);
  }
  await saveSplit(join(store.runDir(experimentId), 'split.json'), split);
  return split;
}

/**
 * Where runs with equal {@link pretrainKey} share their pre-training inside an experiment: the
 * final pre-training checkpoint (`dir`, present once a run finished pre-training) and a file
 * naming the run that produced it (whose curve the others copy).
 */
export function sharedPretrain(store: ResultsStore, experimentId: string, runConfig: ExperimentConfig, fold: number): { key: string; dir: string; sourceFile: string } {
  const key = pretrainKey(runConfig, fold);
  const dir = join(store.runDir(experimentId, 'pretrained'), key);
  return { key, dir, sourceFile: join(dir, '..', `${key}.source`) };
}

/** What every run of one experiment shares: the store, the data (loaded once), the split, provenance. */
export interface RunContext {
  store: ResultsStore;
  config: ExperimentConfig;
  experimentId: string;
  refs: SampleRef[];
  slices: Map<string, Slice>;
  split: Split | null;
  backend: string;
  gitCommit: string | null;
  packageVersions: Record<string, string>;
}

export interface ExecuteRunOptions {
  phases: RunPhases;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
  writePngs?: boolean;
  /** Position in the experiment, for progress events. */
  index: number;
  total: number;
  /** Take the run over even when the store says another process trains it (a queue worker handed its job). */
  takeover?: boolean;
}

/**
 * Trains (or continues from its last checkpoint) and evaluates one planned run of an experiment,
 * recording it in the store: skipped when already completed, 'failed' with the error when it
 * throws (returned, not thrown), 'incomplete' when `phases` stopped it early. A Ctrl-C
 * ({@link RunInterrupted}) is recorded as 'incomplete' and rethrown.
 */
export async function executeRun(ctx: RunContext, plan: RunPlan, opts: ExecuteRunOptions): Promise<RunOutcome> {
  const { store, config, experimentId, refs, slices, split } = ctx;
  const emit: ProgressListener = opts.onProgress ?? (() => {});
  const id = makeRunId(experimentId, plan);
  const existing = await store.getRun(id);
  if (existing?.status === 'completed') {
    const cs = await store.allCases(id);
    const d = cs.map((c) => c.dice).filter((v): v is number => v !== null);
    const md = d.length ? d.reduce((a, b) => a + b, 0) / d.length : null;
    emit({ type: 'run-end', runId: id, status: 'skipped', meanDice: md, durationMs: 0 });
    return { runId: id, plan, status: 'skipped', meanDice: md, cases: cs.length };
  }
  const runConfig = applyVariant({ ...config, seed: plan.seed, seeds: undefined }, plan.variant);
  const { train, test } = split ? applySplit(split, refs, plan.fold) : { train: refs, test: [] as SampleRef[] };
  const resumedFrom = existing ? ((await store.lastCheckpoint(id))?.path ?? null) : null;
  await store.startRun(
    { id, experimentId, variant: plan.variant, fold: plan.fold, seed: plan.seed, dataset: describeDataset(config), backend: ctx.backend, gitCommit: ctx.gitCommit, config: runConfig, packageVersions: ctx.packageVersions },
    { takeover: opts.takeover },
  );
  emit({ type: 'run-start', runId: id, variant: plan.variant, fold: plan.fold, seed: plan.seed, index: opts.index, total: opts.total, resumedFrom });
  const t0 = performance.now();
  const shared = sharedPretrain(store, experimentId, runConfig, plan.fold);
  try {
    const r = await trainRun({
      sharedPretrain: {
        dir: shared.dir,
        sourceRunId: () => (existsSync(shared.sourceFile) ? readFileSync(shared.sourceFile, 'utf8').trim() : null),
        publish: (rid) => writeFileSync(shared.sourceFile, rid),
      },
      store,
      runId: id,
      config: runConfig,
      train: train.map((ref) => slices.get(ref.id)!),
      test: test.map((ref) => slices.get(ref.id)!),
      resume: Boolean(existing),
      phases: opts.phases,
      signal: opts.signal,
      onProgress: emit,
      writePngs: opts.writePngs,
    });
    const status = r.pending.length ? 'incomplete' : 'completed';
    await store.finishRun(id, { status, timings: r.timings, error: r.pending.length ? `stopped before ${r.pending.join(', ')} (continue with mrlseg train --resume)` : null });
    emit({ type: 'run-end', runId: id, status, meanDice: r.meanDice, durationMs: performance.now() - t0 });
    return { runId: id, plan, status, meanDice: r.meanDice, cases: r.cases };
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    if (e instanceof RunInterrupted) {
      await store.finishRun(id, { status: 'incomplete', error: msg });
      emit({ type: 'run-end', runId: id, status: 'incomplete', meanDice: null, durationMs: performance.now() - t0, error: msg });
      throw e;
    }
    await store.finishRun(id, { status: 'failed', error: msg });
    emit({ type: 'run-end', runId: id, status: 'failed', meanDice: null, durationMs: performance.now() - t0, error: msg });
    return { runId: id, plan, status: 'failed', meanDice: null, cases: 0, error: msg };
  }
}

/** Runs (or resumes) an experiment; see the module comment. */
export async function runExperiment(config: ExperimentConfig, opts: RunExperimentOptions): Promise<ExperimentResult> {
  const { store } = opts;
  const emit: ProgressListener = opts.onProgress ?? (() => {});
  const phases: RunPhases = { pretrain: true, rl: true, eval: true, ...opts.phases };
  const plans = planRuns(config);
  for (const p of plans) variantSpec(p.variant);
  const hash = configHash(config);
  const commit = gitCommit(opts.repoDir);
  let experimentId: string;
  const prior = opts.resume ? await store.latestExperimentByHash(hash) : undefined;
  if (opts.resume && !prior) {
    throw new Error(`--resume: no experiment made from this config (hash ${hash}) in the store ${store.location}; run it without --resume first`);
  }
  if (prior) experimentId = prior.id;
  else {
    const base = `${slug(config.name)}-${stamp()}`;
    experimentId = base;
    for (let i = 2; await store.getExperiment(experimentId); i++) experimentId = `${base}-${i}`;
    await store.createExperiment({ id: experimentId, name: config.name, dataset: describeDataset(config), config, configHash: hash, gitCommit: commit, author: opts.author ?? defaultAuthor() });
  }

  const { refs, slices } = await loadSlices(config, emit);
  emit({ type: 'experiment', experimentId, runs: plans.length, dataset: describeDataset(config), samples: refs.length, resumed: Boolean(prior) });
  const split = await splitFor(config, refs, store, experimentId);
  const versions = packageVersions();

  const ctx: RunContext = { store, config, experimentId, refs, slices, split, backend: opts.backend, gitCommit: commit, packageVersions: versions };
  const outcomes: RunOutcome[] = [];
  for (let i = 0; i < plans.length; i++) {
    outcomes.push(await executeRun(ctx, plans[i], { phases, signal: opts.signal, onProgress: emit, writePngs: opts.writePngs, index: i, total: plans.length }));
  }

  let onnx: ExperimentResult['onnx'] = null;
  if (opts.exportOnnx) {
    const done = outcomes.filter((o) => o.status === 'completed' || o.status === 'skipped');
    if (!done.length) emit({ type: 'message', level: 'warn', text: 'ONNX export skipped: no completed run' });
    else {
      const best = done.reduce((a, b) => ((b.meanDice ?? -1) > (a.meanDice ?? -1) ? b : a));
      const path = await exportRunOnnx(store, best.runId, opts.exportOnnx);
      onnx = { runId: best.runId, path };
      emit({ type: 'message', level: 'info', text: `exported run ${best.runId} (${best.plan.variant}, mean Dice ${best.meanDice?.toFixed(4) ?? 'n/a'}) to ${path}` });
    }
  }
  return { experimentId, resumed: Boolean(prior), runs: outcomes, onnx, samples: refs.length };
}

/**
 * Writes the ONNX model of a run (its last checkpoint) to `file` and records the path on the run:
 * RL variants as the whole MRL-Seg inference (T steps unrolled; outputs `probabilities`,
 * `actions`), the others as the segmentation network (output `probabilities`); its metadata_props
 * describe how to feed it (inferenceMetadataOf: input size, CT window, slice axis, variant, run id).
 */
export async function exportRunOnnx(store: ResultsStore, runId: string, file: string): Promise<string> {
  const run = await store.getRun(runId);
  if (!run) throw new Error(`exportRunOnnx: no run ${runId} in ${store.location}`);
  const cfg = run.config as ExperimentConfig;
  const { seg, rl } = await loadRunNets(store, runId);
  try {
    // The unit formulations' candidate components cannot be expressed in ONNX: their export holds the
    // Segmentation-Net alone (docs/rl-formulations.md), rather than a pixel-wise misreading of the policy.
    const unitAgent = cfg.rl?.credit === 'counterfactual' || cfg.rl?.credit === 'candidates';
    const metadata = inferenceMetadataPropsOf(cfg, runId);
    const bytes = rl && !unitAgent
      ? exportMrlSegOnnx(rl, seg, { steps: cfg.rl.episodeLength, maskValue: cfg.rl.maskValue, name: `mrlseg-${run.variant}`, docString: `MRL-Seg run ${runId}`, metadata })
      : exportOnnx(seg, { name: `mrlseg-${run.variant}`, docString: rl ? `MRL-Seg run ${runId}: Segmentation-Net only (the '${cfg.rl.credit}' agent is not exportable)` : `MRL-Seg run ${runId}`, metadata });
    writeFileSync(file, bytes);
  } finally {
    seg.dispose();
    rl?.dispose();
  }
  await store.setOnnxPath(runId, file);
  return file;
}

/**
 * Re-evaluates a stored run from its last checkpoint on its held-out fold (the split saved with its
 * experiment), replacing its cases and PNGs. The run's own config says how to load the data. The
 * new cases carry the agent's fractions, so this backfills cases stored before schema 2.
 */
export async function evaluateStoredRun(store: ResultsStore, runId: string, opts: { onProgress?: ProgressListener; writePngs?: boolean } = {}): Promise<EvaluationSummary> {
  const run = await store.getRun(runId);
  if (!run) throw new Error(`eval: no run '${runId}' in the store ${store.location}`);
  if (run.fold < 0) throw new Error(`eval: run ${runId} was trained on all data (folds.k = 0): it has no held-out fold to evaluate`);
  const config = run.config as ExperimentConfig;
  const splitFile = join(store.runDir(run.experimentId), 'split.json');
  if (!existsSync(splitFile)) throw new Error(`eval: the split of experiment ${run.experimentId} is missing (${splitFile})`);
  const split = await loadSplit(splitFile);
  const { refs, slices } = await loadSlices(config, opts.onProgress);
  const { test } = applySplit(split, refs, run.fold);
  const { seg, rl } = await loadRunNets(store, runId);
  try {
    // A run whose validation-based selection kept its pre-trained Segmentation-Net runs with the agent
    // off, as its training's own evaluation did; any other RL run needs its Reinforcement-Net.
    const agentOff = agentOffBySelection(run.variant, run.selection);
    if (variantSpec(run.variant).rl && !rl && !agentOff) throw new Error(`eval: run ${runId} is an RL variant but its last checkpoint has no Reinforcement-Net (RL training not done yet)`);
    return await evaluateAndStore({
      store,
      runId,
      nets: { seg, rl: agentOff ? null : rl, rlConfig: config.rl, agentOff },
      test: test.map((r) => slices.get(r.id)!),
      intervals: config.dataset.intervals,
      batchSize: Math.max(1, Math.min(16, config.training.batchSize)),
      emit: opts.onProgress,
      writePngs: opts.writePngs ?? true,
    });
  } finally {
    seg.dispose();
    rl?.dispose();
  }
}
