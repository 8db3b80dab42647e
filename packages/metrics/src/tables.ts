/**
 * Result tables in the paper's layout (Tables I-IV): rows are methods (or metrics), columns the
 * fbRatio intervals plus "Avg", cells `mean±std`, an asterisk where a paired test against the
 * reference method gives p < alpha, and optionally the best mean per column marked (bold).
 * One JSON-able structure, rendered as Markdown, CSV, LaTeX or JSON by {@link renderTable}.
 */
import type { ReportFormat } from '@mrlseg/types';
import { isFiniteValue, summarize } from './aggregate';
import { intervalIndex, intervalLabels, resolveIntervalEdges, type IntervalSpec } from './intervals';
import { pairedTTest, wilcoxonSignedRank } from './paired-tests';

/** One case's value for one method; `fbRatio` is the ground truth's (the same for every method). */
export interface TableCase {
  caseId: string;
  fbRatio: number;
  value: number | null;
}

/** A table row: a method (comparison tables) or a metric (summary tables) with its per-case values. */
export interface TableRowInput {
  label: string;
  cases: readonly TableCase[];
}

export interface TableOptions {
  intervals: IntervalSpec;
  /** Label of the row the others are tested against (the paper: "Ours"); none: no tests. */
  reference?: string;
  /** Paired test for the asterisks (default 't', the paper's Student's t-test). */
  test?: 't' | 'wilcoxon';
  /** Significance level (default 0.05). */
  alpha?: number;
  /** Factor applied to displayed means and stds (100 for Dice in %). Default 1. */
  scale?: number;
  /** Decimals shown (default 2). */
  digits?: number;
  /** Mark the best mean per column: 'max' (Dice), 'min' (HD) or 'none' (default). */
  best?: 'max' | 'min' | 'none';
  title?: string;
  /** Header of the row-label column (default 'Method'). */
  rowHeader?: string;
}

export interface TableCell {
  /** Unscaled statistics of the finite values in this column. */
  mean: number | null;
  std: number | null;
  n: number;
  count: number;
  missing: number;
  /** p-value of the paired test against the reference row (null for the reference or when untestable). */
  pValue: number | null;
  /** Complete pairs the test used (0 when untested). */
  pairs: number;
  significant: boolean;
  best: boolean;
  /** Display text without markup, e.g. '61.54±4.63*'. */
  text: string;
}

export interface ResultTable {
  title: string;
  rowHeader: string;
  /** Interval labels then 'Avg'. */
  columns: string[];
  rows: { label: string; cells: TableCell[] }[];
  reference: string | null;
  test: 't' | 'wilcoxon';
  alpha: number;
  /** Explanations: significance marker, missing values per row and column, cases outside the intervals. */
  notes: string[];
}

/**
 * Builds a paper-layout table from per-case values of several rows. Columns: each interval of
 * `intervals` (by the case's fbRatio) and 'Avg' over all cases. With `reference`, every other row's
 * cell gets the paired test (pairs matched by caseId; the rows must hold the same case ids).
 */
export function buildComparisonTable(rows: readonly TableRowInput[], opts: TableOptions): ResultTable {
  const fn = 'buildComparisonTable';
  if (!Array.isArray(rows as unknown) || rows.length === 0) throw new RangeError(`${fn}: rows must be a non-empty array of { label, cases }`);
  const edges = resolveIntervalEdges(opts.intervals);
  const test = opts.test ?? 't';
  if (test !== 't' && test !== 'wilcoxon') throw new RangeError(`${fn}: test must be 't' or 'wilcoxon', got '${String(test)}'`);
  const alpha = opts.alpha ?? 0.05;
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`${fn}: alpha must lie in (0, 1), got ${alpha}`);
  const scale = opts.scale ?? 1;
  if (!(Number.isFinite(scale) && scale > 0)) throw new RangeError(`${fn}: scale must be a finite number > 0, got ${scale}`);
  const digits = opts.digits ?? 2;
  if (!Number.isInteger(digits) || digits < 0 || digits > 10) throw new RangeError(`${fn}: digits must be an integer in [0, 10], got ${digits}`);
  const best = opts.best ?? 'none';
  const labels = rows.map((r) => r.label);
  const dup = labels.find((l, i) => labels.indexOf(l) !== i);
  if (dup !== undefined) throw new RangeError(`${fn}: row labels must be unique, '${dup}' appears twice`);
  const ref = opts.reference ?? null;
  if (ref !== null && !labels.includes(ref)) throw new RangeError(`${fn}: reference '${ref}' is not a row (rows: ${labels.join(', ')})`);

  // Case id -> fbRatio, checked to agree across rows; every row must hold the same case ids.
  const fbOf = new Map<string, number>();
  rows.forEach((r, ri) => {
    if (!Array.isArray(r.cases as unknown)) throw new TypeError(`${fn}: rows[${ri}].cases must be an array of { caseId, fbRatio, value }`);
    const seen = new Set<string>();
    r.cases.forEach((c, ci) => {
      if (typeof c?.caseId !== 'string') throw new TypeError(`${fn}: rows[${ri}] ('${r.label}') cases[${ci}].caseId must be a string`);
      if (seen.has(c.caseId)) throw new RangeError(`${fn}: row '${r.label}' lists case '${c.caseId}' twice`);
      seen.add(c.caseId);
      const prev = fbOf.get(c.caseId);
      if (prev === undefined) fbOf.set(c.caseId, c.fbRatio);
      else if (prev !== c.fbRatio) throw new RangeError(`${fn}: case '${c.caseId}' has fbRatio ${prev} in one row and ${c.fbRatio} in row '${r.label}' (it must be the ground truth's)`);
    });
  });
  for (const r of rows) {
    if (r.cases.length !== fbOf.size) {
      const have = new Set(r.cases.map((c) => c.caseId));
      const missing = [...fbOf.keys()].filter((k) => !have.has(k));
      throw new RangeError(`${fn}: row '${r.label}' lacks ${missing.length} case(s) the other rows have (${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''}); paired tables need the same cases in every row`);
    }
  }

  const cols = [...intervalLabels(edges), 'Avg'];
  const colOf = (fb: number) => intervalIndex(fb, edges);
  const avgCol = cols.length - 1;
  const valuesFor = (r: TableRowInput, col: number): Map<string, number | null> => {
    const m = new Map<string, number | null>();
    for (const c of r.cases) if (col === avgCol || colOf(c.fbRatio) === col) m.set(c.caseId, c.value);
    return m;
  };
  const fmt = (v: number) => (v * scale).toFixed(digits);
  const refRow = ref === null ? null : rows.find((r) => r.label === ref)!;

  const built = rows.map((r) => ({
    label: r.label,
    cells: cols.map((_, col): TableCell => {
      const vals = valuesFor(r, col);
      const s = summarize([...vals.values()]);
      let pValue: number | null = null;
      let pairs = 0;
      if (refRow && refRow !== r) {
        const rv = valuesFor(refRow, col);
        const ids = [...vals.keys()].filter((id) => isFiniteValue(vals.get(id)) && isFiniteValue(rv.get(id)));
        pairs = ids.length;
        if (pairs >= 2) {
          const a = ids.map((id) => vals.get(id)!);
          const b = ids.map((id) => rv.get(id)!);
          pValue = (test === 't' ? pairedTTest(a, b) : wilcoxonSignedRank(a, b)).pValue;
        }
      }
      const significant = pValue !== null && pValue < alpha;
      const text = s.mean === null ? 'n/a' : `${fmt(s.mean)}${s.std === null ? '' : `±${fmt(s.std)}`}${significant ? '*' : ''}`;
      return { mean: s.mean, std: s.std, n: s.n, count: s.count, missing: s.missing, pValue, pairs, significant, best: false, text };
    }),
  }));
  if (best !== 'none') {
    cols.forEach((_, col) => {
      const means = built.map((r) => r.cells[col].mean).filter(isFiniteValue).map((m) => Number(fmt(m)));
      if (means.length === 0) return;
      const target = best === 'max' ? Math.max(...means) : Math.min(...means);
      for (const r of built) {
        const m = r.cells[col].mean;
        if (m !== null && Number(fmt(m)) === target) r.cells[col].best = true;
      }
    });
  }

  const notes: string[] = [];
  if (ref !== null) notes.push(`*: p < ${alpha} in a paired ${test === 't' ? "Student's t-test" : 'Wilcoxon signed-rank test'} against ${ref} (cases matched by id).`);
  const outside = [...fbOf.values()].filter((fb) => colOf(fb) < 0).length;
  if (outside > 0) notes.push(`${outside} case(s) have an fbRatio outside ${edges[0]}-${edges[edges.length - 1]}%: counted in Avg only.`);
  for (const r of built) {
    const miss = r.cells.map((c, i) => (c.missing > 0 ? `${cols[i]}: ${c.missing}` : '')).filter(Boolean);
    if (miss.length > 0) notes.push(`${r.label}: undefined values (empty mask) excluded from mean±std (${miss.join(', ')}).`);
  }
  return { title: opts.title ?? '', rowHeader: opts.rowHeader ?? 'Method', columns: cols, rows: built, reference: ref, test, alpha, notes };
}

export type TableFormat = ReportFormat;

const csvField = (s: string) => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
const mdEscape = (s: string) => s.replace(/\|/g, '\\|');
const texEscape = (s: string) =>
  s.replace(/[\\&%$#_{}~^]/g, (c) => ({ '\\': '\\textbackslash{}', '~': '\\textasciitilde{}', '^': '\\textasciicircum{}' })[c] ?? `\\${c}`);

/** Renders `table` as Markdown ('md'), CSV ('csv'), LaTeX tabular ('latex') or JSON ('json'). */
export function renderTable(table: ResultTable, format: TableFormat): string {
  if (!table || !Array.isArray(table.rows) || !Array.isArray(table.columns)) throw new TypeError('renderTable: table must come from buildComparisonTable');
  switch (format) {
    case 'json':
      return JSON.stringify(table, null, 2);
    case 'csv': {
      const lines = [[table.rowHeader, ...table.columns].map(csvField).join(',')];
      for (const r of table.rows) lines.push([r.label, ...r.cells.map((c) => c.text)].map(csvField).join(','));
      return lines.join('\n') + '\n';
    }
    case 'md': {
      const lines: string[] = [];
      if (table.title) lines.push(`**${mdEscape(table.title)}**`, '');
      lines.push(`| ${[table.rowHeader, ...table.columns].map(mdEscape).join(' | ')} |`);
      lines.push(`|${['---', ...table.columns.map(() => '---:')].join('|')}|`);
      for (const r of table.rows) lines.push(`| ${[mdEscape(r.label), ...r.cells.map((c) => (c.best ? `**${c.text}**` : c.text))].join(' | ')} |`);
      if (table.notes.length > 0) lines.push('', ...table.notes.map(mdEscape));
      return lines.join('\n') + '\n';
    }
    case 'latex': {
      const cell = (c: TableCell) => {
        const t = c.text.replace('±', '$\\pm$');
        return c.best ? `\\textbf{${t}}` : t;
      };
      const lines = [`\\begin{tabular}{l${'c'.repeat(table.columns.length)}}`, '\\hline'];
      if (table.title) lines.push(`\\multicolumn{${table.columns.length + 1}}{c}{${texEscape(table.title)}} \\\\`);
      lines.push(`${[table.rowHeader, ...table.columns].map(texEscape).join(' & ')} \\\\`, '\\hline');
      for (const r of table.rows) lines.push(`${[texEscape(r.label), ...r.cells.map(cell)].join(' & ')} \\\\`);
      lines.push('\\hline', '\\end{tabular}');
      for (const n of table.notes) lines.push(`% ${n}`);
      return lines.join('\n') + '\n';
    }
    default:
      throw new RangeError(`renderTable: format must be one of md, csv, latex, json, got '${String(format)}'`);
  }
}
