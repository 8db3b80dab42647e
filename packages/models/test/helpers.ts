import * as tf from '@tensorflow/tfjs';
import type { SegNetSizes } from '@mrlseg/types';

/** A tiny Segmentation-Net configuration that keeps the tests fast on 2 cores. */
export const TINY: SegNetSizes = { channels: [4, 8, 8, 16], hidden: 16, layers: 2, heads: 2, mlp: 32, decoderChannels: [8, 8, 4, 4] };

/** Deterministic uniform values in [lo, hi) (xorshift32), independent of the backend. */
export function seeded(n: number, seed: number, lo = 0, hi = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = lo + ((s >>> 0) / 4294967296) * (hi - lo);
  }
  return out;
}

/** Sets every batch-norm layer's gamma, beta, moving mean and variance to non-trivial values. */
export function randomiseBatchNorm(model: tf.LayersModel, seed: number): void {
  let k = seed;
  for (const l of model.layers) {
    if (l.getClassName() !== 'BatchNormalization') continue;
    const ws = l.getWeights();
    const c = ws[0].shape[0];
    l.setWeights([
      tf.tensor1d(seeded(c, k++, 0.5, 1.5)),
      tf.tensor1d(seeded(c, k++, -0.2, 0.2)),
      tf.tensor1d(seeded(c, k++, -0.2, 0.2)),
      tf.tensor1d(seeded(c, k++, 0.5, 2)),
    ]);
  }
}

/** Norm-relative error ||a - b|| / ||b|| (b the reference; guarded against an all-zero b). */
export const relErr = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / Math.max(den, 1e-30));
};

export const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  if (a.length !== b.length) throw new Error(`maxAbsDiff: lengths ${a.length} and ${b.length} differ`);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
};

/**
 * Plain-loop reference of the convolution filter gradient (NHWC, stride 1, dilation `dil`,
 * leading padding pt/pl): dW[kh, kw, ci, co] = sum_{b, oy, ox} x[b, oy + kh*dil - pt, ox + kw*dil - pl, ci] * dy[b, oy, ox, co].
 */
export function loopFilterGrad(
  xv: ArrayLike<number>,
  dyv: ArrayLike<number>,
  xShape: readonly number[],
  wShape: readonly number[],
  dyShape: readonly number[],
  dil: number,
  pt: number,
  pl: number,
): Float64Array {
  const [B, H, W, Ci] = xShape;
  const [KH, KW, , Co] = wShape;
  const [, OH, OW] = dyShape;
  const ref = new Float64Array(KH * KW * Ci * Co);
  for (let kh = 0; kh < KH; kh++)
    for (let kw = 0; kw < KW; kw++)
      for (let ci = 0; ci < Ci; ci++)
        for (let co = 0; co < Co; co++) {
          let s = 0;
          for (let b = 0; b < B; b++)
            for (let oy = 0; oy < OH; oy++)
              for (let ox = 0; ox < OW; ox++) {
                const iy = oy + kh * dil - pt;
                const ix = ox + kw * dil - pl;
                if (iy >= 0 && iy < H && ix >= 0 && ix < W) s += xv[((b * H + iy) * W + ix) * Ci + ci] * dyv[((b * OH + oy) * OW + ox) * Co + co];
              }
          ref[((kh * KW + kw) * Ci + ci) * Co + co] = s;
        }
  return ref;
}
