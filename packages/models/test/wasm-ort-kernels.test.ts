/**
 * The wasm backend's convolutions run through onnxruntime-node (runtime/ort-sync.ts,
 * runtime/wasm-ort-conv.ts): the binding behaviour they rely on, the padding arithmetic, every
 * kernel against the pure-JS cpu backend on seeded inputs (forward, fused forward, dx and dW by
 * tf.grads), a short bench-unet training run against cpu, tensor bookkeeping and the session
 * cache. Each case also checks that onnxruntime really ran (sessions were built), so a silent
 * fallback to the previous kernels would fail here.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxGraph } from '../src/onnx/onnx-graph';
import { bceLoss, buildBenchUnet, buildSegmentationNet, computeBceDiceLoss, convEngineInfo, backendLabel, convGeometry, createOrtSyncEngine, ortConvEngine, usePortableBackend, type OrtSyncEngine } from '../src/index';
import { blockFilter, fetchOutput, nchwcBlockSize, nchwcPlan, ORT_MIN_MACS_PER_OUTPUT, ORT_OUTPUT_PIECE, outputPieces, setOrtMinMacsPerOutput, setOrtOutputPiece } from '../src/runtime/wasm-ort-conv';
import { randomiseBatchNorm, relErr, seeded, TINY } from './helpers';

const n = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const built = () => ortConvEngine()?.built ?? 0;

/**
 * Runs `f` on the cpu backend and on wasm+onnxruntime with tensors built from the same seeded
 * arrays; checks that no tensor leaks on either; returns both flat results and the number of
 * onnxruntime sessions the wasm run built.
 */
async function onBoth(inputs: { shape: number[]; seed: number }[], f: (...t: tf.Tensor[]) => tf.Tensor | tf.Tensor[]) {
  let sessions = 0;
  const run = async (backend: 'cpu' | 'wasm') => {
    await tf.setBackend(backend);
    const ts = inputs.map((i) => tf.tensor(seeded(n(i.shape), i.seed, -1, 1), i.shape));
    const before = tf.memory().numTensors;
    const b0 = built();
    const r = f(...ts);
    const outs = Array.isArray(r) ? r : [r];
    const vals = await Promise.all(outs.map(async (o) => Float32Array.from(await o.data())));
    if (backend === 'wasm') sessions = built() - b0;
    tf.dispose(outs);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(ts);
    return vals;
  };
  return { cpu: await run('cpu'), wasm: await run('wasm'), sessions };
}

beforeAll(async () => {
  await usePortableBackend('wasm', { convEngine: 'onnxruntime' });
  // Every convolution of these tests on onnxruntime, however small (the default routes the
  // cheapest ones to the wasm kernels: see the test of ORT_MIN_MACS_PER_OUTPUT below).
  setOrtMinMacsPerOutput(0);
});
afterAll(async () => {
  setOrtMinMacsPerOutput(ORT_MIN_MACS_PER_OUTPUT);
  await tf.setBackend('cpu');
});

describe('onnxruntime-node binding: synchronous runs on views, session cache', () => {
  // y = a . b for a 2 x 3 and a 3 x 2 matrix, all three views into one buffer with guard values.
  const model = () => {
    const g = new OnnxGraph();
    g.input('a', [2, 3]);
    g.input('b', [3, 2]);
    g.node('MatMul', ['a', 'b'], {}, { outputs: ['y'] });
    g.output('y', [2, 2]);
    return g.encode({ name: 'mm', irVersion: 8, opset: 17 });
  };
  const engine = () => {
    const e = createOrtSyncEngine({ threads: 1, maxSessions: 2 });
    if (e instanceof Error) throw e;
    return e as OrtSyncEngine;
  };

  it('reads inputs in place and writes the output into its view before returning', () => {
    const e = engine();
    const buf = new Float32Array(20).fill(-7);
    buf.set([1, 2, 3, 4, 5, 6], 1); // a at offset 1
    buf.set([1, 0, 0, 1, 1, 1], 8); // b at offset 8
    e.run('mm', model, { a: { data: buf.subarray(1, 7), dims: [2, 3] }, b: { data: buf.subarray(8, 14), dims: [3, 2] } }, { y: { data: buf.subarray(15, 19), dims: [2, 2] } });
    // No await in between: the run is synchronous. Hand product: [1 2 3; 4 5 6] . [1 0; 0 1; 1 1].
    expect(Array.from(buf.subarray(15, 19))).toEqual([4, 5, 10, 11]);
    expect([buf[0], buf[7], buf[14], buf[19]]).toEqual([-7, -7, -7, -7]);
    expect(e.threads).toBe(1);
    e.clear();
  });

  it('builds a session once per key and releases the least recently used one beyond maxSessions', () => {
    const e = engine();
    const a = { data: new Float32Array(6).fill(1), dims: [2, 3] };
    const b = { data: new Float32Array(6).fill(2), dims: [3, 2] };
    const y = { data: new Float32Array(4), dims: [2, 2] };
    e.run('k1', model, { a, b }, { y });
    e.run('k1', model, { a, b }, { y });
    expect([e.built, e.size]).toEqual([1, 1]);
    expect(Array.from(y.data)).toEqual([6, 6, 6, 6]);
    e.run('k2', model, { a, b }, { y });
    e.run('k1', model, { a, b }, { y }); // k1 becomes the most recently used
    e.run('k3', model, { a, b }, { y }); // evicts k2
    expect([e.built, e.size]).toEqual([3, 2]);
    e.run('k1', model, { a, b }, { y });
    expect(e.built).toBe(3);
    e.run('k2', model, { a, b }, { y });
    expect(e.built).toBe(4);
    e.clear();
    expect(e.size).toBe(0);
  });

  it.each([
    [0, true],
    [3, false],
  ])('warms a new session with %i extra runs that the timings do not count (arena %s), and still writes the output', (warmRuns, arena) => {
    const e = createOrtSyncEngine({ threads: 1, warmRuns, arena }) as OrtSyncEngine;
    const a = { data: Float32Array.from([1, 2, 3, 4, 5, 6]), dims: [2, 3] };
    const b = { data: Float32Array.from([1, 0, 0, 1, 1, 1]), dims: [3, 2] };
    const y = { data: new Float32Array(4), dims: [2, 2] };
    e.run('w', model, { a, b }, { y });
    expect(Array.from(y.data)).toEqual([4, 5, 10, 11]);
    expect(e.timings().get('w')?.runs).toBe(1);
    e.clear();
  });

  it('rejects bad options by name', () => {
    expect(() => createOrtSyncEngine({ threads: 0 })).toThrow('createOrtSyncEngine: threads must be a positive integer, got 0');
    expect(() => createOrtSyncEngine({ maxSessions: 1.5 })).toThrow('createOrtSyncEngine: maxSessions must be a positive integer, got 1.5');
    expect(() => createOrtSyncEngine({ warmRuns: -1 })).toThrow('createOrtSyncEngine: warmRuns must be a non-negative integer, got -1');
  });
});

describe('convGeometry: TensorFlow.js padding, including asymmetric SAME at stride 2', () => {
  it.each([
    // x, filter, stride, pad -> OH, [top, bottom, left, right]
    // 'same', stride 2, H = 6, K = 3: OH = ceil(6 / 2) = 3, total padding (3 - 1) * 2 + 3 - 6 = 1 -> top 0, bottom 1.
    [[1, 6, 6, 1], [3, 3, 1, 1], 2, 'same', 3, [0, 1, 0, 1]],
    // H = 5: OH = 3, total (3 - 1) * 2 + 3 - 5 = 2 -> 1 and 1.
    [[1, 5, 5, 1], [3, 3, 1, 1], 2, 'same', 3, [1, 1, 1, 1]],
    // stride 1, K = 4: total 3 -> top 1, bottom 2.
    [[1, 7, 7, 1], [4, 4, 1, 1], 1, 'same', 7, [1, 2, 1, 2]],
    // 'valid', stride 2, H = 10, K = 5: OH = floor((10 - 5) / 2) + 1 = 3 (the last row unused).
    [[1, 10, 10, 1], [5, 5, 1, 1], 2, 'valid', 3, [0, 0, 0, 0]],
  ] as const)('x %j w %j stride %i %s', (x, w, s, pad, oh, pads) => {
    const g = convGeometry(x, w, { strides: s, pad })!;
    expect(g.OH).toBe(oh);
    expect([g.top, g.bottom, g.left, g.right]).toEqual(pads);
  });
  it('explicit padding is taken as given', () => {
    const g = convGeometry([1, 6, 6, 2], [3, 3, 2, 3], { strides: 1, pad: [[0, 0], [2, 1], [0, 1], [0, 0]] })!;
    expect([g.OH, g.OW, g.top, g.bottom, g.left, g.right]).toEqual([7, 5, 2, 1, 0, 1]);
  });
});

type ConvPad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
type Case = [number[], number[], number, ConvPad];
const CASES: Case[] = [
  [[1, 7, 7, 1], [3, 3, 1, 4], 1, 'same'],
  [[2, 9, 7, 3], [3, 3, 3, 5], 2, 'same'], // odd sizes, SAME at stride 2 (padding 1 + 1 / 0 + 1)
  [[2, 8, 8, 6], [3, 3, 6, 4], 2, 'same'], // even size: SAME pads bottom/right only
  [[1, 9, 9, 4], [5, 5, 4, 3], 1, 'valid'],
  [[3, 10, 9, 5], [5, 5, 5, 6], 2, 'valid'], // last row/column not reached by any window
  [[1, 11, 11, 2], [5, 5, 2, 2], 1, 'same'],
  [[2, 6, 6, 48], [1, 1, 48, 16], 1, 'valid'], // pointwise: one Gemm
  [[3, 8, 8, 16], [1, 1, 16, 1], 1, 'same'], // a 1x1 sigmoid head's shape
  [[2, 7, 7, 8], [1, 1, 8, 8], 2, 'same'],
  [[1, 6, 6, 2], [3, 3, 2, 3], 1, [[0, 0], [2, 1], [0, 1], [0, 0]]], // explicit, asymmetric
  [[2, 12, 12, 32], [3, 3, 32, 48], 1, 'same'],
  [[1, 8, 8, 12], [3, 3, 12, 20], 1, 'same'], // NCHWc with padded channel blocks (12 -> 16, 20 -> 24 at block 8)
  [[1, 7, 7, 10], [3, 3, 10, 9], 1, 'same'], // 10 input channels: no NCHWc layout, the transpose path
];

/**
 * y = conv2d(x, w) and its gradients dx, dW under a seeded, non-uniform upstream gradient (so that
 * dx and dW depend on every output), as one onBoth function; results [y, dx, dW].
 */
const convWithGrads =
  (stride: number, pad: ConvPad, seed: number) =>
  (x: tf.Tensor, w: tf.Tensor): tf.Tensor[] =>
    tf.tidy(() => {
      const conv = (a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad);
      const y = conv(x, w);
      const r = tf.tensor(seeded(y.size, seed, -1, 1), y.shape);
      const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv(a, b), r)))([x, w]);
      return [y, dx, dw];
    });

describe('Conv2D and its gradients (wasm+onnxruntime) equal the cpu backend', () => {
  it.each(CASES)('x %j w %j stride %i pad %j: y, dx, dW', async (xShape, wShape, stride, pad) => {
    const { cpu, wasm, sessions } = await onBoth(
      [
        { shape: xShape, seed: 1 },
        { shape: wShape, seed: 2 },
      ],
      convWithGrads(stride, pad, 3),
    );
    expect(sessions).toBeGreaterThan(0);
    for (let i = 0; i < 3; i++) expect(relErr(wasm[i], cpu[i]), ['y', 'dx', 'dW'][i]).toBeLessThan(1e-5);
  });

  it('dilation 2 (forward only: TensorFlow.js has no dilated conv gradient)', async () => {
    const { cpu, wasm, sessions } = await onBoth(
      [
        { shape: [2, 11, 10, 3], seed: 4 },
        { shape: [3, 3, 3, 4], seed: 5 },
      ],
      (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same', 'NHWC', 2),
    );
    expect(sessions).toBe(1);
    expect(relErr(wasm[0], cpu[0])).toBeLessThan(1e-5);
  });
});

describe('convolutions with few multiply-adds per output stay on the wasm kernels', () => {
  afterAll(() => setOrtMinMacsPerOutput(0));

  it.each([
    // x, w, onnxruntime sessions built with the default threshold (32 multiply-adds per output)
    [[2, 9, 9, 1], [3, 3, 1, 8], 2], // forward 9 per output: wasm; dx 72 and dW: onnxruntime
    [[2, 9, 9, 16], [1, 1, 16, 1], 1], // forward 16: wasm; dx 1: wasm; dW: onnxruntime
    [[2, 9, 9, 16], [3, 3, 16, 8], 3], // forward 144, dx 72: onnxruntime; dW: onnxruntime
  ] as [number[], number[], number][])('x %j w %j: %i sessions, values equal cpu', async (xShape, wShape, expected) => {
    setOrtMinMacsPerOutput(ORT_MIN_MACS_PER_OUTPUT);
    const { cpu, wasm, sessions } = await onBoth(
      [
        { shape: xShape, seed: 6 },
        { shape: wShape, seed: 7 },
      ],
      convWithGrads(1, 'same', 8),
    );
    expect(sessions).toBe(expected);
    for (let i = 0; i < 3; i++) expect(relErr(wasm[i], cpu[i]), ['y', 'dx', 'dW'][i]).toBeLessThan(1e-5);
  });

  it('rejects a negative threshold by name', () => {
    expect(() => setOrtMinMacsPerOutput(-1)).toThrow('setOrtMinMacsPerOutput: n must be a non-negative number, got -1');
  });
});

describe('large outputs are fetched in pieces of at most ORT_OUTPUT_PIECE floats', () => {
  it.each([
    [1, [1]],
    [524_288, [524_288]],
    [524_289, [262_145, 262_144]],
    [786_432, [393_216, 393_216]],
    [3_145_728, [524_288, 524_288, 524_288, 524_288, 524_288, 524_288]],
  ])('%i floats -> %j', (n, pieces) => {
    expect(ORT_OUTPUT_PIECE).toBe(524_288);
    expect(outputPieces(n)).toEqual(pieces);
  });

  // Small pieces so that small layers take the split path: forward and input gradient on the
  // NCHWc kernels, the transpose path (10 channels), the pointwise Gemm and a strided ConvTranspose.
  it.each([
    [[2, 12, 12, 16], [3, 3, 16, 8], 1, 'same'],
    [[1, 7, 7, 10], [3, 3, 10, 9], 1, 'same'],
    [[2, 6, 6, 48], [1, 1, 48, 16], 1, 'valid'],
    [[2, 9, 9, 4], [3, 3, 4, 6], 2, 'same'],
  ] as [number[], number[], number, 'same' | 'valid'][])('x %j w %j stride %i %s in pieces of 100 floats: y, dx, dW equal cpu', async (xShape, wShape, stride, pad) => {
    setOrtOutputPiece(100);
    try {
      const { cpu, wasm, sessions } = await onBoth(
        [
          { shape: xShape, seed: 9 },
          { shape: wShape, seed: 10 },
        ],
        convWithGrads(stride, pad, 11),
      );
      expect(sessions).toBe(3);
      for (let i = 0; i < 3; i++) expect(relErr(wasm[i], cpu[i]), ['y', 'dx', 'dW'][i]).toBeLessThan(1e-5);
    } finally {
      setOrtOutputPiece(ORT_OUTPUT_PIECE);
    }
  });

  it('rejects a bad piece size by name', () => {
    expect(() => setOrtOutputPiece(0)).toThrow('setOrtOutputPiece: n must be a positive integer, got 0');
  });

  it('fetchOutput cuts one view into consecutive piece views', () => {
    const data = new Float32Array(524_289);
    const f = fetchOutput('dx', { data, dims: [1, 524_289] });
    expect(Object.keys(f)).toEqual(['dx_piece0', 'dx_piece1']);
    expect([f.dx_piece0.data.byteOffset, f.dx_piece0.data.length, f.dx_piece1.data.byteOffset, f.dx_piece1.data.length]).toEqual([0, 262_145, 262_145 * 4, 262_144]);
    expect(f.dx_piece1.data.buffer).toBe(data.buffer);
    expect(fetchOutput('y', { data: new Float32Array(8), dims: [2, 4] })).toEqual({ y: { data: new Float32Array(8), dims: [2, 4] } });
  });
});

describe('NCHWc layout (onnxruntime blocked kernels)', () => {
  it('plans which channel counts can use it', () => {
    expect(nchwcPlan(1, 16, 8)).toEqual({ blockedInput: false, ciP: 1, coP: 16 });
    expect(nchwcPlan(12, 20, 8)).toEqual({ blockedInput: true, ciP: 16, coP: 24 });
    expect(nchwcPlan(10, 4, 8)).toBeNull(); // >= block but not a multiple of 4 (ReorderInput needs that)
    expect(nchwcPlan(48, 1, 16)).toEqual({ blockedInput: true, ciP: 48, coP: 16 });
    expect(nchwcPlan(16, 16, 0)).toBeNull(); // no NCHWc kernels in this build
  });

  it('lays the filter out as [Co/b][Ci/b][KH][KW][b in][b out] (hand-worked, b = 4)', () => {
    // f(o, i, kh, kw) = 100 o + 10 i + kw with Co = 5, Ci = 4, KH = 1, KW = 2: coP = 8, ciP = 4.
    const plan = nchwcPlan(4, 5, 4)!;
    const out = new Float32Array(8 * 4 * 2).fill(-1);
    blockFilter(out, (o, i, kh, kw) => 100 * o + 10 * i + kw, 5, 4, 1, 2, 4, plan);
    // index = (((ob * 1 + ib) * 2 + k) * 4 + bi) * 4 + bo
    expect(out[((0 * 2 + 1) * 4 + 2) * 4 + 3]).toBe(321); // o = 3, i = 2, kw = 1
    expect(out[((1 * 2 + 0) * 4 + 3) * 4 + 0]).toBe(430); // o = 4 (block 1), i = 3, kw = 0
    expect(out[((1 * 2 + 0) * 4 + 3) * 4 + 1]).toBe(0); // o = 5: padding
    expect(out.includes(-1)).toBe(false);
  });

  it('is probed once and used for 3x3 convolutions and their input gradients on x86-64', async () => {
    const e = ortConvEngine()!;
    const block = nchwcBlockSize(e);
    if (process.arch === 'x64') expect([8, 16]).toContain(block);
    if (!block) return;
    await tf.setBackend('wasm');
    e.resetTimings();
    const x = tf.tensor4d(seeded(2 * 6 * 6 * 16, 30), [2, 6, 6, 16]);
    const w = tf.tensor4d(seeded(9 * 16 * 8, 31), [3, 3, 16, 8]);
    const g = tf.grad((a: tf.Tensor) => tf.sum(tf.conv2d(a as tf.Tensor4D, w, 1, 'same')))(x);
    const keys = [...e.timings().keys()];
    expect(keys.some((k) => k.startsWith(`fwd_nchwc${block}|`))).toBe(true);
    expect(keys.some((k) => k.startsWith(`dx_nchwc${block}|`))).toBe(true);
    tf.dispose([x, w, g]);
  });
});

describe('FusedConv2D (bias + activation) equals the cpu backend', () => {
  it.each([
    ['linear', 1, 'same', 0.2],
    ['relu', 1, 'same', 0.2],
    ['relu6', 2, 'same', 0.2],
    ['sigmoid', 1, 'valid', 0.2],
    ['elu', 2, 'valid', 0.2],
    ['leakyrelu', 1, 'same', 0.1],
    ['leakyrelu', 1, 'same', 3], // alpha > 1: min(x, alpha x)
  ] as ['linear' | 'relu' | 'relu6' | 'sigmoid' | 'elu' | 'leakyrelu', number, 'same' | 'valid', number][])('%s, stride %i, %s, alpha %f', async (activation, stride, pad, alpha) => {
    const { cpu, wasm, sessions } = await onBoth(
      [
        // x scaled by 4 so that relu6 clips and the activations see both signs.
        { shape: [2, 9, 8, 5], seed: 6 },
        { shape: [3, 3, 5, 7], seed: 7 },
        { shape: [7], seed: 8 },
      ],
      (x, w, b) => tf.tidy(() => tf.fused.conv2d({ x: tf.mul(x, 4) as tf.Tensor4D, filter: w as tf.Tensor4D, strides: stride, pad, bias: b, activation, leakyreluAlpha: alpha })),
    );
    expect(sessions).toBe(1);
    expect(relErr(wasm[0], cpu[0])).toBeLessThan(1e-5);
  });

  it('a 1x1 fused conv with bias (Gemm path) and its gradients through tf.grads', async () => {
    const { cpu, wasm, sessions } = await onBoth(
      [
        { shape: [2, 8, 8, 16], seed: 9 },
        { shape: [1, 1, 16, 3], seed: 10 },
        { shape: [3], seed: 11 },
      ],
      (x, w, b) =>
        tf.tidy(() => {
          const f = (a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => tf.fused.conv2d({ x: a as tf.Tensor4D, filter: c as tf.Tensor4D, strides: 1, pad: 'same', bias: d });
          const y = f(x, w, b);
          const r = tf.tensor(seeded(y.size, 12, -1, 1), y.shape);
          return [y, ...tf.grads((a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => tf.sum(tf.mul(f(a, c, d), r)))([x, w, b])];
        }),
    );
    expect(sessions).toBeGreaterThanOrEqual(3);
    for (let i = 0; i < 4; i++) expect(relErr(wasm[i], cpu[i]), ['y', 'dx', 'dW', 'db'][i]).toBeLessThan(1e-5);
  });

  it('prelu goes to the previous kernel (no session) and is still right', async () => {
    const { cpu, wasm, sessions } = await onBoth(
      [
        { shape: [1, 6, 6, 2], seed: 13 },
        { shape: [3, 3, 2, 3], seed: 14 },
        { shape: [3], seed: 15 },
      ],
      (x, w, a) => tf.fused.conv2d({ x: x as tf.Tensor4D, filter: w as tf.Tensor4D, strides: 1, pad: 'same', activation: 'prelu', preluActivationWeights: a }),
    );
    expect(sessions).toBe(0);
    expect(relErr(wasm[0], cpu[0])).toBeLessThan(1e-5);
  });
});

describe('BatchMatMul (transposed or batched products on onnxruntime) equals the cpu backend', () => {
  it.each([
    // a, b, transposeA, transposeB, runs on onnxruntime
    [[64, 48], [64, 40], true, false, true],
    [[30, 48], [40, 48], false, true, true],
    [[48, 30], [40, 48], true, true, true],
    [[4, 16, 24], [4, 24, 8], false, false, true], // a batch of heads
    [[2, 3, 16, 24], [2, 3, 8, 24], false, true, true], // rank 4
    [[64, 48], [48, 40], false, false, false], // plain product: stays on XNNPACK
    [[4, 3], [5, 3], false, true, false], // under ORT_MATMUL_MIN_MACS
  ] as [number[], number[], boolean, boolean, boolean][])('%j . %j (tA %s, tB %s)', async (as, bs, tA, tB, onOrt) => {
    const { cpu, wasm, sessions } = await onBoth(
      [
        { shape: as, seed: 40 },
        { shape: bs, seed: 41 },
      ],
      (a, b) =>
        tf.tidy(() => {
          const y = tf.matMul(a, b, tA, tB);
          const r = tf.tensor(seeded(y.size, 42, -1, 1), y.shape);
          return [y, ...tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.mul(tf.matMul(p, q, tA, tB), r)))([a, b])];
        }),
    );
    if (onOrt) expect(sessions).toBeGreaterThan(0);
    else expect(sessions).toBe(0);
    expect(wasm[0].length).toBe(cpu[0].length);
    for (let i = 0; i < 3; i++) expect(relErr(wasm[i], cpu[i]), ['y', 'da', 'db'][i]).toBeLessThan(1e-5);
  });

  it('broadcasts b over the batch (forward; TensorFlow.js has no gradient for broadcast matMul)', async () => {
    const { cpu, wasm, sessions } = await onBoth(
      [
        { shape: [4, 16, 24], seed: 43 },
        { shape: [1, 24, 8], seed: 44 },
      ],
      (a, b) => tf.matMul(a, b),
    );
    expect(sessions).toBe(1);
    expect(relErr(wasm[0], cpu[0])).toBeLessThan(1e-5);
  });
});

describe('training and engine selection', () => {
  async function lossCurve(backend: 'cpu' | 'wasm'): Promise<number[]> {
    await usePortableBackend(backend, { convEngine: 'onnxruntime' });
    // S = 8 keeps the cpu reference fast (its train step is ~0.5 s here, ~2.5 s at S = 16).
    const model = buildBenchUnet(8);
    model.setWeights(model.getWeights().map((w, i) => tf.tensor(seeded(w.size, 10 + i, -0.3, 0.3), w.shape)));
    const x = tf.tensor4d(seeded(2 * 8 * 8, 7), [2, 8, 8, 1]);
    const y = tf.tensor4d(seeded(2 * 8 * 8, 8).map((v) => (v > 0.8 ? 1 : 0)), [2, 8, 8, 1]);
    const opt = tf.train.adam(1e-2);
    const before = tf.memory().numTensors;
    const losses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const l = opt.minimize(() => bceLoss(y, model.apply(x, { training: true }) as tf.Tensor), true)!;
      losses.push((await l.data())[0]);
      l.dispose();
    }
    // Adam creates its two moment slots per weight on the first step, nothing else may remain.
    expect(tf.memory().numTensors).toBe(before + 2 * model.trainableWeights.length);
    tf.dispose([x, y]);
    opt.dispose();
    model.dispose();
    return losses;
  }

  it('four Adam steps of the bench-unet follow the cpu loss curve within 1e-4 and reuse sessions', async () => {
    const cpu = await lossCurve('cpu');
    const b0 = built();
    const wasm = await lossCurve('wasm');
    // 6 convolutions: a forward session each, a filter-gradient one each, an input-gradient one for c2..c6.
    expect(built() - b0).toBe(17);
    for (let i = 0; i < cpu.length; i++) expect(Math.abs(wasm[i] - cpu[i])).toBeLessThan(1e-4);
    expect(wasm[3]).toBeLessThan(wasm[0]);
    const b1 = built();
    await lossCurve('wasm');
    expect(built()).toBe(b1);
  });

  it('every Segmentation-Net gradient (stride-2 convs, batch norm, transformer) equals cpu', async () => {
    const grads = async (backend: 'cpu' | 'wasm') => {
      await usePortableBackend(backend, { convEngine: 'onnxruntime' });
      const model = buildSegmentationNet(TINY, { inputSize: 32, seed: 3 });
      randomiseBatchNorm(model, 5);
      const x = tf.tensor4d(seeded(2 * 32 * 32, 21), [2, 32, 32, 1]);
      const y = tf.tensor4d(seeded(2 * 32 * 32, 22).map((v) => (v > 0.7 ? 1 : 0)), [2, 32, 32, 1]);
      const b0 = built();
      const { value, grads: g } = tf.variableGrads(() => computeBceDiceLoss(y, model.apply(x, { training: true }) as tf.Tensor));
      const out = { loss: (await value.data())[0], g: await Promise.all(model.trainableWeights.map(async (w) => Float32Array.from(await g[(w.read() as tf.Variable).name].data()))), sessions: built() - b0 };
      tf.dispose([x, y, value, ...Object.values(g)]);
      model.dispose();
      return out;
    };
    const cpu = await grads('cpu');
    const wasm = await grads('wasm');
    expect(wasm.sessions).toBeGreaterThan(10);
    expect(Math.abs(wasm.loss - cpu.loss)).toBeLessThan(1e-5);
    cpu.g.forEach((c, i) => {
      // A key bias adds the same logit to every key of a query, which the softmax cancels: its
      // exact gradient is 0 and both backends return rounding noise (~1e-10), so compare absolutely.
      if (c.every((v) => Math.abs(v) < 1e-8)) expect(wasm.g[i].every((v) => Math.abs(v) < 1e-8), `weight ${i}`).toBe(true);
      else expect(relErr(wasm.g[i], c), `weight ${i}`).toBeLessThan(1e-4);
    });
  });

  it('reports the engine, switches to the wasm kernels and back', async () => {
    await usePortableBackend('wasm', { convEngine: 'onnxruntime', threads: 2 });
    expect(convEngineInfo()).toMatchObject({ engine: 'onnxruntime', threads: 2 });
    expect(backendLabel()).toBe('wasm+onnxruntime');
    await usePortableBackend('wasm', { convEngine: 'wasm' });
    expect(convEngineInfo().engine).toBe('wasm');
    expect(backendLabel()).toBe('wasm');
    expect(ortConvEngine()).toBeNull();
    const x = tf.ones([1, 5, 5, 1]) as tf.Tensor4D;
    const w = tf.ones([3, 3, 1, 1]) as tf.Tensor4D;
    const y = tf.conv2d(x, w, 1, 'same');
    // Centre of a 3 x 3 box sum of ones: 9; corner: 4.
    const v = await y.data();
    expect([v[12], v[0]]).toEqual([9, 4]);
    tf.dispose([x, w, y]);
    await usePortableBackend('cpu');
    expect(convEngineInfo().engine).toBeNull();
    expect(backendLabel()).toBe('cpu');
    await usePortableBackend('wasm');
    expect(convEngineInfo().engine).toBe('onnxruntime');
  });

  it('rejects a bad engine or thread count by name', async () => {
    await expect(usePortableBackend('wasm', { convEngine: 'metal' as never })).rejects.toThrow("usePortableBackend: convEngine must be 'onnxruntime' or 'wasm', got 'metal'");
    await expect(usePortableBackend('wasm', { threads: 0 })).rejects.toThrow('usePortableBackend: threads must be a positive integer, got 0');
  });
});
