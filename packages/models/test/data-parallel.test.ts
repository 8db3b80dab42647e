/**
 * Data-parallel training (runtime/data-parallel.ts): a 2-worker step equals a single-process step
 * on the whole batch (loss and weights), the replicas stay bit-identical, and bad options fail
 * with messages that name what is wrong.
 */
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { bceLoss, buildBenchUnet, createDataParallelTrainer, shardBounds, usePortableBackend } from '../src/index';
import { seeded } from './helpers';

const benchUnet = { module: fileURLToPath(new URL('../src/bench-unet.ts', import.meta.url)), export: 'buildBenchUnet', args: [16] };


afterAll(async () => {
  await tf.setBackend('cpu');
});

describe('shardBounds', () => {
  it.each([
    [4, 2, [[0, 2], [2, 4]]],
    [5, 2, [[0, 3], [3, 5]]],
    [10, 3, [[0, 4], [4, 7], [7, 10]]],
    [1, 1, [[0, 1]]],
  ])('%i samples over %i workers', (n, w, expected) => {
    expect(shardBounds(n, w)).toEqual(expected);
  });
  it('rejects a non-positive batch or worker count', () => {
    expect(() => shardBounds(0, 2)).toThrow(/shardBounds: batch size must be a positive integer, got 0/);
    expect(() => shardBounds(4, 0)).toThrow(/shardBounds: workers must be a positive integer, got 0/);
  });
});

describe('createDataParallelTrainer', () => {
  it('two workers take the same step as one process on the whole batch (SGD, 2 steps)', async () => {
    const B = 5; // uneven shards: 3 + 2
    const S = 16;
    const x = { data: seeded(B * S * S, 1), shape: [B, S, S, 1] };
    const y = { data: seeded(B * S * S, 2).map((v) => (v < 0.2 ? 1 : 0)), shape: [B, S, S, 1] };
    const trainer = await createDataParallelTrainer({ workers: 2, modelFactory: benchUnet, optimizer: { name: 'sgd', learningRate: 0.5 } });
    try {
      // Each worker runs its convolutions on onnxruntime with one thread (two workers, two cores).
      expect([trainer.convEngine, trainer.convThreads]).toEqual(['onnxruntime', 1]);
      const w0 = (await trainer.getWeights()).weights;
      const dpLosses = [(await trainer.step(x, y)).loss, (await trainer.step(x, y)).loss];
      const dpWeights = (await trainer.getWeights(0)).weights;
      const other = (await trainer.getWeights(1)).weights;
      other.forEach((w, i) => expect(Array.from(w)).toEqual(Array.from(dpWeights[i])));

      // The same two steps in this process.
      await usePortableBackend('wasm');
      const model = buildBenchUnet(S);
      model.setWeights(w0.map((w, i) => tf.tensor(w, model.getWeights()[i].shape)));
      const opt = tf.train.sgd(0.5);
      const xt = tf.tensor(x.data, x.shape);
      const yt = tf.tensor(y.data, y.shape);
      const losses: number[] = [];
      for (let i = 0; i < 2; i++) {
        const l = opt.minimize(() => bceLoss(yt, model.apply(xt, { training: true }) as tf.Tensor), true)!;
        losses.push((await l.data())[0]);
        l.dispose();
      }
      for (let i = 0; i < 2; i++) expect(Math.abs(dpLosses[i] - losses[i])).toBeLessThan(1e-5);
      expect(losses[1]).not.toBeCloseTo(losses[0], 4); // the step changed the weights
      const ref = model.getWeights();
      for (let i = 0; i < ref.length; i++) {
        const r = await ref[i].data();
        let maxDiff = 0;
        for (let j = 0; j < r.length; j++) maxDiff = Math.max(maxDiff, Math.abs(r[j] - dpWeights[i][j]));
        expect(maxDiff).toBeLessThan(1e-5);
      }
      tf.dispose([xt, yt]);
      opt.dispose();
      model.dispose();
    } finally {
      await trainer.dispose();
    }
  });

  it('names a missing model factory export', async () => {
    await expect(
      createDataParallelTrainer({ workers: 1, modelFactory: { ...benchUnet, export: 'noSuchBuilder' }, optimizer: { name: 'sgd', learningRate: 0.1 } }),
    ).rejects.toThrow(/model factory 'noSuchBuilder' is not a function exported by/);
  });

  it('rejects bad options before starting workers', async () => {
    await expect(createDataParallelTrainer({ workers: 0, modelFactory: benchUnet, optimizer: { name: 'sgd', learningRate: 0.1 } })).rejects.toThrow(/workers must be a positive integer/);
    await expect(createDataParallelTrainer({ workers: 1, modelFactory: benchUnet, optimizer: { name: 'sgd', learningRate: 0 } })).rejects.toThrow(/learningRate must be > 0/);
    await expect(
      createDataParallelTrainer({ workers: 1, modelFactory: benchUnet, optimizer: { name: 'sgd', learningRate: 0.1 }, convThreads: 0 }),
    ).rejects.toThrow('createDataParallelTrainer: convThreads must be a positive integer, got 0');
  });
});
