// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { exportAblationTable, exportIntervalTable } from '../src/lib/export';
import { ablationFlags, buildAblationTable, buildIntervalTable, intervalSpecOf, sortTable } from '../src/lib/tables';
import { makeCase, makeRun } from './fixtures';

// Two variants on the same four cases: two in 0-2 % (fbRatio 0.01), two in 2-4 % (0.03).
// The reference (RL+FB+ADP+Seg) is exactly 0.1 Dice better on every case: constant paired
// differences give p ~ 0 (t -> infinity up to rounding of 0.1), so every OnlySeg cell with >= 2 pairs carries an asterisk.
const only = makeRun('r-only', 'onlyseg');
const ours = makeRun('r-ours', 'rl-fb-adp-seg');
const ids = ['a', 'b', 'c', 'd'];
const fb = [0.01, 0.01, 0.03, 0.03];
const data = [
  { run: only, cases: ids.map((id, i) => makeCase(only.id, id, fb[i], [0.5, 0.6, 0.7, 0.8][i], [5, null, 3, 3][i])) },
  { run: ours, cases: ids.map((id, i) => makeCase(ours.id, id, fb[i], [0.6, 0.7, 0.8, 0.9][i], [4, 4, 2, 2][i])) },
];

describe('buildIntervalTable (Dice)', () => {
  const { table, keys, runs } = buildIntervalTable(data, 'dice', 'ct');
  it('has the CT intervals plus Avg and one row per variant, by its paper label', () => {
    expect(table.columns).toEqual(['0-2%', '2-4%', '4-6%', '6-8%', '8-10%', 'Avg']);
    expect(table.rows.map((r) => r.label)).toEqual(['OnlySeg', 'RL+FB+ADP+Seg']);
    expect(keys).toEqual(['onlyseg', 'rl-fb-adp-seg']);
    expect(runs).toEqual([1, 1]);
    expect(table.reference).toBe('RL+FB+ADP+Seg');
  });
  it('prints mean±std in percent (hand-computed: std of {50, 60} = 7.07, of {50..80} = 12.91) with asterisks', () => {
    expect(table.rows[0].cells.map((c) => c.text)).toEqual(['55.00±7.07*', '75.00±7.07*', 'n/a', 'n/a', 'n/a', '65.00±12.91*']);
    expect(table.rows[1].cells.map((c) => c.text)).toEqual(['65.00±7.07', '85.00±7.07', 'n/a', 'n/a', 'n/a', '75.00±12.91']);
    expect(table.rows[0].cells[5].pValue).toBeLessThan(1e-10);
  });
  it('marks the best mean per column (max for Dice)', () => {
    expect(table.rows[1].cells[0].best).toBe(true);
    expect(table.rows[0].cells[0].best).toBe(false);
  });
});

describe('buildIntervalTable (HD)', () => {
  const { table } = buildIntervalTable(data, 'hd', 'ct');
  it('excludes undefined HD values and does not test a cell with fewer than two pairs', () => {
    // OnlySeg 0-2%: only case a has an HD (5): mean 5, no std, one pair -> no test
    expect(table.rows[0].cells[0]).toMatchObject({ mean: 5, std: null, missing: 1, pValue: null, significant: false, text: '5.00' });
    expect(table.rows[1].cells[0].best).toBe(true); // min for HD: 4 < 5
    expect(table.notes.join(' ')).toMatch(/OnlySeg: undefined values \(empty mask\) excluded/);
  });
});

describe('pairing and pooling', () => {
  it('leaves out cases not evaluated by every row, and says so', () => {
    const extra = [data[0], { run: ours, cases: [...data[1].cases, makeCase(ours.id, 'e', 0.01, 0.9, 1)] }];
    const { table } = buildIntervalTable(extra, 'dice', 'ct');
    expect(table.rows[1].cells[5].n).toBe(4);
    expect(table.notes).toContain('1 case(s) not evaluated by every row are left out (paired comparison).');
  });
  it('pools folds of one variant into one row (cases keyed by fold, seed and id)', () => {
    const fold1 = makeRun('r-only-f1', 'onlyseg', { fold: 1 });
    const { table, runs } = buildIntervalTable([data[0], { run: fold1, cases: [makeCase(fold1.id, 'a', 0.01, 1, 1)] }], 'dice', 'ct');
    expect(runs).toEqual([2]);
    expect(table.rows[0].cells[5].n).toBe(5);
    expect(table.rows[0].cells[5].mean).toBeCloseTo((0.5 + 0.6 + 0.7 + 0.8 + 1) / 5, 12);
  });
  it('reads the interval spec from the run config', () => {
    expect(intervalSpecOf(makeRun('x', 'onlyseg', { config: { dataset: { intervals: 'busi' } } }))).toBe('busi');
    expect(intervalSpecOf(makeRun('x', 'onlyseg', { config: { dataset: { intervals: [0, 5, 10] } } }))).toEqual([0, 5, 10]);
    expect(intervalSpecOf(makeRun('x', 'onlyseg', { config: null }))).toBe('ct');
  });
});

describe('sortTable', () => {
  const { table } = buildIntervalTable(data, 'dice', 'ct');
  it.each([
    [5, 'desc', ['RL+FB+ADP+Seg', 'OnlySeg']],
    [5, 'asc', ['OnlySeg', 'RL+FB+ADP+Seg']],
    [-1, 'desc', ['RL+FB+ADP+Seg', 'OnlySeg']],
  ] as const)('column %d %s', (col, dir, labels) => {
    expect(sortTable(table, col, dir).rows.map((r) => r.label)).toEqual(labels);
  });
});

describe('ablation table (Table V)', () => {
  it.each([
    ['onlyseg', { seg: true, rl: false, adp: false, fb: false, withoutPretraining: false }],
    ['rl-seg', { seg: true, rl: true, adp: false, fb: false, withoutPretraining: false }],
    ['rl-fb-adp-seg', { seg: true, rl: true, adp: true, fb: true, withoutPretraining: false }],
    ['rl-seg-nopretrain', { seg: true, rl: true, adp: false, fb: false, withoutPretraining: true }],
  ] as const)('flags of %s (no config: from the id)', (variant, flags) => {
    expect(ablationFlags(makeRun('x', variant, { config: {} }))).toEqual(flags);
  });
  it('reads components from the run config when present', () => {
    expect(ablationFlags(makeRun('x', 'rl-fb-seg', { config: { rl: { useFb: false, useAdp: true, pretrain: false } } }))).toEqual({ seg: true, rl: true, adp: true, fb: false, withoutPretraining: true });
  });
  it('lists the variants in paper order with the Avg cells', () => {
    const rows = buildAblationTable([data[1], data[0]], 'ct', ['onlyseg', 'rl-seg', 'rl-fb-adp-seg']);
    expect(rows.map((r) => [r.variant, r.dice.text, r.hd.text])).toEqual([
      ['onlyseg', '65.00±12.91*', '3.67±1.15*'], // HD pairs (5,4) (3,2) (3,2): constant difference -> significant
      ['rl-fb-adp-seg', '75.00±12.91', '3.00±1.15'],
    ]);
  });
});

describe('exports', () => {
  const { table } = buildIntervalTable(data, 'dice', 'ct');
  it('renders Markdown, CSV and LaTeX through @mrlseg/metrics', () => {
    expect(exportIntervalTable(table, 'md')).toContain('| OnlySeg | 55.00±7.07* | 75.00±7.07* | n/a | n/a | n/a | 65.00±12.91* |');
    expect(exportIntervalTable(table, 'csv').split('\n')[0]).toBe('Method,0-2%,2-4%,4-6%,6-8%,8-10%,Avg');
    expect(exportIntervalTable(table, 'latex')).toContain('\\textbf{75.00$\\pm$12.91}');
  });
  it('lays out the ablation table with check marks', () => {
    const rows = buildAblationTable(data, 'ct', ['onlyseg', 'rl-fb-adp-seg']);
    const md = exportAblationTable(rows, 'md');
    expect(md).toContain('| RL+FB+ADP+Seg |  | ✓ | ✓ | ✓ | ✓ | **75.00±12.91** | **3.00±1.15** |');
    expect(exportAblationTable(rows, 'latex')).toContain('RL+FB+ADP+Seg &  & \\checkmark & \\checkmark & \\checkmark & \\checkmark & \\textbf{75.00$\\pm$12.91}');
    expect(exportAblationTable(rows, 'csv').split('\n')[1]).toBe('OnlySeg,,✓,,,,65.00±12.91*,3.67±1.15*');
  });
});
