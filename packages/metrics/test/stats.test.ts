import { describe, expect, it } from 'vitest';
import { pairedTTest, summarize, wilcoxonSignedRank } from '../src/index';

// Reference values computed once with SciPy 1.10.1 (Debian /usr/bin/python3, numpy 1.24.2):
//   t:        scipy.stats.ttest_rel(a, b)                                   -> (statistic, pvalue)
//   Wilcoxon: scipy.stats.wilcoxon(a, b, zero_method='wilcox', correction=True,
//             method='exact' if <= 50 non-zero differences without ties or zeros else 'approx')
//             -> (min(W+, W-), pvalue)
// 'large60' was drawn with numpy.random.default_rng(7): a = round(N(0.7, 0.1), 4), b = round(a + N(0.02, 0.05), 4).
const large60a = [0.7001, 0.7299, 0.6726, 0.6109, 0.6545, 0.6008, 0.706, 0.834, 0.6508, 0.638, 0.749, 0.7357, 0.7105, 0.607, 0.6971, 0.7695, 0.5656, 0.6542, 0.5099, 0.571, 0.5158, 0.6765, 0.5733, 0.7271, 0.7157, 0.6813, 0.4483, 0.6461, 0.6951, 0.7113, 0.547, 0.6522, 0.6021, 0.6191, 0.8061, 0.6192, 0.6967, 0.7884, 0.6416, 0.6888, 0.711, 0.7064, 0.5775, 0.7076, 0.8359, 0.5453, 0.7859, 0.7119, 0.6359, 0.9, 0.7762, 0.5801, 0.7075, 0.7577, 0.6811, 0.7683, 0.6933, 0.7667, 0.8439, 0.6324];
const large60b = [0.7303, 0.7267, 0.699, 0.5715, 0.6455, 0.611, 0.7709, 0.9113, 0.6046, 0.6183, 0.8013, 0.6561, 0.7073, 0.6221, 0.78, 0.824, 0.5692, 0.6558, 0.5174, 0.6672, 0.5144, 0.6813, 0.6109, 0.7411, 0.7258, 0.6456, 0.4677, 0.6439, 0.7734, 0.764, 0.5658, 0.7056, 0.6051, 0.6917, 0.8258, 0.6684, 0.6522, 0.8257, 0.5772, 0.607, 0.7158, 0.6814, 0.6057, 0.8398, 0.8143, 0.5341, 0.8162, 0.7566, 0.6471, 0.9097, 0.8313, 0.6261, 0.6758, 0.7737, 0.7029, 0.7356, 0.7263, 0.7438, 0.9125, 0.662];

const sets: Array<{ name: string; a: number[]; b: number[]; t: number; tp: number; wMethod: string; w: number; wp: number }> = [
  { name: 't1 (ties)', a: [0.81, 0.72, 0.65, 0.9, 0.77, 0.69, 0.84, 0.71], b: [0.78, 0.7, 0.66, 0.85, 0.74, 0.7, 0.8, 0.69], t: 2.7734482524693833, tp: 0.027556927195883603, wMethod: 'normal', w: 3, wp: 0.041558707296959874 },
  { name: 't2', a: [12.1, 15.3, 9.8, 20.4, 17.7, 11.2, 14.9, 16.0, 13.3, 18.8], b: [13.0, 15.1, 11.2, 22.9, 18.1, 12.5, 15.0, 17.9, 13.1, 20.2], t: -3.2898001170476268, tp: 0.009381339360794267, wMethod: 'normal', w: 5, wp: 0.024744672046398936 },
  { name: 'exact (no ties)', a: [1.83, 0.5, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.3], b: [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29], t: 3.0353754156485917, tp: 0.016176627434908095, wMethod: 'exact', w: 5, wp: 0.0390625 },
  { name: 'integer ties', a: [3, 5, 2, 8, 6, 4, 7, 5, 9, 1], b: [1, 3, 4, 6, 4, 2, 8, 3, 5, 2], t: 2.0251582216668425, tp: 0.07350713411673622, wMethod: 'normal', w: 9, wp: 0.05656492683454464 },
  { name: 'zero differences', a: [3, 5, 2, 8, 6, 4, 7, 5, 9, 1, 4, 4], b: [1, 3, 4, 6, 4, 2, 8, 3, 5, 2, 4, 4], t: 1.9703687322875563, tp: 0.0744848499064379, wMethod: 'normal', w: 9, wp: 0.05656492683454464 },
  { name: 'n = 60', a: large60a, b: large60b, t: -2.9036321053988705, tp: 0.005182034860316478, wMethod: 'normal', w: 529.5, wp: 0.0045933963674969795 },
];

describe('pairedTTest vs SciPy ttest_rel', () => {
  it.each(sets)('$name', ({ a, b, t, tp }) => {
    const r = pairedTTest(a, b);
    expect(r.statistic).toBeCloseTo(t, 9);
    expect(r.pValue).toBeCloseTo(tp, 9);
    expect(r.df).toBe(a.length - 1);
    // Swapping the methods flips t but not the two-sided p.
    expect(pairedTTest(b, a).pValue).toBeCloseTo(tp, 12);
  });
});

describe('wilcoxonSignedRank vs SciPy wilcoxon', () => {
  it.each(sets)('$name', ({ a, b, wMethod, w, wp }) => {
    const r = wilcoxonSignedRank(a, b);
    const d = a.map((v, i) => v - b[i]).filter((v) => v !== 0);
    const total = (d.length * (d.length + 1)) / 2;
    expect(Math.min(r.statistic, total - r.statistic)).toBeCloseTo(w, 9);
    expect(r.pValue).toBeCloseTo(wp, 9);
    expect(r.method).toBe(wMethod);
  });
});

describe('paired-test conventions', () => {
  it('drops pairs with a missing value and counts them', () => {
    const r = pairedTTest([0.81, null, 0.72, 0.65, 0.9, 0.77, 0.69, NaN, 0.84, 0.71], [0.78, 0.5, 0.7, 0.66, 0.85, 0.74, 0.7, 0.3, 0.8, 0.69]);
    expect(r.n).toBe(8);
    expect(r.dropped).toBe(2);
    expect(r.pValue).toBeCloseTo(0.027556927195883603, 9);
  });
  it('all-zero differences give p = 1; constant non-zero differences give t = Infinity, p = 0', () => {
    expect(pairedTTest([1, 2, 3], [1, 2, 3])).toMatchObject({ statistic: 0, pValue: 1 });
    expect(pairedTTest([2, 3, 4], [1, 2, 3])).toMatchObject({ statistic: Infinity, pValue: 0 });
    expect(wilcoxonSignedRank([1, 2, 3], [1, 2, 3])).toMatchObject({ statistic: 0, pValue: 1 });
  });
  it.each([
    ['length mismatch', () => pairedTTest([1, 2, 3], [1, 2]), /pairedTTest: a and b must pair the same cases, got lengths 3 and 2/],
    ['too few complete pairs', () => wilcoxonSignedRank([1, null], [2, 3]), /wilcoxonSignedRank: needs at least 2 complete pairs, got 1 of 2/],
    ['not arrays', () => pairedTTest('1,2' as never, [1, 2]), /pairedTTest: a and b must be arrays/],
  ])('rejects %s', (_n, f, msg) => {
    expect(f).toThrow(msg);
  });
});

describe('summarize', () => {
  it.each([
    [[1, 2, 3, null, NaN], { n: 5, count: 3, missing: 2, mean: 2, std: 1 }],
    [[0.5], { n: 1, count: 1, missing: 0, mean: 0.5, std: null }],
    [[null, Infinity], { n: 2, count: 0, missing: 2, mean: null, std: null }],
    [[2, 4, 4, 4, 5, 5, 7, 9], { n: 8, count: 8, missing: 0, mean: 5, std: Math.sqrt(32 / 7) }],
  ])('summarize(%j)', (values, expected) => {
    const s = summarize(values);
    expect(s).toMatchObject({ n: expected.n, count: expected.count, missing: expected.missing });
    if (expected.mean === null) expect(s.mean).toBeNull();
    else expect(s.mean).toBeCloseTo(expected.mean, 12);
    if (expected.std === null) expect(s.std).toBeNull();
    else expect(s.std).toBeCloseTo(expected.std, 12);
  });
});
