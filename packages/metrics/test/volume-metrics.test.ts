/** 3-D surface distances and volume metrics against hand-worked values, with anisotropic spacing. */
import { describe, expect, it } from 'vitest';
import { computeSurfaceDistances3d, computeVolumeMetrics } from '../src/index';

const vol = (dims: [number, number, number], fg: (x: number, y: number, z: number) => boolean): Uint8Array => {
  const [nx, ny, nz] = dims;
  const m = new Uint8Array(nx * ny * nz);
  for (let z = 0; z < nz; z++) for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) m[x + nx * (y + ny * z)] = fg(x, y, z) ? 1 : 0;
  return m;
};

describe('computeSurfaceDistances3d', () => {
  it('two single voxels: the Euclidean distance in spacing units along x, y and z', () => {
    const dims: [number, number, number] = [4, 4, 5];
    const a = vol(dims, (x, y, z) => x === 0 && y === 0 && z === 0);
    const b = vol(dims, (x, y, z) => x === 2 && y === 1 && z === 3);
    const d = computeSurfaceDistances3d(a, b, dims, [0.5, 2, 3]);
    // sqrt((2 * 0.5)² + (1 * 2)² + (3 * 3)²) = sqrt(1 + 4 + 81)
    expect(Array.from(d.aToB)).toEqual([Math.sqrt(86)]);
    expect(Array.from(d.bToA)).toEqual([Math.sqrt(86)]);
  });

  it('an empty mask gives Infinity to the other and nothing from itself', () => {
    const dims: [number, number, number] = [3, 3, 3];
    const d = computeSurfaceDistances3d(vol(dims, () => false), vol(dims, (x) => x === 1), dims);
    expect(d.aToB.length).toBe(0);
    expect(Array.from(d.bToA)).toEqual(new Array(9).fill(Infinity));
  });

  it('validates its arguments, naming function and argument', () => {
    const m = new Uint8Array(8);
    expect(() => computeSurfaceDistances3d(m, m, [2, 2, 3])).toThrow(/computeSurfaceDistances3d: a has 8 values, expected nx x ny x nz = 2 x 2 x 3 = 12/);
    expect(() => computeSurfaceDistances3d(m, m, [2, 2] as never)).toThrow(/computeSurfaceDistances3d: dims must be \[nx, ny, nz\]/);
    expect(() => computeSurfaceDistances3d(m, m, [2, 2, 2], [1, 0, 1])).toThrow(/computeSurfaceDistances3d: spacing must be \[sx, sy, sz\]/);
    expect(() => computeSurfaceDistances3d([] as never, m, [2, 2, 2])).toThrow(/a must be a Uint8Array/);
  });
});

describe('computeVolumeMetrics', () => {
  // A 3 x 3 x 3 cube at x, y in 1..3, z in 1..3 (A) and the same cube one slice higher (B), in a
  // 5 x 5 x 6 volume with slices 2 mm apart. Surfaces: all voxels but the centres (2,2,2) of A and
  // (2,2,3) of B. From A: the 9 voxels of z = 1 are one slice (2 mm) from B's bottom layer; the 8
  // surface voxels of z = 2 and the 8 of z = 3 other than (2,2,3) lie on B's surface (0); (2,2,3)
  // is B's centre, 1 mm from B's surface voxel (1,2,3). B mirrors A.
  const dims: [number, number, number] = [5, 5, 6];
  const inCube = (x: number, y: number) => x >= 1 && x <= 3 && y >= 1 && y <= 3;
  const A = vol(dims, (x, y, z) => inCube(x, y) && z >= 1 && z <= 3);
  const B = vol(dims, (x, y, z) => inCube(x, y) && z >= 2 && z <= 4);

  it('matches the hand-worked distances, HD, HD95, ASSD, NSD and Dice', () => {
    const d = computeSurfaceDistances3d(A, B, dims, [1, 1, 2]);
    const hist = (v: Float64Array) => [...v].reduce<Record<string, number>>((h, x) => ({ ...h, [x]: (h[x] ?? 0) + 1 }), {});
    expect(hist(d.aToB)).toEqual({ 0: 16, 1: 1, 2: 9 });
    expect(hist(d.bToA)).toEqual({ 0: 16, 1: 1, 2: 9 });
    const m = computeVolumeMetrics(A, B, { dims, spacing: [1, 1, 2], nsdTolerance: 1 });
    expect(m.dice).toBeCloseTo((2 * 18) / 54, 12);
    expect(m.iou).toBeCloseTo(18 / 36, 12);
    expect(m.hd).toBe(2);
    expect(m.hd95).toBe(2); // the 95th percentile of 26 values sits between the 24th and 25th: both 2
    expect(m.assd).toBeCloseTo((2 * (9 * 2 + 1)) / 52, 12);
    expect(m.nsd).toBeCloseTo(34 / 52, 12);
    expect([m.tp, m.fp, m.fn, m.predForeground, m.gtForeground]).toEqual([18, 9, 9, 27, 27]);
    // Isotropic voxels: the slice step is 1, so HD is 1.
    expect(computeVolumeMetrics(A, B, { dims }).hd).toBe(1);
  });

  it('follows the empty-mask convention', () => {
    const empty = new Uint8Array(A.length);
    expect(computeVolumeMetrics(empty, empty, { dims })).toMatchObject({ dice: null, hd: null, nsd: null, emptyGt: true, emptyPred: true });
    expect(computeVolumeMetrics(empty, empty, { dims, emptyBoth: 'perfect' })).toMatchObject({ dice: 1, hd: 0, nsd: 1 });
    expect(computeVolumeMetrics(empty, B, { dims })).toMatchObject({ dice: 0, hd: null, hd95: null, nsd: 0, emptyPred: true, emptyGt: false });
    expect(() => computeVolumeMetrics(A, B, { dims, hd95Convention: 'median' as never })).toThrow(/computeVolumeMetrics: hd95Convention must be one of directed, pooled/);
  });
});
