/**
 * diagnoseRl (issue 15's known-answer benchmark, `mrlseg diagnose rl`) on a tiny synthetic set:
 * the rows it returns, and that `augment` reaches the agent's batches and nothing else.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ExperimentConfigSchema } from '@mrlseg/types';
import { BENCHMARK_RL_INPUT, DEMO_CONFIG_INPUT, diagnoseRl, loadSlices, makeImageBatch, type Slice } from '../src/index';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('diagnoseRl', () => {
  it('trains the agent on augmented batches only when asked; pre-training and the raw held-out Dice do not change', async () => {
    const config = ExperimentConfigSchema.parse({
      ...DEMO_CONFIG_INPUT,
      dataset: { ...DEMO_CONFIG_INPUT.dataset, synthetic: { ...(DEMO_CONFIG_INPUT.dataset as { synthetic: object }).synthetic, count: 8, slicesPerPatient: 4, size: 32, distractors: 2, seed: 3 } },
      preprocessing: { ...DEMO_CONFIG_INPUT.preprocessing, size: 32 },
      training: { ...DEMO_CONFIG_INPUT.training, epochs: 1, rlBatchSize: 4 },
      rl: { ...BENCHMARK_RL_INPUT, credit: 'counterfactual', unitSize: 16, objective: 'ce-safe' },
      variants: undefined,
    });
    const { slices } = await loadSlices(config);
    const run = async (augment: boolean) => {
      const log: Record<string, unknown>[] = [];
      const rows = await diagnoseRl({ config, slices: [...slices.values()], seeds: [0], credits: ['counterfactual'], updates: 2, variant: 'rl-seg', reportEvery: 1, augment, log: (r) => log.push(r) });
      return { rows, losses: log.filter((r) => typeof r.update === 'number').map((r) => r.loss as number) };
    };
    const before = tf.memory().numTensors;
    const plain = await run(false);
    expect(tf.memory().numTensors).toBe(before); // evaluate() once leaked each batch's label tensor
    const augmented = await run(true);
    for (const { rows, losses } of [plain, augmented]) {
      expect(rows).toHaveLength(1);
      expect(rows[0].perCaseRaw).toHaveLength(4); // 2 patients: 1 trains, 1 (4 slices) is held out
      for (const f of [rows[0].masked.lesion, rows[0].masked.other]) expect(f >= 0 && f <= 1).toBe(true);
      expect(losses.length).toBeGreaterThanOrEqual(2);
    }
    // Same pre-training, same held-out slices: identical raw Dice per case.
    expect(augmented.rows[0].perCaseRaw).toEqual(plain.rows[0].perCaseRaw);
    // The first update's batch differs (flipped / rotated / jittered), so its loss does.
    expect(augmented.losses[0]).not.toBeCloseTo(plain.losses[0], 6);
  }, 120_000);
});

describe('makeImageBatch', () => {
  it('stacks the raw images of the chosen slices in order, B x S x S x 1, and builds no label tensor', () => {
    const slice = (id: string, image: number[]) => ({ id, patient: 'p', image: Float32Array.from(image), mask: new Uint8Array(4), size: 2, meta: {} }) as unknown as Slice;
    const slices = [slice('a', [0, 0.25, 0.5, 0.75]), slice('b', [1, 0.9, 0.8, 0.7])];
    const before = tf.memory().numTensors;
    const images = makeImageBatch(slices, [1, 0]);
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(images.shape).toEqual([2, 2, 2, 1]);
    expect(Array.from(images.dataSync())).toEqual(Array.from(Float32Array.from([1, 0.9, 0.8, 0.7, 0, 0.25, 0.5, 0.75])));
    images.dispose();
  });
});
