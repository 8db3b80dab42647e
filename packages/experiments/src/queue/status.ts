/** `mrlseg queue status`: the grid queue's jobs per experiment (waiting / active / completed / failed). */
import { Queue, type Job } from 'bullmq';
import { checkQueueReachable, connectionOptions, parseQueueUrl } from './connection';
import { GRID_QUEUE, type GridJobData } from './grid';

export interface ActiveJob {
  id: string;
  kind: GridJobData['kind'];
  /** `host:pid` of the worker holding it. */
  worker: string | null;
  /** The epoch it is in, when it trains. */
  progress: { phase: string; epoch: number; epochs: number } | null;
  attempt: number;
}

export interface FailedJob {
  id: string;
  kind: GridJobData['kind'];
  reason: string;
  attempts: number;
}

export interface ExperimentQueueStatus {
  experimentId: string;
  /** Not started yet: waiting, waiting for a shared pre-training (delayed) or, for the report, for the runs. */
  waiting: number;
  active: number;
  completed: number;
  failed: number;
  activeJobs: ActiveJob[];
  failedJobs: FailedJob[];
}

export interface QueueStatus {
  queue: string;
  /** Workers connected to the queue (their `host:pid` names). */
  workers: string[];
  experiments: ExperimentQueueStatus[];
}

const WAITING = ['waiting', 'prioritized', 'delayed', 'waiting-children'] as const;

/** Reads every job of the grid queue and counts them per experiment. */
export async function queueStatus(url: string): Promise<QueueStatus> {
  const target = parseQueueUrl(url);
  await checkQueueReachable(target);
  const queue = new Queue(GRID_QUEUE, { connection: connectionOptions(target) });
  try {
    const byExp = new Map<string, ExperimentQueueStatus>();
    const entry = (job: Job) => {
      const id = (job.data as GridJobData).experimentId ?? '(unknown)';
      let e = byExp.get(id);
      if (!e) byExp.set(id, (e = { experimentId: id, waiting: 0, active: 0, completed: 0, failed: 0, activeJobs: [], failedJobs: [] }));
      return e;
    };
    for (const job of (await queue.getJobs([...WAITING], 0, -1)) as Job[]) entry(job).waiting++;
    for (const job of (await queue.getJobs(['active'], 0, -1)) as Job[]) {
      const e = entry(job);
      e.active++;
      const p = job.progress as { phase?: string; epoch?: number; epochs?: number } | number;
      e.activeJobs.push({
        id: String(job.id),
        kind: (job.data as GridJobData).kind,
        worker: job.processedBy ?? null,
        progress: typeof p === 'object' && p && typeof p.phase === 'string' ? { phase: p.phase, epoch: Number(p.epoch), epochs: Number(p.epochs) } : null,
        attempt: job.attemptsMade + 1,
      });
    }
    for (const job of (await queue.getJobs(['completed'], 0, -1)) as Job[]) entry(job).completed++;
    for (const job of (await queue.getJobs(['failed'], 0, -1)) as Job[]) {
      const e = entry(job);
      e.failed++;
      e.failedJobs.push({ id: String(job.id), kind: (job.data as GridJobData).kind, reason: job.failedReason, attempts: job.attemptsMade });
    }
    const workers = (await queue.getWorkers()).map((w) => String(w.name ?? w.id ?? '?'));
    return { queue: target.display, workers, experiments: [...byExp.values()].sort((a, b) => a.experimentId.localeCompare(b.experimentId)) };
  } finally {
    await queue.close();
  }
}

/** A text table of {@link queueStatus}'s result. */
export function renderQueueStatus(s: QueueStatus): string {
  const lines = [`queue ${s.queue}: ${s.workers.length} worker(s)${s.workers.length ? ` (${s.workers.join(', ')})` : ''}`];
  if (!s.experiments.length) return [...lines, 'no jobs'].join('\n');
  const w = Math.max(10, ...s.experiments.map((e) => e.experimentId.length));
  lines.push(`${'experiment'.padEnd(w)}  waiting  active  completed  failed`);
  for (const e of s.experiments) {
    lines.push(`${e.experimentId.padEnd(w)}  ${String(e.waiting).padStart(7)}  ${String(e.active).padStart(6)}  ${String(e.completed).padStart(9)}  ${String(e.failed).padStart(6)}`);
    for (const a of e.activeJobs) {
      const at = a.progress ? `, ${a.progress.phase} epoch ${a.progress.epoch}/${a.progress.epochs}` : '';
      lines.push(`  active  ${a.id} on ${a.worker ?? '?'} (attempt ${a.attempt}${at})`);
    }
    for (const f of e.failedJobs) lines.push(`  failed  ${f.id} after ${f.attempts} attempt(s): ${f.reason}`);
  }
  return lines.join('\n');
}
