import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { RlSchema } from '@mrlseg/types';
import { computePixelCrossEntropy } from '@mrlseg/rewards';
import { agentToPixels, applyActions, chooseActions, collectEpisode, representGreedy, representState, runEpisodeDeterministic } from '../src/index';
import { constantPolicyNet, pixelPolicyNet, thresholdSegNet, tinyPolicyNet } from './tiny-nets';
import { toyBatch } from './toy-env';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const map = (rows: number[][]) => tf.tensor4d(rows.flat(), [1, rows.length, rows[0].length, 1]);
const vals = (t: tf.Tensor) => Array.from(t.dataSync());

describe('Representation-Net environment', () => {
  it('sets masked pixels to the mask value and keeps retained ones', () => {
    const s = representState(map([[0.2, 0.9], [0.5, 1]]), map([[1, 0], [0, 1]]), -1);
    expect(vals(s)).toEqual([expect.closeTo(0.2, 6), -1, -1, 1]);
    s.dispose();
  });
  it('keeps a masked pixel masked even when the agent later says retain', () => {
    const r1 = applyActions(map([[1, 1]]), map([[0, 1]]));
    const r2 = applyActions(r1, map([[1, 1]]));
    expect(vals(r2)).toEqual([0, 1]);
    tf.dispose([r1, r2]);
  });
  it('copies a patch agent action to its k x k pixels', () => {
    const a = map([[1, 0], [0, 1]]);
    const p = agentToPixels(a, 2);
    expect(p.shape).toEqual([1, 4, 4, 1]);
    expect(vals(p)).toEqual([1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1]);
    tf.dispose([a, p]);
  });
  it('greedy actions retain where pi(retain) >= pi(mask); sampled ones follow pi(retain)', () => {
    const probs = tf.tensor4d([0.7, 0.3, 0.5, 0.5, 0.2, 0.8], [1, 1, 3, 2]);
    const g = chooseActions(probs, 'greedy');
    expect(vals(g)).toEqual([0, 1, 1]);
    const many = tf.tensor4d(new Float32Array(20000).map((_, i) => (i % 2 ? 0.3 : 0.7)), [1, 1, 10000, 2]);
    const s = chooseActions(many, 'sample', 5);
    expect(tf.mean(s).dataSync()[0]).toBeCloseTo(0.3, 1);
    const s2 = chooseActions(many, 'sample', 5);
    expect(vals(s2)).toEqual(vals(s)); // seeded
    tf.dispose([probs, g, many, s, s2]);
  });
});

describe('collectEpisode', () => {
  const segNet = thresholdSegNet();

  it('rewards the first step with the CE change of masking everything, then nothing (Eq. 4-5)', () => {
    const rl = RlSchema.parse({ episodeLength: 3, useFb: false, useAdp: false, maskValue: 0.25 });
    const { images, labels, distractors } = toyBatch(2, 8, 1);
    const ep = collectEpisode({ policyNet: constantPolicyNet(0.01), segNet, images, labels, rl, mode: 'greedy' });
    const masked = tf.fill(images.shape, 0.25) as tf.Tensor4D;
    const ceRaw = computePixelCrossEntropy(segNet.predict(images) as tf.Tensor4D, labels);
    const ceMasked = computePixelCrossEntropy(segNet.predict(masked) as tf.Tensor4D, labels);
    const expected = vals(tf.sub(ceRaw, ceMasked));
    vals(ep.localRewards[0]).forEach((v, i) => expect(v).toBeCloseTo(expected[i], 4));
    expect(vals(ep.localRewards[1]).every((v) => Math.abs(v) < 1e-6)).toBe(true);
    expect(vals(ep.rewards[0])).toEqual(vals(ep.localRewards[0])); // FB off
    expect(vals(ep.retained[0]).every((v) => v === 0)).toBe(true);
    expect(vals(ep.finalState).every((v) => v === 0.25)).toBe(true);
    expect(ep.adp).toBeNull();
    ep.dispose();
    tf.dispose([images, labels, distractors, masked, ceRaw, ceMasked]);
  });

  it('never lets labels reach the policy: same seed, different labels, same actions', () => {
    const rl = RlSchema.parse({ episodeLength: 3 });
    const policyNet = tinyPolicyNet({ seed: 3 });
    const { images, labels, distractors } = toyBatch(2, 8, 2);
    const other = tf.sub(1, labels) as tf.Tensor4D;
    const a = collectEpisode({ policyNet, segNet, images, labels, rl, seed: 11 });
    const b = collectEpisode({ policyNet, segNet, images, labels: other, rl, seed: 11 });
    for (let t = 0; t < 3; t++) {
      expect(vals(b.actions[t])).toEqual(vals(a.actions[t]));
      expect(vals(b.inputs[t])).toEqual(vals(a.inputs[t]));
    }
    expect(vals(b.rewards[0])).not.toEqual(vals(a.rewards[0]));
    a.dispose();
    b.dispose();
    tf.dispose([images, labels, distractors, other]);
  });

  it('keeps masked pixels masked, adds the FB term and ADP when switched on, and records the mask history channel', () => {
    const rl = RlSchema.parse({ episodeLength: 4, maskHistory: true, maskValue: 0 });
    const { images, labels, distractors } = toyBatch(2, 8, 3);
    const ep = collectEpisode({ policyNet: constantPolicyNet(0.6, 0, 2), segNet, images, labels, rl, seed: 1 });
    for (let t = 1; t < 4; t++) {
      const prev = vals(ep.retained[t - 1]);
      vals(ep.retained[t]).forEach((v, i) => expect(v).toBeLessThanOrEqual(prev[i]));
    }
    expect(ep.inputs[0].shape).toEqual([2, 8, 8, 2]);
    const hist = tf.slice(ep.inputs[2], [0, 0, 0, 1], [-1, -1, -1, 1]);
    expect(vals(hist)).toEqual(vals(ep.retained[1]));
    const diff = vals(tf.sub(ep.rewards[1], ep.localRewards[1]));
    expect(diff.every((v) => v < 0)).toBe(true); // alpha < 0: the FB term is negative
    expect(ep.adp?.shape).toEqual([2, 8, 8, 1]);
    ep.dispose();
    tf.dispose([images, labels, distractors, hist]);
  });

  it('decides per k x k patch with rl.patchSize = 2', () => {
    const rl = RlSchema.parse({ episodeLength: 2, patchSize: 2 });
    const { images, labels, distractors } = toyBatch(1, 8, 4);
    const ep = collectEpisode({ policyNet: constantPolicyNet(0.5), segNet, images, labels, rl, seed: 2 });
    expect(ep.actions[0].shape).toEqual([1, 4, 4, 1]);
    const r = vals(ep.retained[1]);
    for (let i = 0; i < 8; i += 2) for (let j = 0; j < 8; j += 2) {
      const v = r[i * 8 + j];
      expect([r[i * 8 + j + 1], r[(i + 1) * 8 + j], r[(i + 1) * 8 + j + 1]]).toEqual([v, v, v]);
    }
    ep.dispose();
    tf.dispose([images, labels, distractors]);
  });

  it.each([
    [[1, 8, 8, 2], [1, 8, 8, 1], 1, /collectEpisode: images must be a tf.Tensor of shape \[B, H, W, 1\], got \[1, 8, 8, 2\]/],
    [[1, 8, 8, 1], [1, 4, 4, 1], 1, /collectEpisode: images \[1, 8, 8, 1\] and labels \[1, 4, 4, 1\] must have the same shape/],
    [[1, 6, 6, 1], [1, 6, 6, 1], 4, /collectEpisode: images height and width \(6 x 6\) must be multiples of rl.patchSize 4/],
  ])('rejects images %j with labels %j (patch %s)', (is, ls, k, message) => {
    const images = tf.zeros(is as [number, number, number, number]) as tf.Tensor4D;
    const labels = tf.zeros(ls as [number, number, number, number]) as tf.Tensor4D;
    expect(() => collectEpisode({ policyNet: constantPolicyNet(0.5), segNet, images, labels, rl: RlSchema.parse({ patchSize: k }) })).toThrow(message);
    tf.dispose([images, labels]);
  });

  it('names the contract when the policy net returns the wrong outputs', () => {
    const images = tf.zeros([1, 4, 4, 1]) as tf.Tensor4D;
    expect(() => collectEpisode({ policyNet: segNet, segNet, images, labels: images, rl: RlSchema.parse({}) })).toThrow(
      /policyNet: expected outputs \[policy 1x4x4x2, value 1x4x4x1\] for input \[1, 4, 4, 1\], got 1 output\(s\): \[1, 4, 4, 1\]/,
    );
    images.dispose();
  });
});

describe('runEpisodeDeterministic', () => {
  const segNet = thresholdSegNet();
  it('with an always-retain policy segments the raw image and masks nothing', () => {
    const rl = RlSchema.parse({});
    const { images, labels, distractors } = toyBatch(2, 8, 5);
    const policyNet = constantPolicyNet(0.9);
    const before = tf.memory().numTensors;
    const ep = runEpisodeDeterministic(policyNet, segNet, images, rl);
    expect(ep.actions).toHaveLength(4);
    expect(ep.states).toHaveLength(5);
    expect(vals(ep.retained[3]).every((v) => v === 1)).toBe(true);
    const raw = segNet.predict(images) as tf.Tensor;
    vals(ep.probabilities).forEach((v, i) => expect(v).toBeCloseTo(raw.dataSync()[i], 6));
    raw.dispose();
    ep.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([images, labels, distractors]);
  });
  it('representGreedy returns the same s(T) as the deterministic episode, without leaking', () => {
    const rl = RlSchema.parse({ episodeLength: 3, maskValue: 0.1 });
    const { images, labels, distractors } = toyBatch(2, 8, 6);
    const policyNet = pixelPolicyNet({ seed: 3, retainLogit: 0 });
    const ep = runEpisodeDeterministic(policyNet, segNet, images, rl);
    const before = tf.memory().numTensors;
    const s = representGreedy(policyNet, images, rl);
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(s.shape).toEqual(images.shape);
    expect(vals(s)).toEqual(vals(ep.states[3]));
    // The case is not trivial: the greedy policy masks some pixels and keeps others.
    expect(vals(ep.retained[2]).some((v) => v === 0) && vals(ep.retained[2]).some((v) => v === 1)).toBe(true);
    tf.dispose([s, images, labels, distractors]);
    ep.dispose();
  });
  it('with an always-mask policy hands the segmenter a blank image after step 1', () => {
    const rl = RlSchema.parse({ maskValue: 0 });
    const images = tf.fill([1, 4, 4, 1], 0.8) as tf.Tensor4D;
    const ep = runEpisodeDeterministic(constantPolicyNet(0.1), segNet, images, rl);
    expect(vals(ep.states[1]).every((v) => v === 0)).toBe(true);
    expect(vals(ep.actions[0]).every((v) => v === 0)).toBe(true);
    expect(vals(ep.probabilities)[0]).toBeCloseTo(1 / (1 + Math.exp(5)), 5);
    ep.dispose();
    images.dispose();
  });
});
