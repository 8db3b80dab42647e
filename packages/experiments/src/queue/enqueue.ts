/**
 * Enqueueing a grid (`mrlseg cv --queue`): the experiment and its runs are recorded in the store
 * (runs as 'pending', so the viewer lists them before any worker starts), the patient-level split
 * is saved with the experiment, and the jobs go to Redis as one BullMQ flow: the report job is the
 * parent of every run and pre-training job, so it runs when they have all finished. A child that
 * fails for good does not block the report (BullMQ's ignoreDependencyOnFailure).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { FlowProducer, Queue } from 'bullmq';
import type { EnqueueResult, ExperimentConfig } from '@mrlseg/types';
import { openDataset } from '@mrlseg/data';
import type { ResultsStore } from '../store/store';
import { applyVariant } from '../config/variants';
import { configHash } from '../config/load-config';
import { gitCommit, packageVersions } from '../config/provenance';
import { defaultAuthor, describeDataset, splitFor } from '../pipeline/experiment';
import { checkQueueReachable, connectionOptions, parseQueueUrl } from './connection';
import { GRID_QUEUE, planGrid, type GridJobData } from './grid';

export interface EnqueueOptions {
  store: ResultsStore;
  /** `redis://host:port[/db]`. */
  queue: string;
  /** Who starts the experiment (default the OS user name). */
  author?: string;
  /** Tries per job before it is recorded as failed (default 3). */
  attempts?: number;
  /** Delay before the first retry, doubled for each further one (ms, default 10 000). */
  retryDelayMs?: number;
  /** Folder of the git repository to record the commit of (default: the working directory). */
  repoDir?: string;
}

/** What was recorded and queued (EnqueueResultSchema in @mrlseg/types; the API answers it). */
export type { EnqueueResult };

/** Records the grid of `config` in the store and adds its jobs to the queue (see the module comment). */
export async function enqueueGrid(config: ExperimentConfig, opts: EnqueueOptions): Promise<EnqueueResult> {
  const attempts = opts.attempts ?? 3;
  const retryDelayMs = opts.retryDelayMs ?? 10_000;
  if (!Number.isInteger(attempts) || attempts < 1) throw new Error(`enqueueGrid: attempts must be an integer >= 1, got ${attempts}`);
  if (!Number.isFinite(retryDelayMs) || retryDelayMs < 0) throw new Error(`enqueueGrid: retryDelayMs must be a number >= 0, got ${retryDelayMs}`);
  const target = parseQueueUrl(opts.queue);
  await checkQueueReachable(target);
  const { store } = opts;
  const grid = planGrid(config);
  const { experimentId } = grid;

  let createdExperiment = false;
  if (!(await store.getExperiment(experimentId))) {
    await store.createExperiment({ id: experimentId, name: config.name, dataset: describeDataset(config), config, configHash: configHash(config), gitCommit: gitCommit(opts.repoDir), author: opts.author ?? defaultAuthor() });
    createdExperiment = true;
  }
  if (config.folds.k > 0 && !existsSync(join(store.runDir(experimentId), 'split.json'))) {
    const { refs } = await openDataset(config.dataset).scan();
    if (refs.length === 0) throw new Error(`dataset ${config.dataset.root ?? config.dataset.format} (format ${config.dataset.format}) has no usable samples`);
    await splitFor(config, refs, store, experimentId);
  }
  const versions = packageVersions();
  const commit = (await store.getExperiment(experimentId))!.gitCommit;
  for (const r of grid.runs) {
    const { plan } = r.data;
    await store.queueRun({
      id: r.id,
      experimentId,
      variant: plan.variant,
      fold: plan.fold,
      seed: plan.seed,
      dataset: describeDataset(config),
      backend: 'queued',
      gitCommit: commit,
      config: applyVariant({ ...config, seed: plan.seed, seeds: undefined }, plan.variant),
      packageVersions: versions,
    });
  }

  const connection = connectionOptions(target);
  const queue = new Queue(GRID_QUEUE, { connection });
  const flows = new FlowProducer({ connection });
  try {
    const addedJobs = (await queue.getJob(grid.report.id)) === undefined;
    if (addedJobs) {
      const child = (id: string, data: GridJobData, priority: number) => ({
        name: data.kind,
        queueName: GRID_QUEUE,
        data,
        opts: { jobId: id, attempts, backoff: { type: 'exponential' as const, delay: retryDelayMs }, ignoreDependencyOnFailure: true, priority },
      });
      await flows.add({
        name: 'report',
        queueName: GRID_QUEUE,
        data: grid.report.data,
        opts: { jobId: grid.report.id, attempts },
        // Pre-training first (priority 1 is taken before 2): the runs that share it wait for it.
        children: [...grid.pretrain.map((j) => child(j.id, j.data, 1)), ...grid.runs.map((j) => child(j.id, j.data, 2))],
      });
    }
    return { experimentId, createdExperiment, runs: grid.runs.length, pretrainJobs: grid.pretrain.length, addedJobs };
  } finally {
    await flows.close();
    await queue.close();
  }
}
