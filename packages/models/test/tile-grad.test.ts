/**
 * The Tile gradient of runtime/tile-grad.ts (one Reshape + Sum instead of tfjs-core's Slice + Add
 * per repetition) against a brute-force sum: dx[j] = sum of dy over every output position whose
 * source is j, for ranks 1 to 5 (tfjs-core's own gradient stops at rank 4), on cpu and wasm.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerTileGradient, usePortableBackend } from '../src/index';
import { relErr, seeded } from './helpers';

/** dx of tile(x, reps) under upstream dy, by visiting every output element. */
function bruteTileGrad(xShape: number[], reps: number[], dy: Float32Array): Float64Array {
  const outShape = xShape.map((n, d) => n * reps[d]);
  const dx = new Float64Array(xShape.reduce((a, b) => a * b, 1));
  const idx = new Array<number>(outShape.length).fill(0);
  for (let o = 0; o < dy.length; o++) {
    let src = 0;
    for (let d = 0; d < xShape.length; d++) src = src * xShape[d] + (idx[d] % xShape[d]);
    dx[src] += dy[o];
    for (let d = outShape.length - 1; d >= 0; d--) {
      if (++idx[d] < outShape[d]) break;
      idx[d] = 0;
    }
  }
  return dx;
}

beforeAll(async () => {
  await usePortableBackend('wasm', { convEngine: 'wasm' });
});
afterAll(async () => {
  await tf.setBackend('cpu');
});

describe('Tile gradient (runtime/tile-grad.ts)', () => {
  it.each([
    ['cpu', [5], [3]],
    ['cpu', [1, 1, 8], [4, 6, 1]], // LayerNormalization's gamma / beta broadcast
    ['cpu', [4, 6, 1], [1, 1, 8]], // its mean / variance broadcast
    ['cpu', [2, 3], [1, 1]],
    ['cpu', [2, 1, 3, 2], [2, 3, 1, 2]],
    ['cpu', [2, 2, 1, 3, 2], [1, 2, 3, 1, 2]], // rank 5: tfjs-core has no gradient for it
    ['wasm', [1, 1, 8], [4, 6, 1]],
    ['wasm', [2, 1, 3, 2], [2, 3, 1, 2]],
  ] as ['cpu' | 'wasm', number[], number[]][])('%s: x %j tiled by %j', async (backend, xShape, reps) => {
    registerTileGradient(); // idempotent (backend.ts registers it at import)
    await tf.setBackend(backend);
    const n = xShape.reduce((a, b) => a * b, 1) * reps.reduce((a, b) => a * b, 1);
    const dyData = seeded(n, 5, -1, 1);
    const x = tf.tensor(seeded(n / reps.reduce((a, b) => a * b, 1), 4, -1, 1), xShape);
    const dy = tf.tensor(dyData, xShape.map((s, d) => s * reps[d]));
    const before = tf.memory().numTensors;
    const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.tile(a, reps), dy)))(x);
    expect(g.shape).toEqual(xShape);
    const got = await g.data();
    g.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(relErr(Float32Array.from(got), Float32Array.from(bruteTileGrad(xShape, reps, dyData)))).toBeLessThan(1e-6);
    tf.dispose([x, dy]);
  });

  it('makes the layer-norm of 4 x 64 x 128 tokens differentiate with a handful of kernels, not 768 slices', async () => {
    await tf.setBackend('cpu');
    const ln = tf.layers.layerNormalization({ axis: -1 });
    const x = tf.randomUniform([4, 64, 128], -1, 1, 'float32', 3);
    ln.apply(x);
    const info = await tf.profile(() => {
      const { grads } = tf.variableGrads(() => tf.sum(ln.apply(x) as tf.Tensor) as tf.Scalar);
      tf.dispose(grads);
      return tf.scalar(0);
    });
    expect(info.kernels.filter((k) => k.name === 'Slice').length).toBe(0);
    x.dispose();
    ln.dispose();
  });
});
