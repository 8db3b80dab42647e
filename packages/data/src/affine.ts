/**
 * Voxel-to-world affines of NIfTI headers (4 x 4, row-major number[][], world in RAS+ mm as NIfTI
 * defines it): the affine a header describes (sform when sform_code > 0, else qform when
 * qform_code > 0, else the voxel sizes alone, the precedence nibabel and ITK follow), and a
 * header geometry (qform and sform) that describes a given affine.
 */
import type { NiftiGeometry } from './nifti';

export type Affine = number[][];

function checkAffine(fn: string, a: unknown): asserts a is Affine {
  const ok = Array.isArray(a) && a.length >= 3 && a.slice(0, 3).every((r) => Array.isArray(r) && r.length === 4 && r.every((v) => Number.isFinite(v)));
  if (!ok) throw new RangeError(`${fn}: affine must be a 4 x 4 (or 3 x 4) array of finite numbers, got ${JSON.stringify(a)}`);
}

/** The rotation of quaternion (b, c, d) with a = sqrt(1 - b² - c² - d²), as NIfTI's qform defines it. */
function quaternionMatrix(b: number, c: number, d: number): number[][] {
  const a = Math.sqrt(Math.max(0, 1 - (b * b + c * c + d * d)));
  return [
    [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
    [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
    [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b],
  ];
}

/**
 * The affine a NIfTI header describes: srow rows when sformCode > 0; else the qform (quaternion
 * rotation, columns scaled by dx, dy and qfac dz, plus qoffset) when qformCode > 0; else
 * diag(dx, dy, dz) with no offset.
 */
export function niftiAffine(g: NiftiGeometry): Affine {
  const [qfac0, dx, dy, dz] = g.pixdim;
  if (g.sformCode > 0) return [...g.srow.map((r) => [...r]), [0, 0, 0, 1]];
  if (g.qformCode > 0) {
    const qfac = qfac0 === -1 ? -1 : 1;
    const R = quaternionMatrix(...g.quatern);
    const s = [dx, dy, qfac * dz];
    return [0, 1, 2].map((r) => [R[r][0] * s[0], R[r][1] * s[1], R[r][2] * s[2], g.qoffset[r]]).concat([[0, 0, 0, 1]]);
  }
  return [
    [dx, 0, 0, 0],
    [0, dy, 0, 0],
    [0, 0, dz, 0],
    [0, 0, 0, 1],
  ];
}

/**
 * A NIfTI geometry for a volume of `dims` whose voxel (i, j, k) lies at `affine` (i, j, k, 1):
 * the sform holds the affine exactly (sform_code 1, scanner anatomical); the qform (code 1) holds
 * its rotation and offset, with the columns made orthonormal (Gram-Schmidt) when the affine is
 * sheared; pixdim holds the column lengths and qfac the handedness; units mm.
 */
export function geometryFromAffine(affine: Affine, dims: readonly [number, number, number]): NiftiGeometry {
  checkAffine('geometryFromAffine', affine);
  if (!(dims.length === 3 && dims.every((d) => Number.isInteger(d) && d > 0))) throw new RangeError(`geometryFromAffine: dims must be three positive integers, got ${JSON.stringify(dims)}`);
  const col = (c: number) => [affine[0][c], affine[1][c], affine[2][c]];
  const norm = (v: number[]) => Math.hypot(v[0], v[1], v[2]);
  const sizes = [0, 1, 2].map((c) => norm(col(c)));
  if (sizes.some((s) => !(s > 0))) throw new RangeError(`geometryFromAffine: affine has a zero column (voxel size 0): ${JSON.stringify(affine)}`);
  // Orthonormal frame from the columns (Gram-Schmidt, in column order).
  const dot = (a: number[], b: number[]) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
  const unit = (v: number[]) => {
    const n = norm(v);
    if (!(n > 1e-12)) throw new RangeError('geometryFromAffine: affine columns are linearly dependent');
    return v.map((x) => x / n);
  };
  const u0 = unit(col(0));
  const c1 = col(1);
  const u1 = unit(c1.map((x, r) => x - dot(c1, u0) * u0[r]));
  const c2 = col(2);
  let u2 = unit(c2.map((x, r) => x - dot(c2, u0) * u0[r] - dot(c2, u1) * u1[r]));
  // Handedness: qfac = -1 when the third column points against u0 x u1.
  const cross = [u0[1] * u1[2] - u0[2] * u1[1], u0[2] * u1[0] - u0[0] * u1[2], u0[0] * u1[1] - u0[1] * u1[0]];
  const qfac = dot(cross, u2) < 0 ? -1 : 1;
  if (qfac < 0) u2 = u2.map((x) => -x);
  // Rotation matrix R with columns u0, u1, u2 -> quaternion (a >= 0).
  const R = [0, 1, 2].map((r) => [u0[r], u1[r], u2[r]]);
  const tr = R[0][0] + R[1][1] + R[2][2];
  let a: number, b: number, c: number, d: number;
  if (tr > 0) {
    const s = 2 * Math.sqrt(1 + tr);
    a = s / 4;
    b = (R[2][1] - R[1][2]) / s;
    c = (R[0][2] - R[2][0]) / s;
    d = (R[1][0] - R[0][1]) / s;
  } else if (R[0][0] > R[1][1] && R[0][0] > R[2][2]) {
    const s = 2 * Math.sqrt(1 + R[0][0] - R[1][1] - R[2][2]);
    a = (R[2][1] - R[1][2]) / s;
    b = s / 4;
    c = (R[0][1] + R[1][0]) / s;
    d = (R[0][2] + R[2][0]) / s;
  } else if (R[1][1] > R[2][2]) {
    const s = 2 * Math.sqrt(1 + R[1][1] - R[0][0] - R[2][2]);
    a = (R[0][2] - R[2][0]) / s;
    b = (R[0][1] + R[1][0]) / s;
    c = s / 4;
    d = (R[1][2] + R[2][1]) / s;
  } else {
    const s = 2 * Math.sqrt(1 + R[2][2] - R[0][0] - R[1][1]);
    a = (R[1][0] - R[0][1]) / s;
    b = (R[0][2] + R[2][0]) / s;
    c = (R[1][2] + R[2][1]) / s;
    d = s / 4;
  }
  if (a < 0) [b, c, d] = [-b, -c, -d];
  return {
    dims: [dims[0], dims[1], dims[2]],
    pixdim: [qfac, sizes[0], sizes[1], sizes[2]],
    xyztUnits: 2,
    qformCode: 1,
    sformCode: 1,
    quatern: [b, c, d],
    qoffset: [affine[0][3], affine[1][3], affine[2][3]],
    srow: [0, 1, 2].map((r) => [...affine[r].slice(0, 4)]) as [number[], number[], number[]],
  };
}
