/**
 * The faster wasm training kernels (runtime/conv2d-filter-grad-taps.ts, runtime/wasm-data-kernels.ts)
 * against the pure-JS cpu backend's kernels on the same seeded inputs: copies must be exact,
 * gradients equal within float tolerance; and no tensor may leak.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usePortableBackend } from '../src/index';
import { planFilterGradTaps } from '../src/runtime/conv2d-filter-grad-taps';
import { isWasmBackend } from '../src/runtime/wasm-heap';
import { setWasmSimdKernelsEnabled, wasmSimdKernels } from '../src/runtime/wasm-simd-kernels';
import { loopFilterGrad, relErr } from './helpers';

function seeded(n: number, seed: number, ints = false): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const u = (s >>> 0) / 4294967296;
    out[i] = ints ? Math.floor(u * 4) : u * 2 - 1;
  }
  return out;
}
const n = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Runs `f` on both backends with tensors built from the same arrays; returns both flat results. */
async function onBoth(inputs: { shape: number[]; seed: number; ints?: boolean }[], f: (...t: tf.Tensor[]) => tf.Tensor | tf.Tensor[]) {
  const run = async (backend: 'cpu' | 'wasm') => {
    await tf.setBackend(backend);
    const ts = inputs.map((i) => tf.tensor(seeded(n(i.shape), i.seed, i.ints), i.shape));
    const before = tf.memory().numTensors;
    const r = f(...ts);
    const outs = Array.isArray(r) ? r : [r];
    const vals = await Promise.all(outs.map(async (o) => Array.from(await o.data())));
    tf.dispose(outs);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(ts);
    return vals;
  };
  return { cpu: await run('cpu'), wasm: await run('wasm') };
}

beforeAll(async () => {
  await usePortableBackend('wasm', { convEngine: 'wasm' });
});
afterAll(async () => {
  await tf.setBackend('cpu');
});

describe('planFilterGradTaps: grid and tap offsets', () => {
  it.each([
    // x shape, dy shape, filter, dilations -> Hp, Wp, M, tail, offsets
    [[2, 8, 6, 3], [2, 8, 6, 5], [3, 3, 3, 5], [1, 1], 10, 8, 160, 18, [0, 1, 2, 8, 9, 10, 16, 17, 18]],
    [[1, 9, 9, 2], [1, 9, 9, 2], [3, 3, 2, 2], [2, 2], 13, 13, 169, 56, [0, 2, 4, 26, 28, 30, 52, 54, 56]],
    [[1, 5, 4, 1], [1, 4, 3, 1], [2, 2, 1, 1], [1, 1], 5, 4, 20, 5, [0, 1, 4, 5]],
  ] as const)('x %j dy %j w %j dil %j', (x, dy, w, dil, Hp, Wp, M, tail, offsets) => {
    const p = planFilterGradTaps(x, dy, w, 0, 0, [dil[0], dil[1]]);
    expect(p).toEqual({ Hp, Wp, M, tail, offsets: [...offsets] });
  });
});

describe('Conv2DBackpropFilter by taps (wasm) with dilation equals a plain loop', () => {
  it.each([
    [[1, 9, 9, 2], [3, 3, 2, 3], 2, 'same'],
    [[2, 10, 8, 3], [3, 3, 3, 2], 2, 'valid'],
    // 9 taps x 20 channels = 180 rows > STACK_ROWS: one product per tap instead of one stacked product.
    [[1, 8, 8, 20], [3, 3, 20, 2], 2, 'same'],
  ] as [[number, number, number, number], [number, number, number, number], number, 'same' | 'valid'][])('x %j w %j dilation %i %s', async (xShape, wShape, dil, pad) => {
    await tf.setBackend('wasm');
    const x = tf.tensor4d(seeded(n(xShape), 5), xShape);
    const yShape = tf.conv2d(x, tf.zeros(wShape) as tf.Tensor4D, 1, pad, 'NHWC', dil).shape;
    const dy = tf.tensor4d(seeded(n(yShape), 6), yShape);
    const got = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: [1, 1], pad, dataFormat: 'NHWC', filterShape: wShape, dilations: [dil, dil] }) as tf.Tensor;
    const xv = await x.data();
    const dyv = await dy.data();
    const [, H, W] = xShape;
    const [KH, KW] = wShape;
    const [, OH, OW] = yShape;
    const pt = pad === 'same' ? Math.floor(((OH - 1) + (KH - 1) * dil + 1 - H) / 2) : 0;
    const pl = pad === 'same' ? Math.floor(((OW - 1) + (KW - 1) * dil + 1 - W) / 2) : 0;
    const ref = loopFilterGrad(xv, dyv, xShape, wShape, yShape, dil, pt, pl);
    expect(relErr(await got.data(), ref)).toBeLessThan(1e-5);
    tf.dispose([x, dy, got]);
  });
});

// Every data-movement case runs twice: with the WebAssembly SIMD kernels (wasm-simd-kernels.wat;
// used where C % 4 == 0) and with the JavaScript loops they replace.
describe.each([true, false])('data-movement kernels: wasm equals cpu (SIMD kernels %s)', (simdOn) => {
  beforeAll(() => setWasmSimdKernelsEnabled(simdOn));
  afterAll(() => setWasmSimdKernelsEnabled(true));

  it('the SIMD kernels are reachable on the wasm backend exactly when enabled', async () => {
    await tf.setBackend('wasm');
    const b = tf.backend();
    expect(isWasmBackend(b)).toBe(true);
    expect(wasmSimdKernels(b as never) !== null).toBe(simdOn);
  });

  it.each([
    [[[2, 3, 4, 5], [2, 3, 4, 70]], 3],
    [[[2, 3, 4, 5], [2, 2, 4, 5], [2, 1, 4, 5]], 1],
    [[[1, 2, 3], [2, 2, 3]], 0],
    [[[4, 8, 8, 64], [4, 8, 8, 32]], -1],
    [[[2, 5, 3, 7], [2, 5, 3, 16], [2, 5, 3, 1]], 3], // runs of 7, 16 and 1 floats: vector and scalar tails
  ] as [number[][], number][])('concat %j along axis %i', async (shapes, axis) => {
    const { cpu, wasm } = await onBoth(shapes.map((shape, i) => ({ shape, seed: 11 + i })), (...t) => tf.concat(t, axis));
    expect(wasm).toEqual(cpu);
  });

  it.each([
    [[2, 3, 4, 75], [5, 70], 3],
    [[2, 6, 4, 5], [1, 2, 3], 1],
    [[4, 8, 8, 96], [64, 32], -1],
    [[2, 5, 3, 24], [7, 16, 1], 3],
  ] as [number[], number[], number][])('split %j into %j along axis %i', async (shape, sizes, axis) => {
    const { cpu, wasm } = await onBoth([{ shape, seed: 21 }], (x) => tf.split(x, sizes, axis));
    expect(wasm).toEqual(cpu);
  });

  it.each([
    [[2, 3, 4, 2], [6, 8], false, false],
    [[1, 4, 3, 3], [12, 9], false, false],
    [[2, 3, 3, 1], [6, 6], false, true],
    [[1, 3, 4, 2], [5, 7], true, false],
    [[2, 3, 4, 8], [6, 8], false, false], // C % 4 == 0: the SIMD kernel
    [[1, 2, 3, 4], [6, 6], false, true], // factors 3 and 2
  ] as [[number, number, number, number], [number, number], boolean, boolean][])(
    'resize-nearest gradient %j -> %j (alignCorners %s, halfPixel %s)',
    async (shape, to, alignCorners, halfPixel) => {
      const dyShape = [shape[0], to[0], to[1], shape[3]];
      const { cpu, wasm } = await onBoth([{ shape: dyShape, seed: 31 }], (r) =>
        tf.tidy(() => {
          const x = tf.zeros(shape);
          return tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.image.resizeNearestNeighbor(a as tf.Tensor4D, to, alignCorners, halfPixel), r)))(x);
        }),
      );
      expect(relErr(wasm[0], cpu[0])).toBeLessThan(1e-6);
    },
  );

  it.each([
    [[2, 8, 8, 3], 2, 2, 'valid'],
    [[1, 9, 7, 2], 3, 2, 'same'],
    [[2, 6, 6, 4], 2, 1, 'same'],
    [[2, 8, 8, 8], 2, 2, 'valid'], // windows tile the input, C % 4 == 0: the SIMD kernel
    [[1, 6, 9, 4], 3, 3, 'same'],
    [[1, 7, 8, 4], 2, 2, 'valid'], // the last row is in no window
  ] as [number[], number, number, 'valid' | 'same'][])('max-pool gradient %j size %i stride %i %s (with ties)', async (shape, size, stride, pad) => {
    // Overlapping windows (size > stride) add several dy into one cell, in another order than cpu.
    const { cpu, wasm } = await onBoth([{ shape, seed: 41, ints: true }], (x) =>
      tf.tidy(() => {
        const y = tf.maxPool(x as tf.Tensor4D, size, stride, pad);
        const r = tf.tensor(seeded(y.size, 42), y.shape);
        return tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, size, stride, pad), r)))(x);
      }),
    );
    if (size <= stride) expect(wasm).toEqual(cpu);
    else expect(relErr(wasm[0], cpu[0])).toBeLessThan(1e-6);
    expect(wasm[0].some((v) => v !== 0)).toBe(true);
  });

  it.each([
    [[2, 3, 4, 8], [6, 8], false],
    [[2, 3, 4, 8], [6, 8], true],
    [[1, 2, 3, 4], [6, 6], true],
    [[1, 2, 3, 3], [4, 6], false], // C % 4 != 0: the backend's kernel
    [[1, 3, 4, 4], [5, 7], false], // non-integer factors: the backend's kernel
  ] as [[number, number, number, number], [number, number], boolean][])('resize-nearest %j -> %j (halfPixel %s)', async (shape, to, halfPixel) => {
    const { cpu, wasm } = await onBoth([{ shape, seed: 61 }], (x) => tf.image.resizeNearestNeighbor(x as tf.Tensor4D, to, false, halfPixel));
    expect(wasm).toEqual(cpu);
  });

  it.each([
    [[4, 8, 8, 16], [16]], // a convolution's bias
    [[16], [4, 8, 8, 16]], // either order
    [[3, 5, 8], [1, 1, 8]],
    [[6, 12], [12]],
    [[4, 8, 8, 6], [6]], // n % 4 != 0: the backend's kernel
    [[4, 8, 8, 16], [4, 8, 8, 16]], // same shapes: the backend's kernel
    [[4, 8, 1], [8, 1]], // not a last-axis vector: the backend's kernel
    [[1, 1, 1, 16], [4, 8, 8, 16]], // a batch-norm scale
  ] as [number[], number[]][])('add and multiply %j with %j', async (sa, sb) => {
    for (const op of [tf.add, tf.mul]) {
      const { cpu, wasm } = await onBoth([{ shape: sa, seed: 81 }, { shape: sb, seed: 82 }], (a, b) => op(a, b));
      expect(wasm).toEqual(cpu);
      const shapes = await onBoth([{ shape: sa, seed: 81 }, { shape: sb, seed: 82 }], (a, b) => tf.tidy(() => tf.tensor(op(a, b).shape)));
      expect(shapes.wasm).toEqual(shapes.cpu);
    }
  });

  it.each([
    [[4, 8, 8, 16], [0, 1, 2], false], // a convolution's bias gradient
    [[4, 8, 8, 16], [0, 1, 2], true],
    [[150, 20], [0], false], // several row blocks of 64
    [[3, 4, 5], [0, 1], false], // n % 4 != 0: the backend's kernel
    [[3, 4, 8], [1, 2], false], // not leading axes: the backend's kernel
    [[3, 4, 8], [0, 1, 2], false], // every axis: the backend's kernel
  ] as [number[], number[], boolean][])('sum and mean of %j over %j (keepDims %s)', async (shape, axes, keepDims) => {
    for (const op of [tf.sum, tf.mean]) {
      const { cpu, wasm } = await onBoth([{ shape, seed: 71 }], (x) => op(x, axes, keepDims));
      expect(relErr(wasm[0], cpu[0])).toBeLessThan(1e-6);
      const shapes = await onBoth([{ shape, seed: 71 }], (x) => tf.tidy(() => tf.tensor(op(x, axes, keepDims).shape)));
      expect(shapes.wasm).toEqual(shapes.cpu);
    }
  });

  it.each([
    [[1, 1, 1, 16], [4, 8, 8, 1]], // a batch-norm gradient's broadcast of a per-channel vector
    [[2, 3], [3, 2]],
    [[4, 6, 1], [1, 1, 16]],
    [[5], [3]],
    [[2, 3, 4], [1, 1, 1]],
    [[3, 1, 2, 2], [2, 5, 1, 3]],
  ] as [number[], number[]][])('tile %j by %j', async (shape, reps) => {
    const { cpu, wasm } = await onBoth([{ shape, seed: 51 }], (x) => tf.tile(x, reps));
    expect(wasm).toEqual(cpu);
  });

  it('a cast to the same dtype shares data and outlives its source; other casts convert', async () => {
    await tf.setBackend('wasm');
    const a = tf.tensor([1.5, -2, 3]);
    const b = tf.cast(a, 'float32');
    const c = tf.cast(a, 'int32');
    a.dispose();
    expect(Array.from(await b.data())).toEqual([1.5, -2, 3]);
    expect([c.dtype, ...Array.from(await c.data())]).toEqual(['int32', 1, -2, 3]);
    tf.dispose([b, c]);
  });

  it('identity shares data: a clone outlives its source', async () => {
    await tf.setBackend('wasm');
    const a = tf.tensor([1, 2, 3]);
    const b = tf.clone(a);
    a.dispose();
    expect(Array.from(await b.data())).toEqual([1, 2, 3]);
    b.dispose();
  });
});
