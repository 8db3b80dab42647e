/**
 * Which runs the viewer leads with: the most recent experiment, its best run (highest mean Dice)
 * and the runs table's order (experiments newest first, then by the chosen result column).
 */
import type { ExperimentRecord, RunRecord } from '@mrlseg/types';

export const RUN_SORT_KEYS = ['dice', 'hd', 'masked', 'variant', 'started'] as const;
export type RunSortKey = (typeof RUN_SORT_KEYS)[number];
export interface RunSort {
  key: RunSortKey;
  order: 'asc' | 'desc';
}
/** Best first: the highest mean Dice on top. */
export const DEFAULT_RUN_SORT: RunSort = { key: 'dice', order: 'desc' };
/** The direction a column sorts in when first clicked: the better value first. */
export const FIRST_ORDER: Record<RunSortKey, 'asc' | 'desc'> = { dice: 'desc', hd: 'asc', masked: 'desc', variant: 'asc', started: 'desc' };

/** The experiment created last (ties: the later in the list), or undefined when there is none. */
export function latestExperiment(experiments: readonly ExperimentRecord[]): ExperimentRecord | undefined {
  let best: ExperimentRecord | undefined;
  for (const e of experiments) if (!best || e.createdAt >= best.createdAt) best = e;
  return best;
}

function sortValue(r: RunRecord, key: RunSortKey): number | string | null {
  switch (key) {
    case 'dice':
      return r.summary?.meanDice ?? null;
    case 'hd':
      return r.summary?.meanHd ?? null;
    case 'masked':
      return r.summary?.maskedFraction ?? null;
    case 'variant':
      return r.variant;
    case 'started':
      return r.startedAt;
  }
}

/** Compares two runs by `sort`; runs without the value (null) come last in both directions. */
export function compareRuns(a: RunRecord, b: RunRecord, sort: RunSort): number {
  const va = sortValue(a, sort.key);
  const vb = sortValue(b, sort.key);
  if (va === null || vb === null) return va === vb ? 0 : va === null ? 1 : -1;
  const c = typeof va === 'number' && typeof vb === 'number' ? va - vb : String(va).localeCompare(String(vb));
  return sort.order === 'asc' ? c : -c;
}

/**
 * The runs table's rows: grouped by experiment, the most recent experiment first, and within an
 * experiment ordered by `sort` (ties keep the store's order, by start time).
 */
export function orderRuns(runs: readonly RunRecord[], experiments: readonly ExperimentRecord[], sort: RunSort = DEFAULT_RUN_SORT): RunRecord[] {
  const created = new Map(experiments.map((e) => [e.id, e.createdAt]));
  const idx = new Map(runs.map((r, i) => [r.id, i]));
  return [...runs].sort((a, b) => {
    if (a.experimentId !== b.experimentId) {
      const ca = created.get(a.experimentId) ?? '';
      const cb = created.get(b.experimentId) ?? '';
      return ca === cb ? a.experimentId.localeCompare(b.experimentId) : ca < cb ? 1 : -1;
    }
    return compareRuns(a, b, sort) || idx.get(a.id)! - idx.get(b.id)!;
  });
}

/** The run with the highest mean Dice (the first such in the store's order); runs without one only when no run has it. */
export function bestRun(runs: readonly RunRecord[]): RunRecord | undefined {
  return orderRuns(runs, [], DEFAULT_RUN_SORT)[0];
}

/**
 * The states a run's validation-based selection weighed, one line each: validation Dice, and for an
 * agent state the share of the validation lesion pixels its greedy policy masked, marked when
 * training.selectMaxLesionMasked ruled it out.
 */
export function selectionStates(selection: NonNullable<RunRecord['selection']>): string {
  const pct = (v: number | null | undefined) => (v == null ? 'n/a' : `${(100 * v).toFixed(1)} %`);
  const max = selection.maxLesionMasked;
  return Object.entries(selection.valDice)
    .map(([tag, dice]) => {
      const lesion = selection.lesionMasked?.[tag];
      if (lesion == null) return `${tag} ${pct(dice)}`;
      const ruledOut = max !== undefined && lesion > max;
      return `${tag} ${pct(dice)} (masks ${pct(lesion)} of the lesion pixels${ruledOut ? `: above ${pct(max)}, ruled out` : ''})`;
    })
    .join(', ');
}
