/**
 * Paper-style reports from the results store (Tables I-V of Yang et al. 2024): Dice (%) and HD
 * per fbRatio interval plus Avg as mean±std, one row per variant/baseline, and the ablation table
 * (Table V: component check marks, mean Dice and mean HD). Tables are built and rendered by
 * @mrlseg/metrics (buildComparisonTable, renderTable); this module selects runs, pools their
 * held-out cases per variant and picks the test reference.
 *
 * Significance: each row is compared, per column, with the best other row by a paired Student's
 * t-test over the same cases (p < 0.05 -> '*'): the best row (by Avg mean) is the reference of
 * every other row, and the best row itself is tested against the runner-up, as the paper tests
 * its method against "the second rank results".
 *
 * Pooling: a variant's cases are the held-out cases of all its completed runs (each case is in
 * exactly one fold; with several seeds a case appears once per seed and is paired per seed), so
 * ± is the standard deviation over cases, as in the per-interval columns.
 *
 * What the agent did: for variants with a Reinforcement-Net, `variants[].agent` holds the mean
 * maskedFraction and lesionMaskedFraction over the same (paired) cases (CaseAgentFractionsSchema);
 * md and latex print them on one line under the header, the tables are unchanged. Cases stored
 * before the store recorded them (schema < 2) are left out of the means and counted; with none
 * recorded the values are null ("n/a").
 */
import { ABLATION_VARIANTS, VARIANT_LABELS, type CaseAgentFractions, type ExperimentConfig, type ReportFormat, type RunRecord, type VariantId } from '@mrlseg/types';
import { buildComparisonTable, renderTable, type IntervalSpec, type ResultTable, type TableCell, type TableRowInput } from '@mrlseg/metrics';
import type { ResultsStore } from '../store/store';
import { agentOffBySelection, variantComponents, variantSpec } from '../config/variants';
import { summarizeAgentFractions, type AgentFractionsSummary } from '../pipeline/evaluate';

export interface ReportOptions {
  /** Runs of this experiment (default: the most recent experiment in the store). */
  experimentId?: string;
  /** Exactly these runs (overrides experimentId). */
  runIds?: string[];
  /** Paired test for the asterisks (default 't', the paper's). */
  test?: 't' | 'wilcoxon';
  alpha?: number;
}

export interface VariantSummary {
  variant: VariantId;
  label: string;
  runs: string[];
  cases: number;
  components: ReturnType<typeof variantComponents>;
  /** What the policy masked, over the report's cases (see the module comment); null for variants without an agent. */
  agent: AgentFractionsSummary | null;
  /**
   * RL variants of which some runs kept their pre-trained Segmentation-Net with the agent off
   * (validation-based selection): what the agent masked over the cases of the other runs, and how
   * many runs those are. `agent` averages in the agent-off runs' zeros; this does not. Null when
   * every run kept its agent, or for variants without one.
   */
  agentOn: (AgentFractionsSummary & { runs: number; ofRuns: number }) | null;
}

export interface ReportCell {
  mean: number | null;
  std: number | null;
  n: number;
  count: number;
  missing: number;
  pValue: number | null;
  significant: boolean;
  best: boolean;
}

export interface Report {
  experimentId: string | null;
  dataset: string;
  intervals: IntervalSpec;
  variants: VariantSummary[];
  /** Same numbers as the tables, keyed by variant id then column ('0-2%', ..., 'Avg'); Dice as a fraction in [0, 1], HD in pixels. */
  byVariant: Record<string, { dice: Record<string, ReportCell>; hd: Record<string, ReportCell> }>;
  tables: { dice: ResultTable; hd: ResultTable; ablation: ResultTable | null };
  notes: string[];
}

const CHECK = '✓';

async function selectRuns(store: ResultsStore, opts: ReportOptions): Promise<{ runs: RunRecord[]; experimentId: string | null }> {
  if (opts.runIds?.length) {
    const runs: RunRecord[] = [];
    for (const id of opts.runIds) {
      const r = await store.getRun(id);
      if (!r) throw new Error(`report: no run '${id}' in the store ${store.location}`);
      runs.push(r);
    }
    const exps = [...new Set(runs.map((r) => r.experimentId))];
    return { runs, experimentId: exps.length === 1 ? exps[0] : null };
  }
  let experimentId = opts.experimentId;
  if (experimentId === undefined) {
    const all = await store.listExperiments();
    if (!all.length) throw new Error(`report: the store ${store.location} holds no experiment yet (run mrlseg train or mrlseg demo first)`);
    experimentId = all[all.length - 1].id;
  } else if (!(await store.getExperiment(experimentId))) {
    const known = (await store.listExperiments()).map((e) => e.id);
    throw new Error(`report: no experiment '${experimentId}' in the store ${store.location} (known: ${known.slice(-5).join(', ') || 'none'})`);
  }
  return { runs: await store.listRuns({ experimentId }), experimentId };
}

/** Builds the report's tables from the store (see the module comment). */
export async function buildReport(store: ResultsStore, opts: ReportOptions = {}): Promise<Report> {
  const { runs, experimentId } = await selectRuns(store, opts);
  const notes: string[] = [];
  const done = runs.filter((r) => r.status === 'completed');
  const notDone = runs.filter((r) => r.status !== 'completed');
  if (notDone.length) notes.push(`${notDone.length} run(s) not completed and left out: ${notDone.map((r) => `${r.id} (${r.status})`).join(', ')}.`);
  if (!done.length) throw new Error(`report: no completed run among ${runs.length} run(s)${experimentId ? ` of experiment ${experimentId}` : ''}`);
  const cfg = done[0].config as ExperimentConfig;
  const intervals: IntervalSpec = cfg.dataset?.intervals ?? 'ct';
  const multiSeed = new Set(done.map((r) => r.seed)).size > 1;

  // Pool each variant's cases over its runs.
  const order = [...new Set(done.map((r) => r.variant))].sort((a, b) => {
    const rank = (v: VariantId) => {
      const i = ABLATION_VARIANTS.indexOf(v);
      return i < 0 ? 100 + Object.keys(VARIANT_LABELS).indexOf(v) : i;
    };
    return rank(a) - rank(b);
  });
  type Pooled = { dice: Map<string, { fb: number; v: number | null }>; hd: Map<string, { fb: number; v: number | null }>; agent: Map<string, CaseAgentFractions>; runs: string[]; agentOff: Set<string>; offRuns: number };
  const pooled = new Map<VariantId, Pooled>();
  for (const v of order) pooled.set(v, { dice: new Map(), hd: new Map(), agent: new Map(), runs: [], agentOff: new Set(), offRuns: 0 });
  for (const r of done) {
    const p = pooled.get(r.variant)!;
    p.runs.push(r.id);
    const off = agentOffBySelection(r.variant, r.selection);
    if (off) p.offRuns++;
    for (const c of await store.allCases(r.id)) {
      const key = multiSeed ? `${c.caseId}@s${r.seed}` : c.caseId;
      if (off) p.agentOff.add(key);
      else p.agentOff.delete(key);
      if (p.dice.has(key)) notes.push(`${VARIANT_LABELS[r.variant]}: case ${key} appears in more than one run; the one of ${r.id} is used.`);
      p.dice.set(key, { fb: c.fbRatio, v: c.dice });
      p.hd.set(key, { fb: c.fbRatio, v: c.hd });
      p.agent.set(key, { maskedFraction: c.maskedFraction, lesionMaskedFraction: c.lesionMaskedFraction });
    }
  }
  // Paired tables need the same cases in every row.
  const keySets = order.map((v) => new Set(pooled.get(v)!.dice.keys()));
  const common = [...keySets[0]].filter((k) => keySets.every((s) => s.has(k))).sort();
  const union = new Set(keySets.flatMap((s) => [...s]));
  if (common.length < union.size) notes.push(`${union.size - common.length} case(s) not evaluated for every variant were left out, to keep the tests paired.`);
  if (!common.length) throw new Error('report: the selected runs share no evaluated case (were they trained on different datasets or folds?)');

  const rowsFor = (metric: 'dice' | 'hd', variants: VariantId[]): TableRowInput[] =>
    variants.map((v) => {
      const m = pooled.get(v)![metric];
      return { label: VARIANT_LABELS[v], cases: common.map((k) => ({ caseId: k, fbRatio: m.get(k)!.fb, value: m.get(k)!.v })) };
    });

  const base = { intervals, test: opts.test ?? 't', alpha: opts.alpha ?? 0.05 } as const;
  const diceOpts = { ...base, scale: 100, best: 'max' as const, title: 'Dice (%) at various foreground-background ratios' };
  const hdOpts = { ...base, scale: 1, best: 'min' as const, title: 'HD (pixels) at various foreground-background ratios' };
  const dice = compareAgainstBest(rowsFor('dice', order), diceOpts, 'max');
  const hd = compareAgainstBest(rowsFor('hd', order), hdOpts, 'min');

  const ablationVariants = ABLATION_VARIANTS.filter((v) => pooled.has(v));
  let ablation: ResultTable | null = null;
  if (ablationVariants.length) {
    const d = compareAgainstBest(rowsFor('dice', ablationVariants), diceOpts, 'max');
    const h = compareAgainstBest(rowsFor('hd', ablationVariants), hdOpts, 'min');
    const avg = d.columns.length - 1;
    const mark = (on: boolean): TableCell => ({ mean: null, std: null, n: 0, count: 0, missing: 0, pValue: null, pairs: 0, significant: false, best: false, text: on ? CHECK : '' });
    ablation = {
      title: 'Ablation analysis of key components (Table V)',
      rowHeader: 'Variant',
      columns: ['w/o pre-training', 'Seg', 'RL', 'ADP', 'FB', 'Mean Dice (%)', 'Mean HD'],
      rows: ablationVariants.map((v, i) => {
        const c = variantComponents(v);
        return { label: VARIANT_LABELS[v], cells: [mark(c.noPretraining), mark(c.seg), mark(c.rl), mark(c.adp), mark(c.fb), d.rows[i].cells[avg], h.rows[i].cells[avg]] };
      }),
      reference: d.reference,
      test: d.test,
      alpha: d.alpha,
      notes: [...d.notes],
    };
  }

  // Issue 15: the budget, the validation-based selection and, with several seeds, the per-seed means.
  const ft = done.find((r) => !variantSpec(r.variant).rl && ((r.config as ExperimentConfig).training?.rlEpochs ?? 0) > 0);
  if (ft) {
    const t = (ft.config as ExperimentConfig).training;
    notes.push(
      `Budget-fair: variants without RL were fine-tuned for ${t.rlEpochs} more epoch(s) on raw images (batch ${t.rlBatchSize}) after their ${t.epochs} pre-training epochs, ` +
        'as many Segmentation-Net updates as the RL variants (pre-training plus one fine-tuning step per RL update).',
    );
  }
  const pctOf = (v: number | null | undefined) => (v == null ? 'n/a' : `${(100 * v).toFixed(2)} %`);
  for (const r of done) {
    const sel = r.selection;
    if (!sel) continue;
    const what = sel.chosen === 'pretrained' ? (variantSpec(r.variant).rl ? 'its pre-trained Segmentation-Net with the agent off' : 'its pre-trained Segmentation-Net') : `epoch ${sel.chosen}`;
    notes.push(`Selection (${VARIANT_LABELS[r.variant]}, seed ${r.seed}, run ${r.id}): kept ${what}, validation Dice ${pctOf(sel.valDice[sel.chosen])} on ${sel.validationCases} slices (pre-trained: ${pctOf(sel.valDice.pretrained)}).`);
  }
  if (multiSeed) {
    for (const v of order) {
      const bySeed = new Map<number, number[]>();
      for (const k of common) {
        const seed = Number(k.slice(k.lastIndexOf('@s') + 2));
        const d = pooled.get(v)!.dice.get(k)!.v;
        if (d !== null) bySeed.set(seed, [...(bySeed.get(seed) ?? []), d]);
      }
      const means = [...bySeed.entries()].sort((a, b) => a[0] - b[0]).map(([sd, xs]) => ({ sd, m: xs.reduce((a, b) => a + b, 0) / xs.length }));
      const mm = means.reduce((a, b) => a + b.m, 0) / means.length;
      const sdv = means.length > 1 ? Math.sqrt(means.reduce((a, b) => a + (b.m - mm) ** 2, 0) / (means.length - 1)) : 0;
      notes.push(`Per-seed mean Dice, ${VARIANT_LABELS[v]}: ${means.map((x) => `seed ${x.sd} ${(100 * x.m).toFixed(2)} %`).join(', ')} (mean of seeds ${(100 * mm).toFixed(2)} %, sd ${(100 * sdv).toFixed(2)} points); the tests pair cases pooled over seeds.`);
    }
  }

  const byVariant: Report['byVariant'] = {};
  const cellsOf = (t: ResultTable, i: number): Record<string, ReportCell> =>
    Object.fromEntries(t.columns.map((col, j) => {
      const c = t.rows[i].cells[j];
      return [col, { mean: c.mean, std: c.std, n: c.n, count: c.count, missing: c.missing, pValue: c.pValue, significant: c.significant, best: c.best }];
    }));
  order.forEach((v, i) => {
    byVariant[v] = { dice: cellsOf(dice, i), hd: cellsOf(hd, i) };
  });

  return {
    experimentId,
    dataset: done[0].dataset,
    intervals,
    variants: order.map((v) => ({
      variant: v,
      label: VARIANT_LABELS[v],
      runs: pooled.get(v)!.runs,
      cases: common.length,
      components: variantComponents(v),
      agent: variantSpec(v).rl ? summarizeAgentFractions(common.map((k) => pooled.get(v)!.agent.get(k)!)) : null,
      agentOn: agentOnSummary(pooled.get(v)!, variantSpec(v).rl, common),
    })),
    byVariant,
    tables: { dice, hd, ablation },
    notes,
  };
}

/**
 * A comparison table whose asterisks test every row against the best other row: rows against the
 * best (by Avg mean), the best against the runner-up. One row: no tests.
 */
export function compareAgainstBest(rows: TableRowInput[], opts: Parameters<typeof buildComparisonTable>[1], direction: 'max' | 'min'): ResultTable {
  const plain = buildComparisonTable(rows, { ...opts, reference: undefined });
  if (rows.length < 2) return plain;
  const avg = plain.columns.length - 1;
  const ranked = plain.rows
    .map((r, i) => ({ i, m: r.cells[avg].mean }))
    .sort((a, b) => {
      if (a.m === null) return b.m === null ? a.i - b.i : 1;
      if (b.m === null) return -1;
      return direction === 'max' ? b.m - a.m || a.i - b.i : a.m - b.m || a.i - b.i;
    });
  const best = rows[ranked[0].i].label;
  const runnerUp = rows[ranked[1].i].label;
  const vsBest = buildComparisonTable(rows, { ...opts, reference: best });
  const vsRunnerUp = buildComparisonTable(rows, { ...opts, reference: runnerUp });
  const alpha = vsBest.alpha;
  const testName = vsBest.test === 't' ? "Student's t-test" : 'Wilcoxon signed-rank test';
  return {
    ...vsBest,
    rows: vsBest.rows.map((r, i) => (r.label === best ? vsRunnerUp.rows[i] : r)),
    notes: [
      `*: p < ${alpha} in a paired ${testName} against the best other row (every row against ${best}, the best by Avg; ${best} against the runner-up ${runnerUp}); cases matched by id.`,
      ...vsBest.notes.filter((n) => !n.startsWith('*:')),
    ],
  };
}

/** Renders a report: 'md' and 'latex' as consecutive tables, 'csv' as blocks separated by blank lines, 'json' as one object. */
export function renderReport(report: Report, format: ReportFormat): string {
  const tables = [report.tables.dice, report.tables.hd, ...(report.tables.ablation ? [report.tables.ablation] : [])];
  const header = `Experiment ${report.experimentId ?? '(selected runs)'} on ${report.dataset}; variants: ${report.variants.map((v) => `${v.label} (${v.runs.length} run(s), ${v.cases} cases)`).join(', ')}.`;
  const agent = agentLine(report);
  switch (format) {
    case 'json':
      return `${JSON.stringify(report, null, 2)}\n`;
    case 'md':
      return [`${header}\n`, ...(agent ? [`${agent}\n`] : []), ...tables.map((t) => renderTable(t, 'md')), ...report.notes.map((n) => `${n}\n`)].join('\n');
    case 'csv':
      return tables.map((t) => `${csvTitle(t.title)}\n${renderTable(t, 'csv')}`).join('\n');
    case 'latex':
      return [`% ${header}`, ...(agent ? [`% ${agent}`] : []), ...tables.map((t) => renderTable(t, 'latex').replaceAll(CHECK, '$\\checkmark$')), ...report.notes.map((n) => `% ${n}`)].join('\n') + '\n';
    default:
      throw new Error(`renderReport: format must be one of md, csv, latex, json, got '${String(format)}'`);
  }
}

const pct = (v: number | null): string => (v === null ? 'n/a' : `${(100 * v).toFixed(2)}%`);

/** VariantSummary.agentOn: the agent's fractions over the cases of the runs that kept it on. */
function agentOnSummary(p: { agent: Map<string, CaseAgentFractions>; runs: string[]; agentOff: Set<string>; offRuns: number }, rl: boolean, common: string[]): VariantSummary['agentOn'] {
  if (!rl || p.offRuns === 0) return null;
  const on = common.filter((k) => !p.agentOff.has(k)).map((k) => p.agent.get(k)!);
  return { ...summarizeAgentFractions(on), runs: p.runs.length - p.offRuns, ofRuns: p.runs.length };
}

/** The agent line's addition for a variant whose selection turned the agent off in some runs ('' when none did). */
function agentOnText(on: VariantSummary['agentOn']): string {
  if (!on) return '';
  if (on.runs === 0) return ` (the agent is off in all ${on.ofRuns} run(s): validation kept the pre-trained Segmentation-Net)`;
  return (
    ` (the agent is off in ${on.ofRuns - on.runs} of ${on.ofRuns} runs, where validation kept the pre-trained Segmentation-Net; ` +
    `in the ${on.runs} run(s) with the agent on: ${pct(on.maskedFraction)} of pixels, ${pct(on.lesionMaskedFraction)} of lesion pixels)`
  );
}

/**
 * One line on what the agents masked, e.g. "Masked by the agent (deterministic policy, mean over
 * cases): RL+Seg 12.50% of pixels, 40.00% of lesion pixels; ..."; null when no variant has one.
 */
function agentLine(report: Report): string | null {
  const rl = report.variants.filter((v) => v.agent !== null);
  if (!rl.length) return null;
  const parts = rl.map(({ label, agent: a, agentOn }) => {
    if (!a || a.recorded === 0) return `${label} n/a (not recorded: evaluated before the store kept it; mrlseg eval --run <id> fills it)`;
    const partial = a.recorded < a.cases ? ` (${a.recorded} of ${a.cases} cases recorded)` : '';
    return `${label} ${pct(a.maskedFraction)} of pixels, ${pct(a.lesionMaskedFraction)} of lesion pixels${partial}${agentOnText(agentOn)}`;
  });
  return `Masked by the agent (deterministic policy, mean over cases): ${parts.join('; ')}.`;
}

const csvTitle = (t: string) => (/[",\n]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t);
