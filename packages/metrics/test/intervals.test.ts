import { describe, expect, it } from 'vitest';
import { BUSI_INTERVAL_EDGES, CT_INTERVAL_EDGES } from '@mrlseg/types';
import { computeFbRatio, fbRatioFromCounts, intervalIndex, intervalLabel, intervalLabels, parseIntervalSpec, resolveIntervalEdges, summarizeByInterval } from '../src/index';

describe('computeFbRatio (Eq. 3 x = N_Front / N_Back)', () => {
  it.each([
    [[0, 0, 0, 0], 0, 0],
    [[1, 0, 0, 0], 1 / 3, 0.25],
    [[1, 1, 0, 0], 1, 0.5],
    [[255, 0, 7, 0, 0, 0, 0, 0, 0, 0], 2 / 8, 0.2],
    [[1, 1], Number.MAX_VALUE, 1],
  ])('%j -> fbRatio %d, foreground fraction %d', (mask, fb, frac) => {
    const r = computeFbRatio(Uint8Array.from(mask));
    expect(r.fbRatio).toBeCloseTo(fb, 15);
    expect(r.foregroundFraction).toBeCloseTo(frac, 15);
    expect(r.foreground + r.background).toBe(mask.length);
  });
  it('rejects an empty mask', () => {
    expect(() => computeFbRatio(new Uint8Array(0))).toThrow(/computeFbRatio: mask is empty/);
  });
});

describe('fbRatioFromCounts (the same x from pixel counts)', () => {
  it.each([
    [0, 4, 0],
    [1, 4, 1 / 3],
    [2, 10, 2 / 8],
    [5, 5, Number.MAX_VALUE],
  ])('%d of %d pixels -> %d', (fg, total, want) => {
    expect(fbRatioFromCounts(fg, total)).toBe(want);
  });
  it.each([
    [-1, 4],
    [5, 4],
    [1.5, 4],
    [0, 0],
  ])('rejects foreground %d of %d naming the function and the expectation', (fg, total) => {
    expect(() => fbRatioFromCounts(fg, total)).toThrow(`fbRatioFromCounts: expected integers 0 <= foreground <= total and total > 0, got foreground=${fg}, total=${total}`);
  });
});

describe('intervals', () => {
  it('uses the paper edges from @mrlseg/types', () => {
    expect(resolveIntervalEdges('ct')).toBe(CT_INTERVAL_EDGES);
    expect(resolveIntervalEdges('busi')).toBe(BUSI_INTERVAL_EDGES);
    expect(intervalLabels('ct')).toEqual(['0-2%', '2-4%', '4-6%', '6-8%', '8-10%']);
    expect(intervalLabels('busi')).toEqual(['0-10%', '10-20%', '20-30%', '30-40%', '40-50%', '50-60%']);
  });
  it.each([
    [0, 'ct', 0, '0-2%'],
    [0.0199, 'ct', 0, '0-2%'],
    [0.02, 'ct', 1, '2-4%'],
    [0.07, 'ct', 3, '6-8%'],
    [0.1, 'ct', 4, '8-10%'], // the last interval is closed
    [0.1001, 'ct', -1, null],
    [0.35, 'busi', 3, '30-40%'],
    [0.6, 'busi', 5, '50-60%'],
    [0.04, [5, 10, 20], -1, null], // below the first custom edge
    [0.05, [5, 10, 20], 0, '5-10%'],
    [0.15, [5, 10, 20], 1, '10-20%'],
  ] as const)('fbRatio %d in %j -> index %d, label %s', (fb, spec, index, label) => {
    expect(intervalIndex(fb, spec as never)).toBe(index);
    expect(intervalLabel(fb, spec as never)).toBe(label);
  });
  it.each([
    ['ct', 'ct'],
    ['BUSI', 'busi'],
    ['0, 1.5,3', [0, 1.5, 3]],
  ])('parseIntervalSpec(%j)', (text, spec) => {
    expect(parseIntervalSpec(text)).toEqual(spec);
  });
  it.each([
    [() => parseIntervalSpec('0,x'), /parseIntervalSpec: expected 'ct', 'busi' or comma-separated percentages/],
    [() => resolveIntervalEdges([0, 2, 2]), /edges must be strictly increasing, got 2 then 2 at \[2\]/],
    [() => resolveIntervalEdges([5]), /need at least two edges/],
    [() => resolveIntervalEdges([-1, 2]), /edge \[0\] must be a finite percentage >= 0, got -1/],
    [() => intervalIndex(NaN, 'ct'), /intervalIndex: fbRatio must be a number >= 0, got NaN/],
  ])('rejects bad input %#', (f, msg) => {
    expect(f).toThrow(msg);
  });
});

describe('summarizeByInterval', () => {
  // Hand-worked: intervals [0,2) [2,4] of %; values by interval: 0-2%: 0.6, 0.8 and one empty-GT case
  // (null); 2-4%: 0.9; outside (5%): 0.5. Avg pools all five: mean(0.6, 0.8, 0.9, 0.5) = 0.7.
  const cases = [
    { fbRatio: 0.001, dice: 0.6 },
    { fbRatio: 0.015, dice: 0.8 },
    { fbRatio: 0, dice: null, emptyGt: true, emptyPred: true },
    { fbRatio: 0.03, dice: 0.9 },
    { fbRatio: 0.05, dice: 0.5 },
  ];
  it('gives per-interval and overall mean, sample std and counts, never dropping a case', () => {
    const s = summarizeByInterval(cases, (c) => c.dice, [0, 2, 4]);
    expect(s.intervals.map((i) => [i.label, i.n, i.count, i.missing, i.emptyGt])).toEqual([
      ['0-2%', 3, 2, 1, 1],
      ['2-4%', 1, 1, 0, 0],
    ]);
    expect(s.intervals[0].mean).toBeCloseTo(0.7, 12);
    expect(s.intervals[0].std).toBeCloseTo(Math.sqrt(0.02), 12);
    expect(s.intervals[1].std).toBeNull();
    expect(s.outside).toBe(1);
    expect(s.overall).toMatchObject({ label: 'Avg', n: 5, count: 4, missing: 1, emptyGt: 1, emptyPred: 1 });
    expect(s.overall.mean).toBeCloseTo(0.7, 12);
    expect(s.overall.std).toBeCloseTo(Math.sqrt(((0.1 ** 2) + (0.1 ** 2) + (0.2 ** 2) + (0.2 ** 2)) / 3), 12);
  });
});
