/**
 * An experiment as queue jobs (`mrlseg cv --queue`): one job per (variant, fold, seed) run, one
 * job per shared pre-training (runs whose pre-training is identical: OnlySeg and the RL variants
 * of a fold and seed), and a report job that runs once every other job of the experiment has
 * finished. Job ids are derived from the config, so enqueueing the same grid twice adds nothing.
 * Pure planning: no Redis, no store.
 */
import type { ExperimentConfig } from '@mrlseg/types';
import { applyVariant, variantSpec } from '../config/variants';
import { configHash, planRuns, runId, slug, type RunPlan } from '../config/load-config';
import { pretrainKey } from '../pipeline/experiment';

/** BullMQ queue that holds every experiment's jobs. */
export const GRID_QUEUE = 'mrlseg-grid';

export type GridJobData =
  /** Pre-trains `leadRunId` only (its shared pre-training); the runs listed in `dependents` wait for it. */
  | { kind: 'pretrain'; experimentId: string; leadRunId: string; plan: RunPlan; dependents: string[] }
  /** One run, all phases; waits for `pretrainJobId` when it shares a pre-training. */
  | { kind: 'run'; experimentId: string; runId: string; plan: RunPlan; index: number; total: number; pretrainJobId: string | null }
  /** The experiment's report, once its runs have finished (completed or failed for good). */
  | { kind: 'report'; experimentId: string };

export interface GridJob<K extends GridJobData['kind']> {
  id: string;
  data: Extract<GridJobData, { kind: K }>;
}

export interface GridPlan {
  experimentId: string;
  pretrain: GridJob<'pretrain'>[];
  runs: GridJob<'run'>[];
  report: GridJob<'report'>;
}

/**
 * Experiment id of a queued grid: `<slug of the name>-<config hash>`, the same for the same config
 * (enqueueing again targets the same experiment and the same job ids).
 */
export function gridExperimentId(config: ExperimentConfig): string {
  return `${slug(config.name)}-${configHash(config)}`;
}

/** Plans the jobs of an experiment (see the module comment); `experimentId` defaults to {@link gridExperimentId}. */
export function planGrid(config: ExperimentConfig, experimentId: string = gridExperimentId(config)): GridPlan {
  const plans = planRuns(config);
  for (const p of plans) variantSpec(p.variant);
  const groups = new Map<string, RunPlan[]>();
  for (const p of plans) {
    const key = pretrainKey(applyVariant({ ...config, seed: p.seed, seeds: undefined }, p.variant), p.fold);
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  const pretrain: GridJob<'pretrain'>[] = [];
  const pretrainOf = new Map<string, string>();
  if (config.training.epochs > 0) {
    for (const [key, members] of groups) {
      if (members.length < 2) continue; // nothing to share: the run pre-trains itself
      const lead = members[0];
      const id = `${experimentId}-pretrain-f${lead.fold < 0 ? 'all' : lead.fold}-s${lead.seed}-${key.replace(/^pre-/, '').slice(0, 8)}`;
      const dependents = members.map((m) => runId(experimentId, m));
      pretrain.push({ id, data: { kind: 'pretrain', experimentId, leadRunId: dependents[0], plan: lead, dependents } });
      for (const d of dependents) pretrainOf.set(d, id);
    }
  }
  const runs = plans.map((plan, index): GridJob<'run'> => {
    const id = runId(experimentId, plan);
    return { id, data: { kind: 'run', experimentId, runId: id, plan, index, total: plans.length, pretrainJobId: pretrainOf.get(id) ?? null } };
  });
  return { experimentId, pretrain, runs, report: { id: `${experimentId}-report`, data: { kind: 'report', experimentId } } };
}
