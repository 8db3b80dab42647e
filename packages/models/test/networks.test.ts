/**
 * Shapes, parameter counts, determinism, memory, gradients and one training step of every
 * network, on the wasm backend with the package's training kernels (usePortableBackend('wasm')).
 */
import * as tf from '@tensorflow/tfjs';
import { SEG_NET_PRESETS, type SegNetSizes } from '@mrlseg/types';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildModel,
  buildReinforcementNet,
  buildResUnet,
  buildSegmentationNet,
  buildUnet,
  computeBceDiceLoss,
  countParams,
  initFromSegmentationNet,
  summary,
  usePortableBackend,
  type ModelSpec,
} from '../src/index';
import { seeded, TINY } from './helpers';

/** Hand count of the Segmentation-Net's weights (BN: 4 per channel, 2 of them trainable). */
function segNetParams(s: SegNetSizes, size: number): number {
  const [c0, c1, c2, c3] = s.channels;
  const d = s.hidden;
  const cbr = (i: number, o: number, k = 3) => k * k * i * o + 4 * o;
  const n = (size / 16) ** 2;
  let p = cbr(1, c0) + cbr(c0, c0) + cbr(c0, c1) + cbr(c1, c1) + cbr(c1, c2) + cbr(c2, c2) + cbr(c2, c3) + cbr(c3, c3);
  p += c3 * d + d + n * d; // patch embedding, position embedding
  p += s.layers * (4 * (d * d + d) + 4 * d + d * s.mlp + s.mlp + s.mlp * d + d);
  p += 2 * d + cbr(d, c3); // encoder norm, conv_more
  const skips = [c2, c1, c0, 0];
  let prev = c3;
  s.decoderChannels.forEach((o, i) => {
    p += cbr(prev + skips[i], o) + cbr(o, o);
    prev = o;
  });
  return p + prev + 1;
}

/** Hand count of the U-Net (double conv-BN-ReLU blocks) and ResU-Net (plus a 1x1 conv-BN projection). */
function unetParams(w: number, residual: boolean): number {
  const cbr = (i: number, o: number, k = 3) => k * k * i * o + 4 * o;
  const block = (i: number, o: number) => cbr(i, o) + cbr(o, o) + (residual ? cbr(i, o, 1) : 0);
  let p = 0;
  let prev = 1;
  for (let i = 0; i < 4; i++) {
    p += block(prev, w * 2 ** i);
    prev = w * 2 ** i;
  }
  p += block(prev, 16 * w);
  prev = 16 * w;
  for (let i = 3; i >= 0; i--) {
    p += block(prev + w * 2 ** i, w * 2 ** i);
    prev = w * 2 ** i;
  }
  return p + w + 1;
}

beforeAll(async () => {
  expect(await usePortableBackend('wasm')).toBe('wasm');
});

const specs = (size: number): ModelSpec[] => [
  { kind: 'seg-net', sizes: TINY, inputSize: size, seed: 1 },
  { kind: 'rl-net', sizes: TINY, inputSize: size, seed: 1, headChannels: 4 },
  { kind: 'unet', baseWidth: 4, inputSize: size, seed: 1 },
  { kind: 'resunet', baseWidth: 4, inputSize: size, seed: 1 },
];

describe('output shapes at two sizes', () => {
  it.each([32, 48])('every network at %i px', (size) => {
    for (const spec of specs(size)) {
      const m = buildModel(spec);
      const x = tf.tensor4d(seeded(2 * size * size, 3), [2, size, size, 1]);
      const ys = [m.predict(x)].flat() as tf.Tensor[];
      if (spec.kind === 'rl-net') {
        expect(ys.map((y) => y.shape)).toEqual([[2, size, size, 2], [2, size, size, 1]]);
        // the policy is a per-pixel softmax: the two channels sum to 1
        const sums = tf.sum(ys[0], -1).dataSync();
        expect(Math.max(...Array.from(sums, (v) => Math.abs(v - 1)))).toBeLessThan(1e-5);
      } else {
        expect(ys.map((y) => y.shape)).toEqual([[2, size, size, 1]]);
        const v = ys[0].dataSync();
        expect(Math.min(...v)).toBeGreaterThan(0);
        expect(Math.max(...v)).toBeLessThan(1);
      }
      tf.dispose([x, ...ys]);
      m.dispose();
    }
  });
});

describe('parameter counts', () => {
  it.each([
    ['tiny', TINY, 32],
    ['tiny', TINY, 48],
    ['cpu preset', SEG_NET_PRESETS.cpu, 128],
  ] as const)('Segmentation-Net %s at %i px matches the hand count', (_, sizes, size) => {
    const m = buildSegmentationNet(sizes, { inputSize: size });
    expect(countParams(m)).toBe(segNetParams(sizes, size));
    m.dispose();
  });
  it('the CPU preset is about 1 M parameters (931,745 at 128 px) and the paper preset far larger', () => {
    const m = buildSegmentationNet(SEG_NET_PRESETS.cpu, { inputSize: 128 });
    expect(countParams(m)).toBe(931745);
    m.dispose();
    expect(segNetParams(SEG_NET_PRESETS.paper, 512)).toBeGreaterThan(50e6);
  });
  it.each([
    [4, false],
    [16, false],
    [4, true],
    [16, true],
  ])('U-Net/ResU-Net width %i (residual %s) matches the hand count', (w, residual) => {
    const m = residual ? buildResUnet({ inputSize: 32, baseWidth: w }) : buildUnet({ inputSize: 32, baseWidth: w });
    expect(countParams(m)).toBe(unetParams(w, residual));
    m.dispose();
  });
  it('summary adds up the layers and counts conv FLOPs by hand on the first layer', () => {
    const m = buildSegmentationNet(TINY, { inputSize: 32 });
    const s = summary(m);
    expect(s.totalParams).toBe(s.layers.reduce((n, l) => n + l.params, 0));
    expect(s.flops).toBe(s.layers.reduce((n, l) => n + l.flops, 0));
    // stem_1_conv: 3x3, 1 -> 4 channels, stride 2 -> 16 x 16 outputs: 2 * 16*16 * 9 * 1 * 4
    expect(s.layers.find((l) => l.name === 'stem_1_conv')!.flops).toBe(2 * 16 * 16 * 9 * 4);
    // transformer: N = 4 tokens, D = 16, M = 32: 2N(4D^2 + 2DM) + 4N^2 D
    expect(s.layers.find((l) => l.name === 'transformer_0')!.flops).toBe(2 * 4 * (4 * 256 + 2 * 16 * 32) + 4 * 16 * 16);
    expect(s.trainableParams).toBeLessThan(s.totalParams); // BN moving statistics are not trainable
    m.dispose();
  });
});

describe('construction', () => {
  it('is deterministic by seed and differs across seeds', () => {
    const a = buildSegmentationNet(TINY, { inputSize: 32, seed: 5 });
    const b = buildSegmentationNet(TINY, { inputSize: 32, seed: 5 });
    const c = buildSegmentationNet(TINY, { inputSize: 32, seed: 6 });
    const w = (m: tf.LayersModel) => m.getWeights().map((t) => Array.from(t.dataSync()));
    expect(w(a)).toEqual(w(b));
    expect(w(a)).not.toEqual(w(c));
    [a, b, c].forEach((m) => m.dispose());
  });
  it.each([
    [() => buildSegmentationNet(TINY, { inputSize: 40 }), /buildSegmentationNet: inputSize must be a positive multiple of 16, got 40/],
    [() => buildSegmentationNet({ ...TINY, heads: 3 }, { inputSize: 32 }), /buildSegmentationNet: sizes.hidden \(16\) must be divisible by heads \(3\)/],
    [() => buildSegmentationNet({ ...TINY, channels: [4, 8, 8] }, { inputSize: 32 }), /sizes.channels must be 4 positive integers/],
    [() => buildReinforcementNet(TINY, { inputSize: 32, headChannels: 0 }), /buildReinforcementNet: headChannels must be a positive integer/],
    [() => buildUnet({ inputSize: 32, baseWidth: 2.5 }), /buildUnet: baseWidth must be a positive integer, got 2.5/],
    [() => buildResUnet({ inputSize: 0 }), /buildResUnet: inputSize must be a positive multiple of 16/],
  ])('rejects bad arguments (%#)', (fn, msg) => {
    expect(fn).toThrow(msg);
  });
  it('does not leak tensors: build, predict and dispose', () => {
    const before = tf.memory().numTensors;
    for (const spec of specs(32)) {
      const m = buildModel(spec);
      const x = tf.zeros([1, 32, 32, 1]);
      tf.dispose(m.predict(x));
      x.dispose();
      m.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('initFromSegmentationNet', () => {
  it('copies the stem, conv blocks, embeddings and transformer layer 0; the heads stay fresh', () => {
    const seg = buildSegmentationNet(TINY, { inputSize: 32, seed: 11 });
    const rl = buildReinforcementNet(TINY, { inputSize: 32, seed: 22 });
    const fresh = buildReinforcementNet(TINY, { inputSize: 32, seed: 22 });
    const copied = initFromSegmentationNet(rl, seg);
    expect(copied).toEqual([
      'stem_1_conv', 'stem_1_bn', 'stem_2_conv', 'stem_2_bn',
      'enc1_1_conv', 'enc1_1_bn', 'enc1_2_conv', 'enc1_2_bn',
      'enc2_1_conv', 'enc2_1_bn', 'enc2_2_conv', 'enc2_2_bn',
      'enc3_1_conv', 'enc3_1_bn', 'enc3_2_conv', 'enc3_2_bn',
      'patch_embed', 'pos_embed', 'transformer_0',
    ]);
    const vals = (m: tf.LayersModel, name: string) => m.getLayer(name).getWeights().map((t) => Array.from(t.dataSync()));
    for (const name of copied) {
      expect(vals(rl, name)).toEqual(vals(seg, name));
      if (name.endsWith('_conv') || name === 'transformer_0') expect(vals(rl, name)).not.toEqual(vals(fresh, name));
    }
    const heads = rl.layers.filter((l) => /^(policy|value)/.test(l.name) && l.weights.length > 0).map((l) => l.name);
    expect(heads).toHaveLength(6);
    for (const name of heads) expect(vals(rl, name)).toEqual(vals(fresh, name));
    [seg, rl, fresh].forEach((m) => m.dispose());
  });
  it('refuses networks of different input size or the wrong kind', () => {
    const seg = buildSegmentationNet(TINY, { inputSize: 32 });
    const rl = buildReinforcementNet(TINY, { inputSize: 48 });
    expect(() => initFromSegmentationNet(rl, seg)).toThrow(/layer 'pos_embed' has weights \[9x16\] in rlNet but \[4x16\] in segNet/);
    expect(() => initFromSegmentationNet(seg, seg)).toThrow(/rlNet is a 'seg-net', expected an 'rl-net'/);
    seg.dispose();
    rl.dispose();
  });
});

/** Loss used for the gradient checks: the segmentation loss, or for the RL net policy + value terms. */
function lossOf(m: tf.LayersModel, x: tf.Tensor, y: tf.Tensor): tf.Scalar {
  const out = [m.apply(x, { training: true })].flat() as tf.Tensor[];
  if (out.length === 1) return computeBceDiceLoss(y, out[0]);
  const pMask = tf.slice(out[0], [0, 0, 0, 0], [-1, -1, -1, 1]);
  return tf.add(computeBceDiceLoss(y, pMask), tf.mean(tf.square(tf.sub(out[1], y)))) as tf.Scalar;
}

describe('training', () => {
  it.each(['seg-net', 'rl-net', 'unet', 'resunet'])('%s: on wasm, every trainable weight gets a non-zero gradient and one Adam step lowers the loss', (kind) => {
    const spec = specs(32).find((s) => s.kind === kind)!;
    const m = buildModel(spec);
    const x = tf.tensor4d(seeded(4 * 32 * 32, 7), [4, 32, 32, 1]);
    const y = tf.tidy(() => tf.cast(tf.greater(x, 0.7), 'float32'));
    const vars = m.trainableWeights.map((w) => w.read() as tf.Variable);
    const before = tf.tidy(() => lossOf(m, x, y).dataSync()[0]);
    const opt = tf.train.adam(1e-3);
    const n0 = tf.memory().numTensors;
    const { value, grads } = opt.computeGradients(() => lossOf(m, x, y), vars);
    const dead = vars.filter((v) => tf.tidy(() => tf.max(tf.abs(grads[v.name])).dataSync()[0]) === 0).map((v) => v.name);
    expect(dead).toEqual([]);
    expect(Object.keys(grads)).toHaveLength(vars.length);
    opt.applyGradients(grads as Parameters<typeof opt.applyGradients>[0]);
    tf.dispose([value, ...Object.values(grads)]);
    const after = tf.tidy(() => lossOf(m, x, y).dataSync()[0]);
    expect(after).toBeLessThan(before);
    // the step kept only the optimiser's slots (two per trainable weight, plus its counters)
    expect(tf.memory().numTensors - n0).toBeLessThanOrEqual(2 * vars.length + 4);
    opt.dispose();
    tf.dispose([x, y]);
    m.dispose();
  });
});

describe('Reinforcement-Net policy initialisation (retainBias)', () => {
  it.each([
    [2, 1 / (1 + Math.exp(2))],
    [0, 0.5],
  ])('retainBias %d: p(mask) is about %f at every pixel and the argmax retains when > 0', async (retainBias, pMask) => {
    const rl = buildReinforcementNet(TINY, { inputSize: 32, seed: 3, retainBias });
    const x = tf.randomUniform([2, 32, 32, 1], 0, 1, 'float32', 5);
    const [policy, value] = rl.predict(x) as tf.Tensor[];
    const mask = await tf.slice(policy, [0, 0, 0, 0], [-1, -1, -1, 1]).data();
    for (const v of mask) expect(Math.abs(v - pMask)).toBeLessThan(0.02);
    tf.dispose([x, policy, value]);
    rl.dispose();
  });
  it('rejects a non-finite retainBias', () => {
    expect(() => buildReinforcementNet(TINY, { inputSize: 32, retainBias: Number.NaN })).toThrow(/retainBias must be a finite number or null/);
  });
});

describe('Reinforcement-Net with the probability input (rl.policyInput image+probability)', () => {
  it('takes [image, probability], reads the probability in its heads, and initialises from a Segmentation-Net like the one-input net', () => {
    const seg = buildSegmentationNet(TINY, { inputSize: 32, seed: 11 });
    const one = buildReinforcementNet(TINY, { inputSize: 32, seed: 22 });
    const two = buildReinforcementNet(TINY, { inputSize: 32, seed: 22, probabilityInput: true, retainBias: null });
    expect(two.inputs.map((t) => t.name.replace(/_\d+$/, ''))).toEqual(['image', 'probability']);
    expect(initFromSegmentationNet(two, seg)).toEqual(initFromSegmentationNet(one, seg));
    // Only the heads' second convolution grows: by one input channel each.
    const kernelShape = (m: tf.LayersModel, name: string) => m.getLayer(name).getWeights()[0].shape;
    expect(kernelShape(two, 'policy_conv2')).toEqual([3, 3, TINY.channels[0] + 1 + 1, TINY.channels[0]]);
    expect(kernelShape(one, 'policy_conv2')).toEqual([3, 3, TINY.channels[0] + 1, TINY.channels[0]]);
    const x = tf.randomUniform([2, 32, 32, 1], 0, 1, 'float32', 5);
    const p0 = tf.zerosLike(x);
    const p1 = tf.onesLike(x);
    const [a, va] = two.predict([x, p0]) as tf.Tensor[];
    const [b, vb] = two.predict([x, p1]) as tf.Tensor[];
    expect(a.shape).toEqual([2, 32, 32, 2]);
    expect(va.shape).toEqual([2, 32, 32, 1]);
    // The probability reaches the policy: the outputs differ.
    expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]).toBeGreaterThan(1e-6);
    tf.dispose([x, p0, p1, a, va, b, vb]);
    // The spec remembers the second input, so buildModel rebuilds the same network.
    const rebuilt = buildModel({ kind: 'rl-net', sizes: TINY, inputSize: 32, seed: 22, headChannels: TINY.channels[0], probabilityInput: true });
    expect(rebuilt.inputs).toHaveLength(2);
    [seg, one, two, rebuilt].forEach((m) => m.dispose());
  });
});
