/**
 * rl.policyTrain (issue 15): 'heads' updates only the Reinforcement-Net's head layers (policy*,
 * value*), 'all' every weight; both trainers honour it, and the options that cannot work are refused.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { RlSchema } from '@mrlseg/types';
import { createAgentTrainer, policyVariables } from '../src/index';
import { TOY, toyBatch, toySegNet } from './toy-env';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** A trunk shared by two named heads, as the Reinforcement-Net is built (per-pixel dense layers). */
function namedPolicyNet(): tf.LayersModel {
  const input = tf.input({ shape: [null, null, 1] as unknown as number[] });
  const init = (s: number) => tf.initializers.glorotUniform({ seed: s });
  const trunk = tf.layers.dense({ units: 6, activation: 'tanh', kernelInitializer: init(1), name: 'encoder_dense' }).apply(input) as tf.SymbolicTensor;
  const p1 = tf.layers.dense({ units: 4, activation: 'relu', kernelInitializer: init(2), name: 'policy_conv1' }).apply(trunk) as tf.SymbolicTensor;
  const policy = tf.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: init(3), name: 'policy' }).apply(p1) as tf.SymbolicTensor;
  const value = tf.layers.dense({ units: 1, kernelInitializer: init(4), name: 'value' }).apply(trunk) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: [policy, value], name: 'named_policy' });
}

const weightsOf = (m: tf.LayersModel, layer: string) => m.getLayer(layer).getWeights().map((w) => Array.from(w.dataSync()));

describe('rl.policyTrain', () => {
  it("policyVariables: 'all' = every trainable weight, 'heads' = the policy* and value* layers' weights", () => {
    const net = namedPolicyNet();
    expect(policyVariables(net, { policyTrain: 'all' }).length).toBe(8);
    const heads = policyVariables(net, { policyTrain: 'heads' }).map((v) => v.name);
    expect(heads.length).toBe(6);
    expect(heads.some((n) => n.includes('encoder_dense'))).toBe(false);
    const plain = tf.sequential({ layers: [tf.layers.dense({ inputShape: [1], units: 2, name: 'trunk_only' })] });
    expect(() => policyVariables(plain, { policyTrain: 'heads' })).toThrow(/policyVariables: rl.policyTrain 'heads' needs head layers named policy\* or value\*.*trunk_only/);
    expect(() => policyVariables(net, { policyTrain: 'encoder' as 'heads' })).toThrow(/policyVariables: train must be 'all' or 'heads', got 'encoder'/);
    [net, plain].forEach((m) => m.dispose());
  });

  for (const credit of ['counterfactual', 'pixel'] as const) {
    it(`the ${credit} trainer with 'heads' leaves the encoder as it was and moves the policy head; with 'all' it moves both`, () => {
      const b = toyBatch(2, 16, 77);
      const segNet = toySegNet(20);
      const moved = (policyTrain: 'all' | 'heads') => {
        const net = namedPolicyNet();
        const enc0 = weightsOf(net, 'encoder_dense');
        const pol0 = weightsOf(net, 'policy');
        const rl = RlSchema.parse({ credit, unitSize: 4, finetuneSeg: false, useFb: false, useAdp: false, maskValue: TOY.maskValue, creditContext: 'raw', policyTrain, episodeLength: 1 });
        const optimizer = tf.train.adam(0.05);
        const trainer = createAgentTrainer({ policyNet: net, segNet, rl, optimizer, seed: 3 });
        trainer.trainStep(b.images, b.labels);
        const before = tf.memory().numTensors; // after Adam made its moment variables
        trainer.trainStep(b.images, b.labels);
        expect(tf.memory().numTensors).toBe(before);
        trainer.dispose();
        optimizer.dispose();
        const diff = (x: number[][], y: number[][]) => Math.max(...x.flatMap((w, i) => w.map((v, j) => Math.abs(v - y[i][j]))));
        const out = { encoder: diff(enc0, weightsOf(net, 'encoder_dense')), policy: diff(pol0, weightsOf(net, 'policy')) };
        net.dispose();
        return out;
      };
      const heads = moved('heads');
      expect(heads.encoder).toBe(0);
      expect(heads.policy).toBeGreaterThan(1e-4);
      const all = moved('all');
      expect(all.encoder).toBeGreaterThan(1e-4);
      expect(all.policy).toBeGreaterThan(1e-4);
      tf.dispose([b.images, b.labels, b.distractors]);
      segNet.dispose();
    });
  }

  it("refuses 'heads' without rl.pretrain (the encoder would stay random)", () => {
    const net = namedPolicyNet();
    const segNet = toySegNet(20);
    const optimizer = tf.train.adam(0.01);
    for (const credit of ['counterfactual', 'pixel'] as const) {
      const rl = RlSchema.parse({ credit, finetuneSeg: false, policyTrain: 'heads', pretrain: false });
      expect(() => createAgentTrainer({ policyNet: net, segNet, rl, optimizer })).toThrow(/rl.policyTrain 'heads' trains a read-out of the encoder .* rl.pretrain is false/);
    }
    optimizer.dispose();
    [net, segNet].forEach((m) => m.dispose());
  });
});
