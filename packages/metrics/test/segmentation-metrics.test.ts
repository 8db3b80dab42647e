import { describe, expect, it } from 'vitest';
import { CaseMetricRecordSchema } from '@mrlseg/types';
import {
  computeSegmentationMetrics,
  computeSurfaceDistances,
  euclideanDistanceTransform,
  extractBoundary,
  hausdorffPercentileFromDistances,
  percentile,
  toCaseMetricRecord,
} from '../src/index';
import { bruteBoundary, bruteSurfaceMetrics, maskFrom, randomMask, rect, rng } from './helpers';

const S8 = Math.SQRT2 * 2; // sqrt(8)
const W = 12;
const H = 10;
const sq3 = (x0: number, y0: number) => rect(W, H, x0, y0, 3, 3);
const ring = (x0: number, y0: number, size: number) => {
  const m = rect(W, H, x0, y0, size, size);
  for (let y = y0 + 1; y < y0 + size - 1; y++) for (let x = x0 + 1; x < x0 + size - 1; x++) m[y * W + x] = 0;
  return m;
};
const squarePlusStray = () => {
  const m = sq3(1, 1);
  m[2 * W + 10] = 1; // isolated pixel at (10, 2), 7 px right of the square's edge pixel (3, 2)
  return m;
};
const empty = () => new Uint8Array(W * H);

// Hand-worked cases (pixels, spacing 1, NSD tolerance 1, HD95 'directed'). Derivations:
// - pixels (1,1) vs (4,5): each boundary is the pixel itself; distance sqrt(3^2 + 4^2) = 5.
// - 3x3 squares shifted by one column: each boundary is the 8-pixel ring; 4 of 8 ring pixels of
//   each lie on the other's ring (0), the other 4 are 1 away: ASSD 8/16, HD = HD95 = 1, NSD 1.
// - filled 5x5 vs its 1-px ring: identical boundaries (16 px) -> all distances 0, Dice 32/41.
// - 3x3 filled (8 boundary px, each 2 from the 7x7 ring) vs the concentric 7x7 ring (24 px:
//   12 at 2, 8 at sqrt5, 4 at sqrt8): HD sqrt8; directed HD95 max(2, p95 of ring) = sqrt8;
//   ASSD (16 + 24 + 8 sqrt5 + 4 sqrt8) / 32; NSD(1) 0.
// - 3x3 square vs the same square plus a stray pixel 7 away: A->B 8 zeros; B->A 8 zeros and 7.
//   Directed HD95 = p95 of 9 values = 0 + 0.6 * 7 = 4.2 (position 0.95 * 8 = 7.6);
//   pooled HD95 = p95 of 17 values = 0 + 0.2 * 7 = 1.4 (position 15.2); ASSD 7/17; NSD 16/17.
const cases: Array<[string, Uint8Array, Uint8Array, Record<string, number | null | boolean>]> = [
  ['single pixels 5 apart', maskFrom(W, H, [[1, 1]]), maskFrom(W, H, [[4, 5]]), { dice: 0, iou: 0, precision: 0, recall: 0, hd: 5, hd95: 5, assd: 5, nsd: 0 }],
  ['identical single pixel', maskFrom(W, H, [[3, 3]]), maskFrom(W, H, [[3, 3]]), { dice: 1, iou: 1, precision: 1, recall: 1, hd: 0, hd95: 0, assd: 0, nsd: 1 }],
  ['3x3 squares shifted by 1', sq3(2, 2), sq3(3, 2), { dice: 2 / 3, iou: 0.5, precision: 2 / 3, recall: 2 / 3, hd: 1, hd95: 1, assd: 0.5, nsd: 1 }],
  ['5x5 ring vs filled 5x5', ring(1, 1, 5), rect(W, H, 1, 1, 5, 5), { dice: 32 / 41, iou: 16 / 25, precision: 1, recall: 16 / 25, hd: 0, hd95: 0, assd: 0, nsd: 1 }],
  ['3x3 filled vs concentric 7x7 ring', sq3(3, 2), ring(1, 0, 7), { dice: 0, iou: 0, precision: 0, recall: 0, hd: S8, hd95: S8, assd: (16 + 24 + 8 * Math.sqrt(5) + 4 * S8) / 32, nsd: 0 }],
  ['square vs square + stray pixel', sq3(1, 1), squarePlusStray(), { dice: 18 / 19, iou: 0.9, precision: 1, recall: 0.9, hd: 7, hd95: 4.2, assd: 7 / 17, nsd: 16 / 17 }],
  ['empty ground truth', sq3(1, 1), empty(), { dice: 0, iou: 0, precision: 0, recall: null, hd: null, hd95: null, assd: null, nsd: 0, emptyGt: true, emptyPred: false }],
  ['empty prediction', empty(), sq3(1, 1), { dice: 0, iou: 0, precision: null, recall: 0, hd: null, hd95: null, assd: null, nsd: 0, emptyGt: false, emptyPred: true }],
  ['both empty', empty(), empty(), { dice: null, iou: null, precision: null, recall: null, hd: null, hd95: null, assd: null, nsd: null, emptyGt: true, emptyPred: true }],
];

describe('computeSegmentationMetrics: hand-worked cases', () => {
  it.each(cases)('%s', (_name, pred, gt, expected) => {
    const m = computeSegmentationMetrics(pred, gt, { width: W, height: H });
    for (const [k, v] of Object.entries(expected)) {
      const got = m[k as keyof typeof m];
      if (typeof v === 'number') expect(got, k).toBeCloseTo(v, 12);
      else expect(got, k).toBe(v);
    }
  });

  it('names the HD95 convention: directed (MONAI) vs pooled (medpy) on the stray-pixel case', () => {
    const d = computeSurfaceDistances(sq3(1, 1), squarePlusStray(), W, H);
    expect(hausdorffPercentileFromDistances(d, 95, 'directed')).toBeCloseTo(4.2, 12);
    expect(hausdorffPercentileFromDistances(d, 95, 'pooled')).toBeCloseTo(1.4, 12);
    const pooled = computeSegmentationMetrics(sq3(1, 1), squarePlusStray(), { width: W, height: H, hd95Convention: 'pooled' });
    expect(pooled.hd95).toBeCloseTo(1.4, 12);
    expect(pooled.hd95Convention).toBe('pooled');
  });

  it("scores two empty masks as perfect with emptyBoth: 'perfect' and still flags them", () => {
    const m = computeSegmentationMetrics(empty(), empty(), { width: W, height: H, emptyBoth: 'perfect' });
    expect(m).toMatchObject({ dice: 1, iou: 1, precision: 1, recall: 1, hd: 0, hd95: 0, assd: 0, nsd: 1, emptyGt: true, emptyPred: true });
  });

  it('uses anisotropic spacing: pixels 3 columns and 4 rows apart at spacing [0.5, 2] are sqrt(1.5^2 + 8^2) apart', () => {
    const m = computeSegmentationMetrics(maskFrom(W, H, [[1, 1]]), maskFrom(W, H, [[4, 5]]), { width: W, height: H, spacing: [0.5, 2] });
    expect(m.hd).toBeCloseTo(Math.sqrt(1.5 ** 2 + 64), 12);
    expect(m.spacing).toEqual([0.5, 2]);
  });

  it('applies the NSD tolerance inclusively: shifted squares at tolerance 0 and 1', () => {
    expect(computeSegmentationMetrics(sq3(2, 2), sq3(3, 2), { width: W, height: H, nsdTolerance: 0 }).nsd).toBeCloseTo(0.5, 12);
    expect(computeSegmentationMetrics(sq3(2, 2), sq3(3, 2), { width: W, height: H, nsdTolerance: 1 }).nsd).toBe(1);
  });

  it('reports the ground truth fbRatio, foreground fraction and interval, and converts to a valid CaseMetricRecord', () => {
    const gt = rect(10, 10, 0, 0, 1, 2); // 2 foreground, 98 background
    const m = computeSegmentationMetrics(rect(10, 10, 0, 0, 1, 1), gt, { width: 10, height: 10, intervals: 'ct' });
    expect(m.fbRatio).toBeCloseTo(2 / 98, 15);
    expect(m.foregroundFraction).toBeCloseTo(0.02, 15);
    expect(m.interval).toBe('2-4%');
    const rec = toCaseMetricRecord(m, { runId: 'r1', caseId: 'c1', patient: 'p1' });
    expect(CaseMetricRecordSchema.parse(rec)).toEqual(rec);
    expect(Object.keys(rec).sort()).toEqual(Object.keys(CaseMetricRecordSchema.shape).sort());
    expect([rec.maskedFraction, rec.lesionMaskedFraction]).toEqual([null, null]); // no agent
    const withAgent = toCaseMetricRecord(m, { runId: 'r1', caseId: 'c1', patient: 'p1' }, { maskedFraction: 0.25, lesionMaskedFraction: 0.5 });
    expect(CaseMetricRecordSchema.parse(withAgent)).toMatchObject({ maskedFraction: 0.25, lesionMaskedFraction: 0.5, dice: rec.dice });
    expect(computeSegmentationMetrics(gt, gt, { width: 10, height: 10 }).interval).toBeNull();
  });
});

describe('computeSegmentationMetrics: properties over random masks', () => {
  const r = rng(42);
  const pairs = Array.from({ length: 40 }, (_, i) => {
    const w = 8 + Math.floor(r() * 40);
    const h = 8 + Math.floor(r() * 40);
    const a = randomMask(w, h, r);
    // Half the pairs are perturbations of each other (realistic), half independent.
    const b = i % 2 === 0 ? randomMask(w, h, r) : a.map((v) => (r() < 0.05 ? 1 - v : v));
    const spacing: [number, number] = i % 3 === 0 ? [0.5 + r(), 0.5 + r()] : [1, 1];
    return { i, w, h, a, b, spacing };
  });

  it.each(pairs)('pair $i ($w x $h): HD family equals a brute-force O(n^2) reference; symmetry; ranges', ({ w, h, a, b, spacing }) => {
    const tol = 1.5;
    const m = computeSegmentationMetrics(a, b, { width: w, height: h, spacing, nsdTolerance: tol });
    const ref = bruteSurfaceMetrics(a, b, w, h, spacing[0], spacing[1], tol);
    expect(m.hd).toBeCloseTo(ref.hd, 9);
    expect(m.hd95).toBeCloseTo(ref.hd95Directed, 9);
    expect(m.assd).toBeCloseTo(ref.assd, 9);
    expect(m.nsd).toBeCloseTo(ref.nsd, 12);
    const pooled = computeSegmentationMetrics(a, b, { width: w, height: h, spacing, hd95Convention: 'pooled' });
    expect(pooled.hd95).toBeCloseTo(ref.hd95Pooled, 9);
    // Symmetry: swapping prediction and ground truth leaves the symmetric metrics unchanged.
    const s = computeSegmentationMetrics(b, a, { width: w, height: h, spacing, nsdTolerance: tol });
    for (const k of ['dice', 'iou', 'hd', 'hd95', 'assd', 'nsd'] as const) expect(s[k]).toBeCloseTo(m[k]!, 12);
    expect(s.precision).toBeCloseTo(m.recall!, 12);
    // Ranges and orderings.
    expect(m.dice).toBeGreaterThanOrEqual(0);
    expect(m.dice).toBeLessThanOrEqual(1);
    expect(m.iou).toBeCloseTo(m.dice! / (2 - m.dice!), 12);
    expect(m.hd!).toBeGreaterThanOrEqual(m.hd95!);
    expect(m.hd95!).toBeGreaterThanOrEqual(0);
    expect(m.hd!).toBeGreaterThanOrEqual(m.assd!);
  });
});

describe('extractBoundary', () => {
  it('keeps the 8 edge pixels of a 3x3 block filling the image (outside counts as background) and drops the centre', () => {
    const b = extractBoundary(new Uint8Array(9).fill(1), 3, 3);
    expect(Array.from(b)).toEqual([1, 1, 1, 1, 0, 1, 1, 1, 1]);
  });
  it('uses 4-connectivity: a plus-shaped mask keeps its centre only when all four neighbours are set', () => {
    const plus = maskFrom(5, 5, [[2, 1], [1, 2], [2, 2], [3, 2], [2, 3]]);
    expect(extractBoundary(plus, 5, 5)[2 * 5 + 2]).toBe(0);
    const r = rng(3);
    const m = randomMask(30, 20, r);
    const b = extractBoundary(m, 30, 20);
    const pts = bruteBoundary(m, 30, 20);
    expect(b.reduce((s, v) => s + v, 0)).toBe(pts.length);
    for (const [x, y] of pts) expect(b[y * 30 + x]).toBe(1);
  });
});

describe('euclideanDistanceTransform', () => {
  it.each([
    [[1, 1] as [number, number]],
    [[0.7, 2.3] as [number, number]],
  ])('equals brute force on random seeds at spacing %j', (spacing) => {
    const r = rng(11);
    const w = 37;
    const h = 23;
    const seeds = new Uint8Array(w * h).map(() => (r() < 0.02 ? 1 : 0));
    const d = euclideanDistanceTransform(seeds, w, h, spacing);
    const pts: Array<[number, number]> = [];
    for (let i = 0; i < seeds.length; i++) if (seeds[i]) pts.push([i % w, Math.floor(i / w)]);
    for (let i = 0; i < d.length; i++) {
      const x = i % w;
      const y = Math.floor(i / w);
      const ref = Math.sqrt(Math.min(...pts.map(([u, v]) => ((x - u) * spacing[0]) ** 2 + ((y - v) * spacing[1]) ** 2)));
      expect(d[i]).toBeCloseTo(ref, 10);
    }
  });
  it('is Infinity everywhere without seeds and 0 at seeds', () => {
    expect(Array.from(euclideanDistanceTransform(new Uint8Array(6), 3, 2))).toEqual(Array(6).fill(Infinity));
    expect(euclideanDistanceTransform(maskFrom(3, 2, [[2, 1]]), 3, 2)[5]).toBe(0);
  });
});

describe('percentile', () => {
  it.each([
    [[1, 2, 3, 4, 5], 95, 4.8],
    [[0, 10], 50, 5],
    [[7], 95, 7],
    [[3, 1, 2], 0, 1],
    [[3, 1, 2], 100, 3],
  ])('percentile(%j, %d) = %d (numpy linear)', (v, q, expected) => {
    expect(percentile(v, q)).toBeCloseTo(expected, 12);
  });
});

describe('argument validation', () => {
  it.each([
    ['pred of wrong length', () => computeSegmentationMetrics(new Uint8Array(5), new Uint8Array(6), { width: 3, height: 2 }), /computeSegmentationMetrics: pred has 5 values, expected width x height = 3 x 2 = 6/],
    ['gt not a Uint8Array', () => computeSegmentationMetrics(new Uint8Array(6), [0, 0, 0, 0, 0, 0] as unknown as Uint8Array, { width: 3, height: 2 }), /computeSegmentationMetrics: gt must be a Uint8Array.*got Array/],
    ['non-integer width', () => computeSegmentationMetrics(new Uint8Array(6), new Uint8Array(6), { width: 2.5, height: 2 }), /width must be a positive integer, got 2.5/],
    ['bad spacing', () => computeSegmentationMetrics(new Uint8Array(6), new Uint8Array(6), { width: 3, height: 2, spacing: [1, 0] }), /spacing must be \[sx, sy\] with two finite positive numbers, got \[1,0\]/],
    ['negative tolerance', () => computeSegmentationMetrics(new Uint8Array(6), new Uint8Array(6), { width: 3, height: 2, nsdTolerance: -1 }), /nsdTolerance must be a finite number >= 0, got -1/],
    ['unknown HD95 convention', () => computeSegmentationMetrics(new Uint8Array(6), new Uint8Array(6), { width: 3, height: 2, hd95Convention: 'mean' as never }), /hd95Convention must be one of directed, pooled, got 'mean'/],
    ['percentile out of range', () => percentile([1], 101), /percentile: q must lie in \[0, 100\], got 101/],
  ])('%s', (_n, f, msg) => {
    expect(f).toThrow(msg);
  });
});
