import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { RlSchema, type RlConfig } from '@mrlseg/types';
import { computeNStepReturns, createRewardFilter } from '@mrlseg/rewards';
import { collectEpisode, computeActorCriticLoss, trainableVariables, type Episode } from '../src/index';
import { thresholdSegNet, tinyPolicyNet } from './tiny-nets';
import { toyBatch } from './toy-env';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** A fixed episode on a 1 x 6 x 6 toy slice and a 3-channel conv policy. */
function setup(overrides: Partial<RlConfig>) {
  const rl = RlSchema.parse({ episodeLength: 2, rewardFilterSize: 3, gamma: 0.9, advantageNorm: 'none', ...overrides });
  const policyNet = tinyPolicyNet({ width: 3, seed: 4 });
  const segNet = thresholdSegNet();
  const { images, labels, distractors } = toyBatch(1, 6, 9);
  const episode = collectEpisode({ policyNet, segNet, images, labels, rl, seed: 3 });
  const filter = createRewardFilter(3);
  // A non-identity filter so that every tap of w matters.
  filter.assign(tf.tensor4d([0.05, 0.1, 0.02, -0.1, 0.9, 0.1, 0.03, 0.08, -0.05], [3, 3, 1, 1]));
  const dispose = () => {
    episode.dispose();
    tf.dispose([images, labels, distractors, filter]);
  };
  return { rl, policyNet, episode, filter, dispose };
}

/** A 1 x width x 1 policy net whose every pixel has pi(retain) = 0.8 and V = 0.5, for hand computations. */
function fixedPolicyNet(width: number): tf.LayersModel {
  const input = tf.input({ shape: [1, width, 1] });
  const pl = tf.layers.dense({ units: 2, activation: 'softmax' });
  const vl = tf.layers.dense({ units: 1 });
  const net = tf.model({ inputs: input, outputs: [pl.apply(input) as tf.SymbolicTensor, vl.apply(input) as tf.SymbolicTensor] });
  tf.tidy(() => {
    pl.setWeights([tf.zeros([1, 2]), tf.tensor1d([0, Math.log(4)])]);
    vl.setWeights([tf.zeros([1, 1]), tf.tensor1d([0.5])]);
  });
  return net;
}

function lossValue(policyNet: tf.LayersModel, episode: Episode, filter: tf.Tensor4D, rl: RlConfig, part: 'loss' | 'valueLoss'): number {
  return tf.tidy(() => {
    const l = computeActorCriticLoss(policyNet, episode, filter, rl);
    const v = part === 'loss' ? l.loss : tf.mul(rl.valueCoef, l.valueLoss);
    return v.dataSync()[0];
  });
}

/** Central finite difference of `f` in entry `i` of variable `v`. */
function finiteDifference(v: tf.Variable, i: number, h: number, f: () => number): number {
  const base = v.dataSync().slice();
  const at = (delta: number) => {
    const x = base.slice();
    x[i] += delta;
    tf.tidy(() => v.assign(tf.tensor(x, v.shape)));
    return f();
  };
  const plus = at(h);
  const minus = at(-h);
  tf.tidy(() => v.assign(tf.tensor(base, v.shape)));
  return (plus - minus) / (2 * h);
}

/**
 * The semi-gradient surrogate, written independently of loss.ts (patch size 1): the advantage
 * A0 = R - V is frozen at the current weights, so d(surrogate) = the actor-critic update direction.
 */
function surrogate(policyNet: tf.LayersModel, episode: Episode, filter: tf.Tensor4D, rl: RlConfig, frozenAdvantage: Float32Array): number {
  return tf.tidy(() => {
    const T = episode.inputs.length;
    const [probs, value] = policyNet.apply(tf.concat(episode.inputs, 0), { training: false }) as tf.Tensor[];
    const R = tf.concat(computeNStepReturns({ rewards: episode.rewards, bootstrapValue: episode.bootstrapValue, filter, gamma: rl.gamma, adp: episode.adp }), 0);
    const a = tf.concat(episode.actions, 0);
    const p = tf.clipByValue(probs, 1e-8, 1);
    const pa = tf.add(tf.mul(a, tf.slice(p, [0, 0, 0, 1], [-1, -1, -1, 1])), tf.mul(tf.sub(1, a), tf.slice(p, [0, 0, 0, 0], [-1, -1, -1, 1])));
    const policy = tf.mul(T, tf.mean(tf.mul(tf.neg(tf.log(pa)), tf.tensor(frozenAdvantage, pa.shape))));
    const entropy = tf.mean(tf.neg(tf.sum(tf.mul(p, tf.log(p)), 3)));
    const valueLoss = tf.mul(T, tf.mean(tf.mul(0.5, tf.square(tf.sub(R, value)))));
    return tf.addN([policy, tf.mul(-rl.entropyCoef * T, entropy), tf.mul(rl.valueCoef, valueLoss)]).dataSync()[0];
  });
}

function advantageNow(policyNet: tf.LayersModel, episode: Episode, filter: tf.Tensor4D, rl: RlConfig): Float32Array {
  return tf.tidy(() => {
    const [, value] = policyNet.apply(tf.concat(episode.inputs, 0), { training: false }) as tf.Tensor[];
    const R = tf.concat(computeNStepReturns({ rewards: episode.rewards, bootstrapValue: episode.bootstrapValue, filter, gamma: rl.gamma, adp: episode.adp }), 0);
    return tf.sub(R, value).dataSync() as Float32Array;
  });
}

describe('computeActorCriticLoss gradients (finite differences)', () => {
  it('match the actor-critic semi-gradient for the shared trunk, both heads and the reward filter w (Eq. 13)', () => {
    const { rl, policyNet, episode, filter, dispose } = setup({ wGradient: 'eq13' });
    const vars = [...trainableVariables(policyNet), filter];
    const { value, grads } = tf.variableGrads(() => computeActorCriticLoss(policyNet, episode, filter, rl).loss, vars);
    const A0 = advantageNow(policyNet, episode, filter, rl);
    expect(surrogate(policyNet, episode, filter, rl, A0)).toBeCloseTo(value.dataSync()[0], 4);
    let checked = 0;
    for (const v of vars) {
      const g = grads[v.name].dataSync();
      const n = v.size;
      // w: the network does not depend on it, so the full loss is the function to differentiate.
      const f = v === filter ? () => lossValue(policyNet, episode, filter, rl, 'loss') : () => surrogate(policyNet, episode, filter, rl, A0);
      for (const i of [0, Math.floor(n / 2), n - 1]) {
        const fd = finiteDifference(v, i, 2e-3, f);
        expect(Math.abs(fd - g[i]), `${v.name}[${i}]: fd ${fd}, analytic ${g[i]}`).toBeLessThanOrEqual(3e-3 + 3e-2 * Math.abs(g[i]));
        checked++;
      }
    }
    expect(checked).toBe(3 * vars.length);
    // the check is not vacuous: the filter's gradient is not zero
    expect(Math.max(...Array.from(grads[filter.name].dataSync()).map(Math.abs))).toBeGreaterThan(1e-3);
    tf.dispose([value, grads]);
    dispose();
  });

  it("with wGradient 'value-only' gives w exactly the value term's gradient", () => {
    const { rl, policyNet, episode, filter, dispose } = setup({ wGradient: 'value-only' });
    const { grads } = tf.variableGrads(() => computeActorCriticLoss(policyNet, episode, filter, rl).loss, [filter]);
    const g = grads[filter.name].dataSync();
    for (const i of [0, 4, 7]) {
      const fd = finiteDifference(filter, i, 2e-3, () => lossValue(policyNet, episode, filter, rl, 'valueLoss'));
      expect(Math.abs(fd - g[i])).toBeLessThanOrEqual(3e-3 + 3e-2 * Math.abs(g[i]));
    }
    // ... and differs from Eq. (13)'s, which adds the policy term.
    const eq13 = { ...rl, wGradient: 'eq13' as const };
    const { grads: g13 } = tf.variableGrads(() => computeActorCriticLoss(policyNet, episode, filter, eq13).loss, [filter]);
    const diff = Math.max(...Array.from(g13[filter.name].dataSync()).map((x, i) => Math.abs(x - g[i])));
    expect(diff).toBeGreaterThan(1e-4);
    tf.dispose([grads, g13]);
    dispose();
  });

  it('detaches the advantage: the policy term leaves the value head alone and the value term the policy head', () => {
    const { rl, policyNet, episode, filter, dispose } = setup({});
    const [, , policyKernel, , valueKernel] = trainableVariables(policyNet); // trunk k, b, policy k, b, value k, b
    const grad = (part: 'policyLoss' | 'valueLoss', v: tf.Variable) => {
      // both kernels in the list: variableGrads throws when none is connected
      const { grads } = tf.variableGrads(() => computeActorCriticLoss(policyNet, episode, filter, rl)[part], [policyKernel, valueKernel]);
      const g = grads[v.name];
      const out = g ? Math.max(...Array.from(g.dataSync()).map(Math.abs)) : 0;
      tf.dispose(grads);
      return out;
    };
    expect(grad('policyLoss', valueKernel)).toBe(0);
    expect(grad('valueLoss', policyKernel)).toBe(0);
    expect(grad('policyLoss', policyKernel)).toBeGreaterThan(0);
    expect(grad('valueLoss', valueKernel)).toBeGreaterThan(0);
    dispose();
  });

  it('equals a hand computation for a one-pixel, one-step episode', () => {
    // pi(retain) = 0.8, V(s0) = 0.5, action retain, r* = 1, V(s1) = 0.5, gamma 0.9, identity w, no ADP:
    // R = 1 + 0.9 * 0.5 = 1.45, A = 0.95; policy = -ln(0.8) * 0.95; value = 0.5 * 0.95^2;
    // entropy = -(0.8 ln 0.8 + 0.2 ln 0.2).
    const rl = RlSchema.parse({ episodeLength: 1, gamma: 0.9, rewardFilterSize: 1, useAdp: false, entropyCoef: 0.01, valueCoef: 0.5, advantageNorm: 'none' });
    const net = fixedPolicyNet(1);
    const one = (x: number) => tf.fill([1, 1, 1, 1], x) as tf.Tensor4D;
    const episode = {
      inputs: [one(0.3)],
      actions: [one(1)],
      retained: [one(1)],
      rewards: [one(1)],
      localRewards: [one(1)],
      fbRatios: [],
      adp: null,
      bootstrapValue: one(0.5),
      finalState: one(0.3),
      dispose() {},
    } as Episode;
    const w = createRewardFilter(1);
    const l = computeActorCriticLoss(net, episode, w, rl);
    const H = -(0.8 * Math.log(0.8) + 0.2 * Math.log(0.2));
    const policy = -Math.log(0.8) * 0.95;
    const value = 0.5 * 0.95 ** 2;
    expect(l.policyLoss.dataSync()[0]).toBeCloseTo(policy, 5);
    expect(l.valueLoss.dataSync()[0]).toBeCloseTo(value, 5);
    expect(l.entropy.dataSync()[0]).toBeCloseTo(H, 5);
    expect(l.loss.dataSync()[0]).toBeCloseTo(policy - 0.01 * H + 0.5 * value, 5);
    tf.dispose([l.loss, l.policyLoss, l.valueLoss, l.entropy, w, ...episode.inputs, ...episode.actions, ...episode.retained, ...episode.rewards, ...episode.localRewards, episode.bootstrapValue, episode.finalState]);
  });
  it("standardises the advantages with rl.advantageNorm = 'batch' (hand computation, two pixels)", () => {
    // Two pixels, one step, pi(retain) = 0.8 at both, V = 0.5 everywhere, gamma 0.9, identity w, no ADP.
    // Pixel 0 retains with r* = 1, pixel 1 masks with r* = -1: R = [1.45, -0.55], A = [0.95, -1.05].
    // mean -0.05, population std 1.0, so the standardised A = [1, -1] (up to the 1e-6 added to the std):
    // policy = -(ln 0.8 * 1 + ln 0.2 * (-1)) / 2; the value loss still uses the raw R - V.
    const rl = RlSchema.parse({ episodeLength: 1, gamma: 0.9, rewardFilterSize: 1, useAdp: false, entropyCoef: 0.01, valueCoef: 0.5, advantageNorm: 'batch' });
    const net = fixedPolicyNet(2);
    const map = (a: number, b: number) => tf.tensor4d([a, b], [1, 1, 2, 1]);
    const episode = {
      inputs: [map(0.3, 0.3)],
      actions: [map(1, 0)],
      retained: [map(1, 0)],
      rewards: [map(1, -1)],
      localRewards: [map(1, -1)],
      fbRatios: [],
      adp: null,
      bootstrapValue: map(0.5, 0.5),
      finalState: map(0.3, 0),
      dispose() {},
    } as Episode;
    const w = createRewardFilter(1);
    const before = tf.memory().numTensors;
    const l = computeActorCriticLoss(net, episode, w, rl);
    const s = 1 / (1 + 1e-6);
    expect(l.policyLoss.dataSync()[0]).toBeCloseTo(-(Math.log(0.8) * s + Math.log(0.2) * -s) / 2, 5);
    expect(l.valueLoss.dataSync()[0]).toBeCloseTo((0.5 * 0.95 ** 2 + 0.5 * 1.05 ** 2) / 2, 5);
    tf.dispose([l.loss, l.policyLoss, l.valueLoss, l.entropy, l.advantageMean, l.advantageStd]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([w, ...episode.inputs, ...episode.actions, ...episode.retained, ...episode.rewards, ...episode.localRewards, episode.bootstrapValue, episode.finalState]);
  });
});
