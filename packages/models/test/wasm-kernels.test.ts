/**
 * The wasm training kernels (Conv2DBackpropFilter added, Conv2DBackpropInput replaced) against
 * the pure-JS cpu backend's reference kernels, and a plain loop for dilation (which TensorFlow.js'
 * own conv gradient does not support).
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loopFilterGrad, relErr, seeded as seedHelper } from './helpers';
import { bceLoss, buildBenchUnet, conv2dBackpropFilterViaConv, planBackpropFilter, usePortableBackend } from '../src/index';

type Pad = 'same' | 'valid';

/** Seeded inputs in [-1, 1), identical on both backends (generated as plain arrays). */
const seeded = (n: number, seed: number) => seedHelper(n, seed, -1, 1);

async function gradsOn(
  backend: string,
  xShape: [number, number, number, number],
  wShape: [number, number, number, number],
  stride: number,
  pad: Pad,
) {
  await tf.setBackend(backend);
  const x = tf.tensor4d(seeded(xShape.reduce((a, b) => a * b), 1), xShape);
  const w = tf.tensor4d(seeded(wShape.reduce((a, b) => a * b), 2), wShape);
  // A non-uniform upstream gradient: loss = sum(y^2) / 2 gives dy = y.
  const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.mul(0.5, tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad)))));
  const [dx, dw] = g([x, w]);
  const out = { dx: await dx.data(), dw: await dw.data() };
  tf.dispose([x, w, dx, dw]);
  return out;
}

const cases: [string, [number, number, number, number], [number, number, number, number], number, Pad][] = [
  ['3x3 stride 1 same', [2, 9, 7, 3], [3, 3, 3, 5], 1, 'same'],
  ['3x3 stride 2 same (odd size)', [2, 9, 7, 3], [3, 3, 3, 5], 2, 'same'],
  ['3x3 stride 1 valid', [1, 11, 10, 4], [3, 3, 4, 2], 1, 'valid'],
  ['3x3 stride 2 valid (odd size)', [3, 13, 9, 2], [3, 3, 2, 6], 2, 'valid'],
  ['5x5 stride 2 same', [1, 16, 16, 1], [5, 5, 1, 8], 2, 'same'],
  ['2x2 stride 2 valid (patchify)', [2, 8, 8, 3], [2, 2, 3, 4], 2, 'valid'],
  ['1x1 stride 1', [2, 6, 5, 16], [1, 1, 16, 1], 1, 'same'],
  ['4x4 stride 3 same', [1, 10, 11, 2], [4, 4, 2, 3], 3, 'same'],
  ['3x3 many channels', [1, 8, 8, 32], [3, 3, 32, 48], 1, 'same'],
];

describe('wasm conv gradients match the cpu backend', () => {
  beforeAll(async () => {
    await usePortableBackend('wasm', { convEngine: 'wasm' });
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
  });
  it.each(cases)('%s', async (_name, xShape, wShape, stride, pad) => {
    const ref = await gradsOn('cpu', xShape, wShape, stride, pad);
    const got = await gradsOn('wasm', xShape, wShape, stride, pad);
    const eW = relErr(got.dw, ref.dw);
    const eX = relErr(got.dx, ref.dx);
    expect(eW).toBeLessThanOrEqual(1e-5);
    expect(eX).toBeLessThanOrEqual(1e-5);
  });

  it('does not leak tensors in a gradient call', async () => {
    await tf.setBackend('wasm');
    const x = tf.randomNormal([1, 8, 8, 2]) as tf.Tensor4D;
    const w = tf.randomNormal([3, 3, 2, 3]) as tf.Tensor4D;
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same')));
    tf.dispose(g([x, w]));
    const before = tf.memory().numTensors;
    const bytesBefore = tf.memory().numBytes;
    tf.dispose(g([x, w]));
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.memory().numBytes).toBe(bytesBefore);
    tf.dispose([x, w]);
  });
});

describe('filter gradient with dilation (against a plain loop)', () => {
  it.each([
    [[1, 9, 9, 2], [3, 3, 2, 2], 2, 'same'],
    [[2, 10, 8, 1], [3, 3, 1, 3], 3, 'valid'],
  ] as [[number, number, number, number], [number, number, number, number], number, Pad][])(
    'x %j, w %j, dilation %i, %s',
    async (xShape, wShape, dil, pad) => {
      await tf.setBackend('cpu');
      const x = tf.tensor4d(seeded(xShape.reduce((a, b) => a * b), 3), xShape);
      const y = tf.conv2d(x, tf.zeros(wShape) as tf.Tensor4D, 1, pad, 'NHWC', dil);
      const dy = tf.tensor4d(seeded(y.size, 4), y.shape as [number, number, number, number]);
      const attrs = { strides: 1, pad, filterShape: wShape, dilations: dil } as const;
      const got = await conv2dBackpropFilterViaConv(x, dy, attrs).data();
      const { pad: p } = planBackpropFilter(xShape, dy.shape as [number, number, number, number], attrs);
      const [pt, pl] = [p[1][0], p[2][0]];
      const xv = await x.data();
      const dyv = await dy.data();
      const ref = loopFilterGrad(xv, dyv, xShape, wShape, dy.shape, dil, pt, pl);
      expect(relErr(got, ref)).toBeLessThanOrEqual(1e-5);
      tf.dispose([x, y, dy]);
    },
  );
});

describe('a short training run on wasm follows the cpu loss curve', () => {
  async function lossCurve(backend: 'cpu' | 'wasm'): Promise<number[]> {
    await usePortableBackend(backend, { convEngine: 'wasm' });
    const model = buildBenchUnet(16);
    // Identical initial weights on both backends.
    model.setWeights(model.getWeights().map((w, i) => tf.tensor(seeded(w.size, 10 + i).map((v) => v * 0.3), w.shape)));
    const x = tf.tensor4d(seeded(2 * 16 * 16, 7).map((v) => (v + 1) / 2), [2, 16, 16, 1]);
    const y = tf.tensor4d(seeded(2 * 16 * 16, 8).map((v) => (v > 0.6 ? 1 : 0)), [2, 16, 16, 1]);
    const opt = tf.train.adam(1e-2);
    const losses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const l = opt.minimize(() => bceLoss(y, model.apply(x, { training: true }) as tf.Tensor), true)!;
      losses.push((await l.data())[0]);
      l.dispose();
    }
    tf.dispose([x, y]);
    opt.dispose();
    model.dispose();
    return losses;
  }
  it('matches step by step and decreases', async () => {
    const cpu = await lossCurve('cpu');
    const wasm = await lossCurve('wasm');
    for (let i = 0; i < cpu.length; i++) expect(Math.abs(wasm[i] - cpu[i])).toBeLessThan(1e-4 * Math.max(1, cpu[i]));
    expect(wasm[wasm.length - 1]).toBeLessThan(wasm[0]);
    await tf.setBackend('cpu');
  });
});

describe('ResizeNearestNeighborGrad (cpu backend batch > 1 fix) agrees with wasm and a hand sum', () => {
  it.each([
    [[2, 2, 2, 1]],
    [[3, 4, 3, 2]],
    [[2, 8, 8, 3]],
  ] as [[number, number, number, number]][])('matches cpu for %j upsampled x2', async (shape) => {
    const [B, H, W, C] = shape;
    const r = Array.from({ length: B * 2 * H * 2 * W * C }, (_, i) => (i * 7919) % 13);
    const run = async (b: 'cpu' | 'wasm') => {
      await usePortableBackend(b, { convEngine: 'wasm' });
      const x = tf.zeros(shape);
      const rt = tf.tensor4d(r, [B, 2 * H, 2 * W, C]);
      const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.image.resizeNearestNeighbor(a as tf.Tensor4D, [2 * H, 2 * W]), rt)))(x);
      const v = Array.from(await g.data());
      tf.dispose([x, rt, g]);
      return v;
    };
    const cpu = await run('cpu');
    expect(await run('wasm')).toEqual(cpu);
    // Hand check of every cell: the sum of r over its 2 x 2 block.
    const at = (b: number, y: number, x: number, c: number) => r[((b * 2 * H + y) * 2 * W + x) * C + c];
    const expected: number[] = [];
    for (let b = 0; b < B; b++)
      for (let y = 0; y < H; y++)
        for (let x = 0; x < W; x++)
          for (let c = 0; c < C; c++)
            expected.push(at(b, 2 * y, 2 * x, c) + at(b, 2 * y, 2 * x + 1, c) + at(b, 2 * y + 1, 2 * x, c) + at(b, 2 * y + 1, 2 * x + 1, c));
    expect(cpu).toEqual(expected);
    await tf.setBackend('cpu');
  });
});
