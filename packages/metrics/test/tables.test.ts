import { describe, expect, it } from 'vitest';
import { buildComparisonTable, renderTable, type TableRowInput } from '../src/index';

// Two intervals [0,2) and [2,4] %. Case values are the 't2' set of stats.test.ts scaled to [0, 1]
// for the first interval (SciPy ttest_rel p = 0.009381339360794267 -> asterisk) and a tied set for
// the second (ttest_rel([0.5, 0.6, 0.7], [0.6, 0.5, 0.7]) has mean difference 0 -> p = 1, no asterisk).
const a1 = [12.1, 15.3, 9.8, 20.4, 17.7, 11.2, 14.9, 16.0, 13.3, 18.8].map((v) => v / 100);
const b1 = [13.0, 15.1, 11.2, 22.9, 18.1, 12.5, 15.0, 17.9, 13.1, 20.2].map((v) => v / 100);
const rows: TableRowInput[] = [
  {
    label: 'Baseline',
    cases: [...a1.map((value, i) => ({ caseId: `c${i}`, fbRatio: 0.01, value })), ...[0.5, 0.6, 0.7].map((value, i) => ({ caseId: `d${i}`, fbRatio: 0.03, value }))],
  },
  {
    label: 'Ours',
    cases: [...b1.map((value, i) => ({ caseId: `c${i}`, fbRatio: 0.01, value })), ...[0.6, 0.5, 0.7].map((value, i) => ({ caseId: `d${i}`, fbRatio: 0.03, value }))],
  },
];
const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
const sd = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + (x - mean(v)) ** 2, 0) / (v.length - 1));

describe('buildComparisonTable', () => {
  const t = buildComparisonTable(rows, { intervals: [0, 2, 4], reference: 'Ours', scale: 100, best: 'max', title: 'Dice (%)' });

  it('lays out methods x (intervals + Avg) with mean±std, asterisks against the reference and best marks', () => {
    expect(t.columns).toEqual(['0-2%', '2-4%', 'Avg']);
    expect(t.rows.map((r) => r.label)).toEqual(['Baseline', 'Ours']);
    const [base, ours] = t.rows;
    expect(base.cells[0].pValue).toBeCloseTo(0.009381339360794267, 9);
    expect(base.cells[0].text).toBe(`${(mean(a1) * 100).toFixed(2)}±${(sd(a1) * 100).toFixed(2)}*`);
    expect(base.cells[1]).toMatchObject({ pValue: 1, significant: false, text: '60.00±10.00', pairs: 3 });
    expect(ours.cells.every((c) => c.pValue === null && !c.significant)).toBe(true);
    expect(ours.cells[0].best).toBe(true);
    expect(base.cells[0].best).toBe(false);
    expect(base.cells[1].best && ours.cells[1].best).toBe(true); // a tie marks both
    expect(base.cells[2].n).toBe(13);
    expect(t.notes[0]).toMatch(/\*: p < 0.05 in a paired Student's t-test against Ours/);
  });

  it('renders Markdown, CSV, LaTeX and JSON', () => {
    const md = renderTable(t, 'md');
    expect(md).toContain('| Method | 0-2% | 2-4% | Avg |');
    expect(md).toContain(`| Ours | **${t.rows[1].cells[0].text}** |`);
    const csv = renderTable(t, 'csv').trim().split('\n');
    expect(csv[0]).toBe('Method,0-2%,2-4%,Avg');
    expect(csv[1]).toBe(['Baseline', ...t.rows[0].cells.map((c) => c.text)].join(','));
    const tex = renderTable(t, 'latex');
    expect(tex).toContain('Method & 0-2\\% & 2-4\\% & Avg \\\\');
    expect(tex).toContain(`\\textbf{${t.rows[1].cells[0].text.replace('±', '$\\pm$')}}`);
    expect(tex).toMatch(/^\\begin\{tabular\}\{lccc\}/);
    expect(JSON.parse(renderTable(t, 'json'))).toEqual(JSON.parse(JSON.stringify(t)));
  });

  it('counts missing values per cell and says so in the notes; Wilcoxon on request', () => {
    const withEmpty: TableRowInput[] = rows.map((r) => ({ ...r, cases: [...r.cases, { caseId: 'e', fbRatio: 0, value: r.label === 'Ours' ? null : 0 }] }));
    const tw = buildComparisonTable(withEmpty, { intervals: [0, 2, 4], reference: 'Ours', test: 'wilcoxon' });
    expect(tw.rows[1].cells[0]).toMatchObject({ n: 11, count: 10, missing: 1 });
    expect(tw.rows[0].cells[0].pairs).toBe(10);
    expect(tw.notes.join('\n')).toMatch(/Ours: undefined values \(empty mask\) excluded from mean±std \(0-2%: 1, Avg: 1\)/);
    expect(tw.notes[0]).toMatch(/Wilcoxon signed-rank test/);
  });

  it('escapes LaTeX and CSV specials in labels', () => {
    const r = buildComparisonTable([{ label: 'RL+FB_ADP & "x", y', cases: [{ caseId: 'a', fbRatio: 0.01, value: 1 }] }], { intervals: 'ct' });
    expect(renderTable(r, 'latex')).toContain('RL+FB\\_ADP \\& "x", y');
    expect(renderTable(r, 'csv').split('\n')[1].startsWith('"RL+FB_ADP & ""x"", y",')).toBe(true);
    expect(r.rows[0].cells[0].text).toBe('1.00');
    expect(r.rows[0].cells[1].text).toBe('n/a');
  });

  it.each([
    ['unknown reference', () => buildComparisonTable(rows, { intervals: 'ct', reference: 'X' }), /reference 'X' is not a row \(rows: Baseline, Ours\)/],
    ['missing cases', () => buildComparisonTable([rows[0], { label: 'Ours', cases: rows[1].cases.slice(1) }], { intervals: 'ct' }), /row 'Ours' lacks 1 case\(s\) the other rows have \(c0\)/],
    ['fbRatio disagreement', () => buildComparisonTable([rows[0], { label: 'Ours', cases: rows[1].cases.map((c, i) => (i === 0 ? { ...c, fbRatio: 0.5 } : c)) }], { intervals: 'ct' }), /case 'c0' has fbRatio 0.01 in one row and 0.5 in row 'Ours'/],
    ['duplicate labels', () => buildComparisonTable([rows[0], rows[0]], { intervals: 'ct' }), /row labels must be unique, 'Baseline' appears twice/],
    ['bad format', () => renderTable(buildComparisonTable(rows, { intervals: 'ct' }), 'html' as never), /renderTable: format must be one of md, csv, latex, json, got 'html'/],
  ])('rejects %s', (_n, f, msg) => {
    expect(f).toThrow(msg);
  });
});
