/**
 * What the deterministic policy masked, per case (CaseAgentFractionsSchema): the pure counting
 * against hand-worked masks, then the whole evaluation path (runEpisodeDeterministic ->
 * predictSlices -> caseRecord -> evaluateAndStore) with a hand-set Reinforcement-Net whose greedy
 * action is known for every pixel.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RlSchema, type SampleMeta } from '@mrlseg/types';
import { agentFractions, evaluateAndStore, openStore, predictSlices, summarizeAgentFractions, type ResultsStore, type Slice } from '../src/index';

describe('agentFractions against hand-counted masks', () => {
  // 4 x 4, row-major. Masked (a): the top two rows plus pixel (2, 0): 9 of 16.
  // Lesion (g): the 2 x 2 square at rows 1-2, columns 0-1: 4 pixels, of which (1,0), (1,1), (2,0) are masked.
  const a = Uint8Array.from([1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]);
  const g = Uint8Array.from([0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0]);

  it('masked 9/16 of the pixels and 3/4 of the lesion', async () => {
    expect(agentFractions(a, g)).toEqual({ maskedFraction: 9 / 16, lesionMaskedFraction: 3 / 4 });
  });

  it('masking everything or nothing gives 1 and 0; no lesion gives a null lesion fraction', async () => {
    expect(agentFractions(new Uint8Array(16).fill(1), g)).toEqual({ maskedFraction: 1, lesionMaskedFraction: 1 });
    expect(agentFractions(new Uint8Array(16), g)).toEqual({ maskedFraction: 0, lesionMaskedFraction: 0 });
    expect(agentFractions(a, new Uint8Array(16))).toEqual({ maskedFraction: 9 / 16, lesionMaskedFraction: null });
  });

  it('no agent (OnlySeg, baselines) gives null for both; mismatched sizes are refused, naming both', async () => {
    expect(agentFractions(null, g)).toEqual({ maskedFraction: null, lesionMaskedFraction: null });
    expect(() => agentFractions(a, new Uint8Array(9))).toThrow(/agentFractions: actions \(16 pixels\) and groundTruth \(9 pixels\)/);
  });

  it('summaries leave nulls out of each mean and count them', async () => {
    const s = summarizeAgentFractions([
      { maskedFraction: 0.5, lesionMaskedFraction: 0.25 },
      { maskedFraction: 0.25, lesionMaskedFraction: null }, // no lesion
      { maskedFraction: null, lesionMaskedFraction: null }, // stored before schema 2
    ]);
    expect(s).toEqual({ maskedFraction: 0.375, lesionMaskedFraction: 0.25, cases: 3, recorded: 2, withLesion: 1 });
    expect(summarizeAgentFractions([])).toEqual({ maskedFraction: null, lesionMaskedFraction: null, cases: 0, recorded: 0, withLesion: 0 });
  });
});

const S = 4;
const rl = RlSchema.parse({ episodeLength: 3, maskValue: 0 });

/**
 * A Reinforcement-Net with one 1 x 1 convolution: logit(mask) = 20 (x - 0.5), logit(retain) = 0,
 * so the greedy action masks exactly the pixels brighter than 0.5. Masked pixels become maskValue 0
 * and stay masked (retained(t+1) = retained(t) AND retain), so after T steps the masked set is
 * {x > 0.5} of the input image.
 */
function thresholdPolicy(): tf.LayersModel {
  const channels = rl.maskHistory ? 2 : 1;
  const input = tf.input({ shape: [S, S, channels] });
  const policy = tf.layers.conv2d({ filters: 2, kernelSize: 1, activation: 'softmax' }).apply(input) as tf.SymbolicTensor;
  const value = tf.layers.conv2d({ filters: 1, kernelSize: 1 }).apply(input) as tf.SymbolicTensor;
  const net = tf.model({ inputs: input, outputs: [policy, value] });
  const kernel = new Float32Array(channels * 2);
  kernel[0] = 20; // channel 0 (the state) -> mask logit; everything else 0
  const weights = [tf.tensor4d(kernel, [1, 1, channels, 2]), tf.tensor1d([-10, 0])];
  net.layers[1].setWeights(weights); // copies into the layer's variables
  tf.dispose(weights);
  return net;
}

/** A Segmentation-Net that answers 0.5 everywhere (its prediction is not under test). */
function flatSegNet(): tf.LayersModel {
  const input = tf.input({ shape: [S, S, 1] });
  const out = tf.layers.conv2d({ filters: 1, kernelSize: 1, activation: 'sigmoid', kernelInitializer: 'zeros', biasInitializer: 'zeros' }).apply(input) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

const slice = (id: string, bright: number[], lesion: number[]): Slice => {
  const image = new Float32Array(S * S).fill(0.2);
  for (const i of bright) image[i] = 0.9;
  const mask = new Uint8Array(S * S);
  for (const i of lesion) mask[i] = 1;
  const fbRatio = lesion.length / (S * S - lesion.length);
  return { id, patient: id.split('_')[0], image, mask, size: S, meta: { id, fbRatio } as SampleMeta };
};

// Hand-worked: a = 6 bright of 16, lesion {0, 1, 4, 7} of which 0, 1, 7 are bright -> 6/16, 3/4.
// b = no bright pixel, lesion {5, 6} -> 0, 0. c = all bright, no lesion -> 1, null.
const SLICES = [slice('p1_a', [0, 1, 2, 3, 7, 8], [0, 1, 4, 7]), slice('p1_b', [], [5, 6]), slice('p2_c', Array.from({ length: S * S }, (_, i) => i), [])];
const EXPECTED = [
  { maskedFraction: 6 / 16, lesionMaskedFraction: 3 / 4 },
  { maskedFraction: 0, lesionMaskedFraction: 0 },
  { maskedFraction: 1, lesionMaskedFraction: null },
];

describe('the evaluation path records what the deterministic policy masked', () => {
  let policy: tf.LayersModel;
  let seg: tf.LayersModel;
  let dir: string;
  let store: ResultsStore;
  beforeAll(async () => {
    await tf.setBackend('cpu');
    policy = thresholdPolicy();
    seg = flatSegNet();
    dir = mkdtempSync(join(tmpdir(), 'mrlseg-eval-'));
    store = await openStore(dir);
    await store.createExperiment({ id: 'e1', name: 'eval', dataset: 'synthetic', config: {}, configHash: 'h', gitCommit: null });
    for (const [id, variant] of [['e1-rl', 'rl-seg'], ['e1-only', 'onlyseg']] as const) {
      await store.startRun({ id, experimentId: 'e1', variant, fold: 0, seed: 0, dataset: 'synthetic', backend: 'cpu', gitCommit: null, config: {} });
    }
  });
  afterAll(async () => {
    policy.dispose();
    seg.dispose();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('predictSlices: the action maps are the pixels brighter than 0.5, per case across batches, and no tensor is left', async () => {
    const before = tf.memory().numTensors;
    const preds = predictSlices({ seg, rl: policy, rlConfig: rl }, SLICES, 2); // batches [a, b], [c]
    expect(tf.memory().numTensors).toBe(before);
    preds.forEach((p, k) => {
      expect(p.slice.id).toBe(SLICES[k].id);
      expect(Array.from(p.actions!)).toEqual(Array.from(SLICES[k].image, (x) => (x > 0.5 ? 1 : 0)));
    });
  });

  it('evaluateAndStore stores the hand-worked fractions for the RL run and null without an agent', async () => {
    const before = tf.memory().numTensors;
    const common = { store, test: SLICES, intervals: 'ct' as const, batchSize: 2, writePngs: false };
    const r = await evaluateAndStore({ ...common, runId: 'e1-rl', nets: { seg, rl: policy, rlConfig: rl } });
    const o = await evaluateAndStore({ ...common, runId: 'e1-only', nets: { seg, rl: null, rlConfig: rl } });
    expect(tf.memory().numTensors).toBe(before);
    const got = (await store.allCases('e1-rl')).map((c) => ({ maskedFraction: c.maskedFraction, lesionMaskedFraction: c.lesionMaskedFraction }));
    expect(got).toEqual(EXPECTED);
    expect((await store.allCases('e1-only')).map((c) => [c.maskedFraction, c.lesionMaskedFraction])).toEqual([
      [null, null],
      [null, null],
      [null, null],
    ]);
    // means over the three cases: (6/16 + 0 + 1) / 3 and (3/4 + 0) / 2
    expect(r.agent).toEqual({ maskedFraction: (6 / 16 + 1) / 3, lesionMaskedFraction: 3 / 8, cases: 3, recorded: 3, withLesion: 2 });
    expect(o.agent).toBeNull();
  });
});
