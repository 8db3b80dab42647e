import * as tf from '@tensorflow/tfjs';
import { describe, expect, it, beforeAll } from 'vitest';
import { RlSchema } from '@mrlseg/types';
import { createA2CTrainer, runEpisodeDeterministic } from '../src/index';
import { tinyPolicyNet, thresholdSegNet } from './tiny-nets';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('smoke', () => {
  it('trains and infers', () => {
    const rl = RlSchema.parse({ finetuneSeg: true });
    const policyNet = tinyPolicyNet();
    const segNet = thresholdSegNet();
    const trainer = createA2CTrainer({ policyNet, segNet, rl, optimizer: tf.train.adam(1e-2), segOptimizer: tf.train.adam(1e-3) });
    const images = tf.randomUniform([2, 16, 16, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
    const labels = tf.cast(tf.greater(images, 0.8), 'float32') as tf.Tensor4D;
    trainer.trainStep(images, labels);
    const n0 = tf.memory().numTensors;
    const r = trainer.trainStep(images, labels);
    console.log(r);
    expect(tf.memory().numTensors).toBe(n0);
    const ep = runEpisodeDeterministic(policyNet, segNet, images, rl);
    ep.dispose();
    expect(tf.memory().numTensors).toBe(n0);
  });
});
