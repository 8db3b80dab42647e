/**
 * `mrlseg train | cv | pretrain | rl`: the paper's protocol from a config file and/or flags
 * (flags override the file). Progress goes to stderr (bars on a terminal, JSON lines otherwise);
 * the final summary goes to stdout. Ctrl-C stops after the current step: the run is marked
 * incomplete and `--resume` continues it from its last finished epoch.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { ExperimentConfig } from '@mrlseg/types';
import { DATASET_FORMATS, VARIANT_IDS } from '@mrlseg/types/constants';
import type { ExperimentResult, ResultsStore, RunPhases } from '@mrlseg/experiments';
import { BACKEND_CHOICES, CONV_ENGINES, parseConvEngine, selectBackend, type BackendChoice } from '../backend';
import { createProgress } from '../progress';
import { addStoreFlags, openStoreFromFlags, type StoreFlags } from '../store-flags';

export interface TrainFlags extends StoreFlags {
  config?: string;
  dataset?: string;
  format?: string;
  variant?: string;
  size?: number;
  epochs?: number;
  rlEpochs?: number;
  folds?: number;
  fold?: number;
  seed?: number;
  name?: string;
  exportOnnx?: string;
  backend: BackendChoice;
  convEngine?: string;
  resume?: boolean;
  json?: boolean;
  pngs?: boolean;
  author?: string;
  queue?: string;
  attempts?: number;
  retryDelay?: number;
}

const intArg = (name: string, min: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got '${v}'`);
  return n;
};

/** Adds the flags shared by train, cv, pretrain and rl. */
export function addTrainFlags(cmd: Command): Command {
  return addStoreFlags(cmd)
    .option('--config <file>', 'experiment config (JSON, validated by ExperimentConfigSchema); flags override it')
    .option('--dataset <dir>', 'dataset folder (dataset.root)')
    .option('--format <loader>', `dataset format: ${DATASET_FORMATS.join('|')}`)
    .option('--variant <id[,id...]>', `variant(s): ${VARIANT_IDS.join('|')}`)
    .option('--size <px>', 'input size (multiple of 16)', intArg('size', 16))
    .option('--epochs <n>', 'Segmentation-Net (pre-)training epochs', intArg('epochs', 0))
    .option('--rl-epochs <n>', 'RL epochs', intArg('rl-epochs', 0))
    .option('--folds <k>', 'number of patient-level folds; 0 = train on everything, no held-out fold', intArg('folds', 0))
    .option('--fold <i>', 'run only this fold index', intArg('fold', 0))
    .option('--seed <n>', 'random seed', intArg('seed', -2147483648))
    .option('--name <name>', 'experiment name')
    .option('--export-onnx <file>', 'export the best completed run to this ONNX file (RL variants: T steps unrolled)')
    .option('--backend <name>', `TensorFlow.js backend (${BACKEND_CHOICES.join('|')})`, 'auto')
    .option('--conv-engine <name>', `convolutions on the wasm backend (${CONV_ENGINES.join('|')}; default onnxruntime when it loads)`)
    .option('--resume', 'continue the latest experiment made from the same config, from each run\'s last checkpoint')
    .option('--no-pngs', 'do not write per-case PNGs')
    .option('--author <name>', 'who starts the experiment, recorded with it (default: the OS user name)')
    .option('--json', 'print the result as JSON on stdout');
}

/** Adds the flags that send a grid to the job queue instead of running it here (train and cv). */
export function addQueueFlags(cmd: Command): Command {
  return cmd
    .option('--queue <url>', 'enqueue the grid as jobs on this Redis (redis://host:port[/db]) for `mrlseg worker`s and return at once, printing the experiment id')
    .option('--attempts <n>', 'with --queue: tries per job before it is recorded as failed', intArg('attempts', 1), 3)
    .option('--retry-delay <ms>', 'with --queue: delay before the first retry (doubled for each further one)', intArg('retry-delay', 0), 10_000);
}

/** Flags -> config overrides (only what was given). */
export function flagOverrides(o: TrainFlags): Record<string, unknown> {
  const ov: Record<string, unknown> = {};
  const set = (path: string[], v: unknown) => {
    if (v === undefined) return;
    let cur = ov;
    for (const k of path.slice(0, -1)) cur = (cur[k] ??= {}) as Record<string, unknown>;
    cur[path[path.length - 1]] = v;
  };
  if (o.format !== undefined && !(DATASET_FORMATS as readonly string[]).includes(o.format)) {
    throw new Error(`--format must be one of ${DATASET_FORMATS.join(', ')}, got '${o.format}'`);
  }
  set(['dataset', 'root'], o.dataset);
  set(['dataset', 'format'], o.format);
  if (o.variant !== undefined) {
    const vs = o.variant.split(',').map((s) => s.trim()).filter(Boolean);
    const bad = vs.find((v) => !(VARIANT_IDS as readonly string[]).includes(v));
    if (bad) throw new Error(`--variant: unknown variant '${bad}' (known: ${VARIANT_IDS.join(', ')})`);
    if (vs.length === 1) {
      set(['variant'], vs[0]);
      set(['variants'], []);
    } else set(['variants'], vs);
  }
  set(['preprocessing', 'size'], o.size);
  set(['training', 'epochs'], o.epochs);
  set(['training', 'rlEpochs'], o.rlEpochs);
  set(['folds', 'k'], o.folds);
  if (o.fold !== undefined) set(['folds', 'only'], [o.fold]);
  if (o.seed !== undefined) {
    set(['seed'], o.seed);
    set(['seeds'], []);
  }
  set(['name'], o.name);
  return ov;
}

/** The experiment config of a command: the file (if any) with the flags merged over it. */
export async function configFromFlags(o: TrainFlags): Promise<ExperimentConfig> {
  if (o.dataset !== undefined && o.format === undefined && o.config === undefined) {
    throw new Error(`--dataset needs --format <loader> (one of ${DATASET_FORMATS.join(', ')}) when no --config gives dataset.format`);
  }
  const { loadExperimentConfig } = await import('@mrlseg/experiments');
  return loadExperimentConfig(o.config, flagOverrides(o));
}

/**
 * Runs `fn` with an AbortSignal tied to Ctrl-C: the first SIGINT asks the pipeline to stop after
 * the current step (the run is checkpointed at its last epoch and marked incomplete); a second
 * one exits at once (the store stays consistent: every write is a transaction).
 */
export async function withInterrupt<T>(log: (line: string) => void, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  const second = () => {
    log('interrupted again: exiting now');
    process.exit(130);
  };
  const first = () => {
    log('interrupt: stopping after the current step (Ctrl-C again to quit now); continue later with --resume');
    ac.abort();
    process.once('SIGINT', second);
  };
  process.once('SIGINT', first);
  process.once('SIGTERM', first);
  try {
    return await fn(ac.signal);
  } finally {
    process.removeListener('SIGINT', first);
    process.removeListener('SIGINT', second);
    process.removeListener('SIGTERM', first);
  }
}

/** Text summary of an experiment's runs. */
export function summarize(r: ExperimentResult, store: Pick<ResultsStore, 'location'>): string {
  const lines = [`experiment ${r.experimentId}${r.resumed ? ' (resumed)' : ''}: ${r.runs.length} run(s) on ${r.samples} slices`];
  for (const o of r.runs) {
    lines.push(`  ${o.runId}  ${o.plan.variant.padEnd(18)} fold ${String(o.plan.fold).padStart(3)} seed ${o.plan.seed}  ${o.status.padEnd(10)} mean Dice ${o.meanDice === null ? 'n/a' : o.meanDice.toFixed(4)} (${o.cases} cases)${o.error ? `  error: ${o.error}` : ''}`);
  }
  if (r.onnx) lines.push(`ONNX: ${r.onnx.path} (run ${r.onnx.runId})`);
  lines.push(`store: ${store.location}; report: mrlseg report --store ${store.location} --experiment ${r.experimentId}`);
  return lines.join('\n');
}

/** Shared action of train, cv, pretrain and rl. */
export async function trainAction(o: TrainFlags, mode: { phases?: Partial<RunPhases>; resume?: boolean; cv?: boolean; report?: boolean }): Promise<void> {
  if (!BACKEND_CHOICES.includes(o.backend)) throw new Error(`--backend must be one of ${BACKEND_CHOICES.join(', ')}, got '${o.backend}'`);
  let config = await configFromFlags(o);
  const { RunInterrupted, buildReport, renderReport, runExperiment } = await import('@mrlseg/experiments');
  if (mode.cv) {
    if (config.folds.k < 2) throw new Error(`cv: folds.k must be at least 2 for cross-validation, got ${config.folds.k}`);
    config = { ...config, folds: { ...config.folds, only: undefined } };
  }
  if (o.queue !== undefined) return enqueueAction(o, config);
  const progress = createProgress();
  const sel = await selectBackend(o.backend, { convEngine: parseConvEngine(o.convEngine) });
  progress.log(`backend: ${sel.label} (${sel.reason})`);
  const store = await openStoreFromFlags(o, { needsArtifacts: true });
  try {
    const result = await withInterrupt(progress.log, (signal) =>
      runExperiment(config, {
        store,
        backend: sel.label,
        resume: Boolean(o.resume || mode.resume),
        phases: mode.phases,
        signal,
        onProgress: progress.listener,
        exportOnnx: o.exportOnnx ? resolve(o.exportOnnx) : undefined,
        writePngs: o.pngs !== false,
        author: o.author,
      }),
    ).finally(() => progress.stop());
    if (o.json) console.log(JSON.stringify(result, null, 2));
    else {
      console.log(summarize(result, store));
      if (mode.report && result.runs.some((r) => r.status === 'completed' || r.status === 'skipped')) {
        console.log(`\n${renderReport(await buildReport(store, { experimentId: result.experimentId }), 'md')}`);
      }
    }
    if (result.runs.some((r) => r.status === 'failed')) process.exitCode = 1;
  } catch (e) {
    if (e instanceof RunInterrupted) {
      console.error(`mrlseg: ${e.message}`);
      process.exitCode = 130;
      return;
    }
    throw e;
  } finally {
    await store.close();
  }
}

/** `--queue`: records the grid in the store, adds its jobs to Redis and prints the experiment id (stdout) at once. */
async function enqueueAction(o: TrainFlags, config: ExperimentConfig): Promise<void> {
  if (o.resume) throw new Error('--resume and --queue do not go together: enqueueing the same config again continues its grid (completed runs are kept)');
  if (o.exportOnnx) throw new Error('--export-onnx and --queue do not go together: export a finished run with mrlseg export-onnx');
  const { enqueueGrid } = await import('@mrlseg/experiments');
  const store = await openStoreFromFlags(o);
  try {
    const r = await enqueueGrid(config, { store, queue: o.queue!, author: o.author, attempts: o.attempts, retryDelayMs: o.retryDelay });
    if (o.json) console.log(JSON.stringify(r, null, 2));
    else console.log(r.experimentId);
    console.error(
      r.addedJobs
        ? `queued experiment ${r.experimentId}: ${r.runs} run(s), ${r.pretrainJobs} shared pre-training job(s) and a report job on ${o.queue}; start workers with: mrlseg worker --queue ${o.queue} --store ${o.store}${o.artifacts !== undefined ? ` --artifacts ${o.artifacts}` : ''}`
        : `experiment ${r.experimentId} was already queued on ${o.queue}: nothing added (mrlseg queue status --queue ${o.queue})`,
    );
  } finally {
    await store.close();
  }
}

export function register(program: Command): void {
  addQueueFlags(addTrainFlags(program.command('train').description('train (and evaluate) variants x folds x seeds from a config and/or flags; the paper\'s full protocol per run'))).action((o: TrainFlags) =>
    trainAction(o, {}),
  );
  addQueueFlags(addTrainFlags(program.command('cv').description('cross-validation: every fold of the config (folds.k >= 2), then the paper-style report (--queue: as jobs for mrlseg worker)'))).action(
    (o: TrainFlags) => trainAction(o, { cv: true, report: true }),
  );
  addTrainFlags(program.command('pretrain').description('only pre-train the segmentation networks (runs stay incomplete; continue with mrlseg rl)')).action((o: TrainFlags) =>
    trainAction(o, { phases: { pretrain: true, rl: false, eval: false } }),
  );
  addTrainFlags(program.command('rl').description('RL phase of the latest experiment with this config, after mrlseg pretrain (continue with mrlseg eval)')).action((o: TrainFlags) =>
    trainAction(o, { resume: true, phases: { pretrain: false, rl: true, eval: false } }),
  );
}
