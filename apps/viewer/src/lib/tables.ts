/**
 * The paper's tables computed live from the per-case records the API serves: Dice (%) and HD
 * per fbRatio interval as mean±std over the cases of each variant (Tables I-IV), asterisks where
 * a paired Student's t-test against the reference method gives p < 0.05, the best value per column
 * in bold, and the ablation table (Table V). Table building, statistics and rendering are
 * @mrlseg/metrics' (buildComparisonTable, renderTable); this module only groups runs into rows.
 */
import { buildComparisonTable, type IntervalSpec, type ResultTable, type TableCase, type TableCell } from '@mrlseg/metrics';
import { VARIANT_LABELS, type CaseMetricRecord, type RunRecord, type VariantId } from '@mrlseg/types';

export type { TableCell };
export type TableMetric = 'dice' | 'hd';

export const METRIC_INFO: Record<TableMetric, { title: string; scale: number; best: 'max' | 'min' }> = {
  dice: { title: 'Dice (%) at various foreground-background ratios', scale: 100, best: 'max' },
  hd: { title: 'HD (px) at various foreground-background ratios', scale: 1, best: 'min' },
};

/** The reference ("Ours") of the paper's tables: the full MRL-Seg variant. */
export const REFERENCE_VARIANT: VariantId = 'rl-fb-adp-seg';

export interface RunCases {
  run: RunRecord;
  cases: CaseMetricRecord[];
}

export interface IntervalTable {
  metric: TableMetric;
  table: ResultTable;
  /** row key (variant id or run id) per row of `table`, same order */
  keys: string[];
  /** runs pooled in each row */
  runs: number[];
}

/** How runs become table rows: by variant (paper tables) or one row per run (comparison). */
export interface Grouping {
  key: (run: RunRecord) => string;
  label: (key: string) => string;
  reference?: string | null;
  /** id pairing a case across rows */
  pair: (run: RunRecord, c: CaseMetricRecord) => string;
}

export const BY_VARIANT: Grouping = {
  key: (run) => run.variant,
  label: (v) => variantLabel(v),
  reference: REFERENCE_VARIANT,
  pair: (run, c) => `${run.fold}|${run.seed}|${c.caseId}`,
};

/** The interval spec of a run's experiment config (dataset.intervals), 'ct' when absent. */
export function intervalSpecOf(run: RunRecord | undefined): IntervalSpec {
  const iv = (run?.config as { dataset?: { intervals?: unknown } } | undefined)?.dataset?.intervals;
  if (iv === 'ct' || iv === 'busi') return iv;
  if (Array.isArray(iv) && iv.length >= 2 && iv.every((e) => typeof e === 'number')) return iv as number[];
  return 'ct';
}

export function variantLabel(variant: string): string {
  return (VARIANT_LABELS as Record<string, string>)[variant] ?? variant;
}

/**
 * Dice (in %) or HD (px) per fbRatio interval, one row per group of runs (cases pooled over their
 * folds and seeds). Paired tables need the same cases in every row: cases missing from some row
 * are left out of all rows, and a note says how many.
 */
export function buildIntervalTable(data: RunCases[], metric: TableMetric, spec: IntervalSpec, group: Grouping = BY_VARIANT): IntervalTable {
  const info = METRIC_INFO[metric];
  const rows = new Map<string, { runs: number; cases: Map<string, TableCase> }>();
  for (const d of data) {
    const k = group.key(d.run);
    if (!rows.has(k)) rows.set(k, { runs: 0, cases: new Map() });
    const row = rows.get(k)!;
    row.runs++;
    for (const c of d.cases) row.cases.set(group.pair(d.run, c), { caseId: group.pair(d.run, c), fbRatio: c.fbRatio, value: c[metric] });
  }
  const keys = [...rows.keys()];
  const all = [...rows.values()];
  const common = all.length === 0 ? new Set<string>() : new Set([...all[0].cases.keys()].filter((id) => all.every((r) => r.cases.has(id))));
  const union = new Set(all.flatMap((r) => [...r.cases.keys()]));
  const reference = group.reference && keys.includes(group.reference) ? group.label(group.reference) : undefined;
  const table = buildComparisonTable(
    keys.map((k) => ({ label: group.label(k), cases: [...rows.get(k)!.cases.values()].filter((c) => common.has(c.caseId)) })),
    { intervals: spec, reference, scale: info.scale, best: info.best, title: info.title },
  );
  if (union.size > common.size) table.notes.push(`${union.size - common.size} case(s) not evaluated by every row are left out (paired comparison).`);
  return { metric, table, keys, runs: keys.map((k) => rows.get(k)!.runs) };
}

/** The table with its rows sorted by a column's mean (nulls last); col -1 sorts by row label. */
export function sortTable(t: ResultTable, col: number, dir: 'asc' | 'desc'): ResultTable {
  const sign = dir === 'asc' ? 1 : -1;
  const rows = [...t.rows].sort((a, b) => {
    if (col < 0) return sign * a.label.localeCompare(b.label);
    const x = a.cells[col]?.mean ?? null;
    const y = b.cells[col]?.mean ?? null;
    if (x === null && y === null) return 0;
    if (x === null) return 1;
    if (y === null) return -1;
    return sign * (x - y);
  });
  return { ...t, rows };
}

export interface AblationFlags {
  withoutPretraining: boolean;
  seg: boolean;
  rl: boolean;
  adp: boolean;
  fb: boolean;
}

const RL_VARIANTS = new Set(['rl-seg', 'rl-fb-seg', 'rl-fb-adp-seg', 'rl-seg-nopretrain']);

/**
 * Table V's component columns for a run: read from its config (rl.useFb, rl.useAdp, rl.pretrain)
 * when the variant uses RL, else from the variant id alone.
 */
export function ablationFlags(run: RunRecord): AblationFlags {
  const rlVariant = RL_VARIANTS.has(run.variant);
  const rl = (run.config as { rl?: { useFb?: unknown; useAdp?: unknown; pretrain?: unknown } } | undefined)?.rl;
  const flag = (v: unknown, fallback: boolean) => (typeof v === 'boolean' ? v : fallback);
  return {
    seg: true,
    rl: rlVariant,
    withoutPretraining: rlVariant && !flag(rl?.pretrain, run.variant !== 'rl-seg-nopretrain'),
    adp: rlVariant && flag(rl?.useAdp, run.variant === 'rl-fb-adp-seg'),
    fb: rlVariant && flag(rl?.useFb, run.variant === 'rl-fb-seg' || run.variant === 'rl-fb-adp-seg'),
  };
}

export interface AblationRow {
  variant: string;
  label: string;
  flags: AblationFlags;
  dice: TableCell;
  hd: TableCell;
}

/** Table V: the ablation variants present (paper order), their components and mean Dice / HD (the Avg column). */
export function buildAblationTable(data: RunCases[], spec: IntervalSpec, ablationVariants: readonly string[]): AblationRow[] {
  const subset = data.filter((d) => ablationVariants.includes(d.run.variant));
  if (subset.length === 0) return [];
  const dice = buildIntervalTable(subset, 'dice', spec).table;
  const hd = buildIntervalTable(subset, 'hd', spec).table;
  const avg = dice.columns.length - 1;
  return ablationVariants.flatMap((v) => {
    const label = variantLabel(v);
    const d = dice.rows.find((r) => r.label === label);
    const h = hd.rows.find((r) => r.label === label);
    const run = subset.find((x) => x.run.variant === v)?.run;
    if (!d || !h || !run) return [];
    return [{ variant: v, label, flags: ablationFlags(run), dice: d.cells[avg], hd: h.cells[avg] }];
  });
}
