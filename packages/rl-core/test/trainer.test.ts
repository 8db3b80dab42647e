import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { RlSchema } from '@mrlseg/types';
import { createA2CTrainer, meanPixelCrossEntropy, runEpisodeDeterministic, trainableVariables } from '../src/index';
import { constantPolicyNet, pixelPolicyNet, thresholdSegNet } from './tiny-nets';
import { toyBatch } from './toy-env';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const weightsOf = (m: tf.LayersModel) => trainableVariables(m).map((v) => Array.from(v.dataSync()));

describe('createA2CTrainer', () => {
  it('trains the policy, value head and w, fine-tunes the segmenter, and leaks no tensors', () => {
    const rl = RlSchema.parse({ episodeLength: 2, rewardFilterSize: 3, finetuneSeg: true, finetuneOn: 'sampled' });
    const policyNet = pixelPolicyNet({ seed: 2 });
    const segNet = thresholdSegNet();
    const optimizer = tf.train.adam(1e-2);
    const segOptimizer = tf.train.sgd(1e-2);
    const trainer = createA2CTrainer({ policyNet, segNet, rl, optimizer, segOptimizer, seed: 4 });
    const { images, labels, distractors } = toyBatch(2, 8, 1);
    const p0 = weightsOf(policyNet);
    const s0 = weightsOf(segNet);
    const w0 = Array.from(trainer.rewardFilter.dataSync());
    trainer.trainStep(images, labels); // creates the optimisers' slots
    const before = tf.memory().numTensors;
    const r = trainer.trainStep(images, labels);
    runEpisodeDeterministic(policyNet, segNet, images, rl).dispose();
    expect(tf.memory().numTensors).toBe(before);
    for (const k of ['loss', 'policyLoss', 'valueLoss', 'entropy', 'meanReward', 'meanLocalReward', 'episodeReward', 'fbRatio', 'maskedFraction'] as const) {
      expect(Number.isFinite(r[k]), k).toBe(true);
    }
    expect(r.entropy).toBeGreaterThan(0);
    expect(r.entropy).toBeLessThanOrEqual(Math.log(2) + 1e-6);
    expect(r.segLoss).not.toBeNull();
    expect(r.timings.totalMs).toBeGreaterThan(0);
    weightsOf(policyNet).forEach((w, i) => expect(w, `policy weight ${i}`).not.toEqual(p0[i]));
    expect(weightsOf(segNet)[0]).not.toEqual(s0[0]);
    expect(Array.from(trainer.rewardFilter.dataSync())).not.toEqual(w0);
    trainer.dispose();
    tf.dispose([images, labels, distractors]);
    optimizer.dispose();
    segOptimizer.dispose();
  });

  it('leaves the segmenter alone with rl.finetuneSeg = false', () => {
    const rl = RlSchema.parse({ episodeLength: 1, finetuneSeg: false });
    const segNet = thresholdSegNet();
    const trainer = createA2CTrainer({ policyNet: pixelPolicyNet(), segNet, rl, optimizer: tf.train.sgd(0.1) });
    const { images, labels, distractors } = toyBatch(1, 8, 2);
    const s0 = weightsOf(segNet);
    const r = trainer.trainStep(images, labels);
    expect(r.segLoss).toBeNull();
    expect(weightsOf(segNet)).toEqual(s0);
    trainer.dispose();
    tf.dispose([images, labels, distractors]);
  });

  it.each([
    ['greedy', 'the raw images (the greedy policy retains everything)'],
    ['sampled', "the sampled episode's s(T)"],
  ] as const)("with rl.finetuneOn = '%s' fine-tunes the segmenter on %s", (finetuneOn, _what: string) => {
    // pi(retain) = 0.7: the greedy policy retains every pixel, sampling masks about 30 % per step.
    const rl = RlSchema.parse({ episodeLength: 2, finetuneSeg: true, finetuneOn });
    const segNet = thresholdSegNet(2, 0.5);
    const reference = thresholdSegNet(2, 0.5);
    const segOptimizer = tf.train.sgd(0.5);
    const trainer = createA2CTrainer({ policyNet: constantPolicyNet(0.7), segNet, rl, optimizer: tf.train.sgd(0.1), segOptimizer, seed: 5 });
    const { images, labels, distractors } = toyBatch(2, 8, 3);
    trainer.trainStep(images, labels);
    // The same SGD step on the raw images, by hand.
    tf.train.sgd(0.5).minimize(() => meanPixelCrossEntropy(labels, reference.apply(images) as tf.Tensor4D), false, trainableVariables(reference));
    const same = weightsOf(segNet).every((w, i) => w.every((v, j) => Math.abs(v - weightsOf(reference)[i][j]) < 1e-6));
    expect(same).toBe(finetuneOn === 'greedy');
    trainer.dispose();
    tf.dispose([images, labels, distractors]);
  });

  it('is reproducible for a fixed seed', () => {
    const rl = RlSchema.parse({ episodeLength: 2, finetuneSeg: false });
    const run = () => {
      const trainer = createA2CTrainer({ policyNet: pixelPolicyNet({ seed: 5 }), segNet: thresholdSegNet(), rl, optimizer: tf.train.sgd(0.05), seed: 9 });
      const { images, labels, distractors } = toyBatch(2, 8, 3);
      const out = [trainer.trainStep(images, labels).loss, trainer.trainStep(images, labels).loss];
      trainer.dispose();
      tf.dispose([images, labels, distractors]);
      return out;
    };
    expect(run()).toEqual(run());
  });

  const base = () => ({ policyNet: constantPolicyNet(0.5), segNet: thresholdSegNet(), optimizer: tf.train.sgd(0.1) });
  it.each([
    [{ workers: 3 }, {}, /createA2CTrainer: rl.workers = 3: asynchronous workers are not available in one JavaScript thread/],
    [{ finetuneSeg: true }, {}, /createA2CTrainer: rl.finetuneSeg is true, so segOptimizer \(a tf.Optimizer\) is required/],
    [{ maskHistory: true, finetuneSeg: false }, {}, /createA2CTrainer: policyNet takes 1 input channel\(s\) but rl.maskHistory = true needs 2/],
    [{ finetuneSeg: false, rewardFilterSize: 3 }, { rewardFilterInit: 'bad' }, /createA2CTrainer: rewardFilterInit must have shape \[3, 3, 1, 1\], got \[5, 5, 1, 1\]/],
    [{ finetuneSeg: false }, { optimizer: 'adam' }, /createA2CTrainer: optimizer must be a tf.Optimizer/],
  ])('rejects rl %j', (rlOverride, extra, message) => {
    const o: Record<string, unknown> = { ...base(), rl: RlSchema.parse(rlOverride), ...extra };
    const n = tf.memory().numTensors;
    if (o.rewardFilterInit === 'bad') o.rewardFilterInit = tf.zeros([5, 5, 1, 1]);
    expect(() => createA2CTrainer(o as never)).toThrow(message);
    if (o.rewardFilterInit) (o.rewardFilterInit as tf.Tensor).dispose();
    expect(tf.memory().numTensors).toBe(n);
  });

  it('starts w from rewardFilterInit and refuses to train after dispose', () => {
    const init = tf.fill([3, 3, 1, 1], 0.1) as tf.Tensor4D;
    const trainer = createA2CTrainer({ ...base(), rl: RlSchema.parse({ finetuneSeg: false, rewardFilterSize: 3 }), rewardFilterInit: init });
    expect(Array.from(trainer.rewardFilter.dataSync()).every((v) => Math.abs(v - 0.1) < 1e-7)).toBe(true);
    trainer.dispose();
    const img = tf.zeros([1, 4, 4, 1]) as tf.Tensor4D;
    expect(() => trainer.trainStep(img, img)).toThrow(/trainStep: the trainer was disposed/);
    tf.dispose([init, img]);
  });
});
