/**
 * A grid worker (`mrlseg worker`): takes jobs from the grid queue until stopped and runs them
 * with the same pipeline as `mrlseg cv` ({@link executeRun}), writing to the results store.
 *
 * Faults: BullMQ holds a lock on each active job that the worker renews between training steps;
 * a worker that dies (SIGKILL, lost machine) stops renewing, the stalled-job check of any other
 * worker moves the job back to waiting, and whoever takes it continues the run from its last epoch
 * checkpoint (the `--resume` logic: seeds depend on (run seed, phase, epoch), so the numbers equal
 * an uninterrupted run's). A job that throws is retried `attempts` times (set when enqueued), the
 * run showing 'pending' with the error in between, then recorded as 'failed' with its error.
 * `stop()` (SIGINT/SIGTERM) ends the current step, puts the job back in the queue (its last
 * finished epoch is checkpointed) and closes the worker.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { DelayedError, Queue, UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import type { ExperimentConfig } from '@mrlseg/types';
import { loadSplit, type Split } from '@mrlseg/data';
import type { ResultsStore } from '../store/store';
import { applyVariant } from '../config/variants';
import { canonicalJson } from '../config/load-config';
import { packageVersions } from '../config/provenance';
import { executeRun, loadSlices, sharedPretrain, type RunContext, type RunOutcome } from '../pipeline/experiment';
import { RunInterrupted, type RunPhases } from '../pipeline/train-run';
import type { ProgressListener } from '../pipeline/events';
import { buildReport, renderReport } from '../report/build-report';
import { checkQueueReachable, connectionOptions, parseQueueUrl } from './connection';
import { GRID_QUEUE, type GridJobData } from './grid';

export interface GridWorkerOptions {
  /** `redis://host:port[/db]`. */
  queue: string;
  store: ResultsStore;
  /** TensorFlow.js backend in use (recorded with every run). */
  backend: string;
  /** Jobs run at once in this process (default 1). */
  concurrency?: number;
  /**
   * How long a job's lock lasts without renewal (ms, default 60 000): a dead worker's job goes back
   * to the queue within about 2x this. It must exceed the longest training step.
   */
  lockMs?: number;
  /** How often a run waiting for its shared pre-training looks again (ms, default 2000). */
  pollMs?: number;
  /** Write per-case PNGs (default true). */
  writePngs?: boolean;
  /** How long `stop()` waits for Redis to take the active jobs back (ms, default 15 000). */
  closeTimeoutMs?: number;
  /** One line per job event (started, epoch, finished, retried). */
  log?: (line: string) => void;
  /** The pipeline's progress events of the jobs this worker runs. */
  onProgress?: ProgressListener;
}

export interface GridWorker {
  /** `host:pid`, recorded by BullMQ on each job it processes. */
  readonly name: string;
  /** Stops after the current training step, requeues the active jobs, closes the connections. */
  stop(): Promise<void>;
}

const ALL_PHASES: RunPhases = { pretrain: true, rl: true, eval: true };
const PRETRAIN_ONLY: RunPhases = { pretrain: true, rl: false, eval: false };

/** Experiment data a worker keeps between jobs (one dataset at a time). */
interface Loaded {
  key: string;
  data: Awaited<ReturnType<typeof loadSlices>>;
}

/** Starts a worker on the grid queue (see the module comment). Fails fast when Redis is unreachable. */
export async function startGridWorker(opts: GridWorkerOptions): Promise<GridWorker> {
  const concurrency = opts.concurrency ?? 1;
  const lockMs = opts.lockMs ?? 60_000;
  const pollMs = opts.pollMs ?? 2000;
  const closeTimeoutMs = opts.closeTimeoutMs ?? 15_000;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`startGridWorker: concurrency must be an integer >= 1, got ${concurrency}`);
  if (!Number.isFinite(lockMs) || lockMs < 1000) throw new Error(`startGridWorker: lockMs must be >= 1000, got ${lockMs}`);
  const target = parseQueueUrl(opts.queue);
  await checkQueueReachable(target);
  const { store } = opts;
  const log = opts.log ?? (() => {});
  const name = `${hostname()}:${process.pid}`;
  const connection = connectionOptions(target);
  const queue = new Queue(GRID_QUEUE, { connection });
  const abort = new AbortController();
  const versions = packageVersions();
  /** Jobs whose lock renewal failed: another worker may hold them now, so this one stops and writes nothing more about them. */
  const lockLost = new Set<string>();
  let loaded: Loaded | null = null;
  const splits = new Map<string, Split | null>();

  const contextFor = async (experimentId: string): Promise<RunContext> => {
    const exp = await store.getExperiment(experimentId);
    if (!exp) throw new UnrecoverableError(`experiment ${experimentId} is not in the results store ${store.location}: start the worker with the --store the grid was enqueued with`);
    const config = exp.config as ExperimentConfig;
    const key = canonicalJson({ dataset: config.dataset, preprocessing: config.preprocessing });
    if (loaded?.key !== key) {
      loaded = null; // free the previous dataset before loading the next
      loaded = { key, data: await loadSlices(config, opts.onProgress) };
    }
    if (!splits.has(experimentId)) {
      const file = join(store.runDir(experimentId), 'split.json');
      if (config.folds.k > 0 && !existsSync(file)) throw new UnrecoverableError(`experiment ${experimentId}: its split (${file}) is missing`);
      splits.set(experimentId, config.folds.k > 0 ? await loadSplit(file) : null);
    }
    return { store, config, experimentId, refs: loaded.data.refs, slices: loaded.data.slices, split: splits.get(experimentId)!, backend: opts.backend, gitCommit: exp.gitCommit, packageVersions: versions };
  };

  /** Pipeline events of one job: logged, and the current epoch as the job's progress. */
  const progressFor = (job: Job): ProgressListener => (e) => {
    opts.onProgress?.(e);
    if (e.type === 'epoch') {
      log(`${job.id}: ${e.phase} epoch ${e.epoch + 1}/${e.epochs}${e.loss === null ? '' : ` loss ${e.loss.toFixed(4)}`}`);
      job.updateProgress({ phase: e.phase, epoch: e.epoch + 1, epochs: e.epochs }).catch(() => {});
    }
  };

  /**
   * Runs `fn` for a job that trains `runId` and maps what happens onto the queue and the store: an
   * interruption puts the job back in the queue; a failure (thrown, or a 'failed' outcome) is
   * rethrown for BullMQ to retry, the run 'pending' with the error until the last attempt, then 'failed'.
   */
  const training = async (job: Job, token: string | undefined, runId: string, fn: () => Promise<RunOutcome>): Promise<RunOutcome> => {
    try {
      const out = await fn();
      if (out.status === 'failed') throw new Error(out.error ?? `run ${runId} failed`);
      return out;
    } catch (e) {
      if (e instanceof RunInterrupted && lockLost.has(String(job.id))) {
        log(`${job.id}: lock lost (a training step outlasted --lock-ms?); left to the worker the queue hands it to`);
        // BullMQ leaves a job alone after a DelayedError: the stalled-job check requeues it, no attempt counted.
        throw new DelayedError(e.message);
      }
      if (e instanceof RunInterrupted) {
        await store.requeueRun(runId, `worker ${name} stopped; the run continues from its last epoch checkpoint on the next worker`);
        await job.moveToWait(token);
        log(`${job.id}: stopped, back in the queue`);
        throw new WaitingError();
      }
      const msg = e instanceof Error ? e.message : String(e);
      const tries = job.opts.attempts ?? 1;
      const final = e instanceof UnrecoverableError || job.attemptsMade + 1 >= tries;
      if (final) {
        if (await store.getRun(runId)) await store.finishRun(runId, { status: 'failed', error: tries > 1 ? `${msg} (failed ${job.attemptsMade + 1} of ${tries} attempts)` : msg });
        log(`${job.id}: failed for good: ${msg}`);
      } else {
        await store.requeueRun(runId, `attempt ${job.attemptsMade + 1} of ${tries} failed: ${msg}; retrying`);
        log(`${job.id}: attempt ${job.attemptsMade + 1} of ${tries} failed: ${msg}; retrying`);
      }
      throw e;
    }
  };

  const processPretrain = async (job: Job, token: string | undefined, signal: AbortSignal, d: Extract<GridJobData, { kind: 'pretrain' }>) => {
    const ctx = await contextFor(d.experimentId);
    const runConfig = applyVariant({ ...ctx.config, seed: d.plan.seed, seeds: undefined }, d.plan.variant);
    const shared = sharedPretrain(store, d.experimentId, runConfig, d.plan.fold);
    if (!existsSync(shared.dir)) {
      log(`${job.id}: pre-training run ${d.leadRunId} for ${d.dependents.length} runs (attempt ${job.attemptsMade + 1})`);
      await training(job, token, d.leadRunId, () =>
        executeRun(ctx, d.plan, { phases: PRETRAIN_ONLY, signal, onProgress: progressFor(job), writePngs: opts.writePngs, index: 0, total: 1, takeover: true }),
      );
    }
    // The dependents wait for this file (written after the checkpoint folder), so a crash between the two is repaired here.
    if (!existsSync(shared.sourceFile)) writeFileSync(shared.sourceFile, d.leadRunId);
    await store.requeueRun(d.leadRunId, null);
    log(`${job.id}: shared pre-training ready`);
    return { sharedWith: d.dependents };
  };

  const processRun = async (job: Job, token: string | undefined, signal: AbortSignal, d: Extract<GridJobData, { kind: 'run' }>) => {
    const ctx = await contextFor(d.experimentId);
    if (d.pretrainJobId) {
      const runConfig = applyVariant({ ...ctx.config, seed: d.plan.seed, seeds: undefined }, d.plan.variant);
      const shared = sharedPretrain(store, d.experimentId, runConfig, d.plan.fold);
      if (!existsSync(shared.sourceFile)) {
        const pre = await queue.getJob(d.pretrainJobId);
        if (pre && (await pre.getState()) === 'failed') {
          const why = `its shared pre-training (job ${d.pretrainJobId}) failed: ${pre.failedReason}`;
          await training(job, token, d.runId, () => Promise.reject(new UnrecoverableError(why)));
        }
        await job.moveToDelayed(Date.now() + pollMs, token);
        throw new DelayedError();
      }
    }
    log(`${job.id}: started (attempt ${job.attemptsMade + 1} of ${job.opts.attempts ?? 1})`);
    const out = await training(job, token, d.runId, () =>
      executeRun(ctx, d.plan, { phases: ALL_PHASES, signal, onProgress: progressFor(job), writePngs: opts.writePngs, index: d.index, total: d.total, takeover: true }),
    );
    log(`${job.id}: ${out.status}${out.meanDice === null ? '' : ` (mean Dice ${out.meanDice.toFixed(4)})`}`);
    return { status: out.status, meanDice: out.meanDice, cases: out.cases };
  };

  const processReport = async (job: Job, d: Extract<GridJobData, { kind: 'report' }>) => {
    // A job the queue failed by itself (stalled too often: its workers kept dying) never reached a
    // processor that could record it: record those runs as failed with the queue's reason.
    for (const r of await store.listRuns({ experimentId: d.experimentId })) {
      if (r.status === 'completed' || r.status === 'failed') continue;
      const j = await queue.getJob(r.id);
      if (j && (await j.getState()) === 'failed') await store.finishRun(r.id, { status: 'failed', error: j.failedReason || 'the job failed' });
    }
    const runs = await store.listRuns({ experimentId: d.experimentId });
    const counts = { completed: runs.filter((r) => r.status === 'completed').length, failed: runs.filter((r) => r.status === 'failed').length, runs: runs.length };
    const dir = store.runDir(d.experimentId);
    if (counts.completed > 0) {
      const report = await buildReport(store, { experimentId: d.experimentId });
      writeFileSync(join(dir, 'report.md'), renderReport(report, 'md'));
      writeFileSync(join(dir, 'report.json'), renderReport(report, 'json'));
    }
    log(`${job.id}: ${counts.completed} of ${counts.runs} runs completed, ${counts.failed} failed${counts.completed ? `; report in ${join(dir, 'report.md')}` : ''}`);
    return counts;
  };

  const worker = new Worker(
    GRID_QUEUE,
    async (job: Job, token?: string, jobSignal?: AbortSignal) => {
      const d = job.data as GridJobData;
      lockLost.delete(String(job.id));
      const signal = jobSignal ? AbortSignal.any([abort.signal, jobSignal]) : abort.signal;
      if (d.kind === 'pretrain') return processPretrain(job, token, signal, d);
      if (d.kind === 'run') return processRun(job, token, signal, d);
      if (d.kind === 'report') return processReport(job, d);
      throw new UnrecoverableError(`job ${job.id}: unknown kind '${String((d as { kind?: unknown }).kind)}'`);
    },
    {
      connection,
      concurrency,
      name,
      lockDuration: lockMs,
      // Renew every quarter of the lock's life, so a training step may block the event loop for up to
      // about three quarters of it; a job found without its lock 5 times (dead workers or steps longer
      // than the lock) is failed rather than handed on for ever.
      lockRenewTime: lockMs / 4,
      stalledInterval: Math.min(30_000, lockMs),
      maxStalledCount: 5,
      autorun: true,
    },
  );
  let lastError = '';
  const onError = (e: Error) => {
    // Connection errors repeat while Redis is away (ioredis reconnects by itself): log each kind once.
    if (e.message !== lastError) log(`queue: ${e.message}`);
    lastError = e.message;
  };
  worker.on('error', onError);
  queue.on('error', onError);
  worker.on('stalled', (id) => log(`${id}: stalled (its worker stopped renewing the lock); back in the queue`));
  worker.on('lockRenewalFailed', (ids) => {
    for (const id of ids) {
      lockLost.add(id);
      worker.cancelJob(id, 'lock lost');
    }
  });
  worker.on('ready', () => {
    if (lastError) log('queue: connected');
    lastError = '';
  });
  await worker.waitUntilReady();

  let stopping: Promise<void> | null = null;
  return {
    name,
    stop() {
      stopping ??= (async () => {
        abort.abort();
        // Handing the job back needs Redis; when it is away, give up after a while: the stalled-job
        // check of another worker requeues the job once its lock expires.
        let timer: NodeJS.Timeout | undefined;
        const gaveUp = new Promise<boolean>((res) => (timer = setTimeout(() => res(true), closeTimeoutMs)));
        const closed = (async () => {
          await worker.close();
          await queue.close();
          return false;
        })();
        if (await Promise.race([closed, gaveUp])) {
          log(`queue: not reachable while stopping; exiting without handing the active job back (another worker takes it once its lock expires)`);
          void worker.close(true).catch(() => {});
          queue.disconnect().catch(() => {});
        }
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}
