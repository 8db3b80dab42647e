/**
 * diagnoseRl (issue 15's known-answer benchmark, `mrlseg diagnose rl`) on a tiny synthetic set:
 * the rows it returns, and that `augment` reaches the agent's batches and nothing else.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ExperimentConfigSchema } from '@mrlseg/types';
import { BENCHMARK_RL_INPUT, DEMO_CONFIG_INPUT, diagnoseRl, diagnosisSplit, diagnosisTable, loadSlices, makeImageBatch, type Slice } from '../src/index';
import { checkCreditQuorum, creditSnapshotEpochs } from '../src/pipeline/credit-snapshots';

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
    // The plain run also scores its policy at three greedy thresholds: mask every unit, none, and the row's own.
    const thresholds = [-1e9, 1e9, config.rl.greedyThreshold];
    const run = async (augment: boolean) => {
      const log: Record<string, unknown>[] = [];
      const rows = await diagnoseRl({ config, slices: [...slices.values()], seeds: [0], credits: ['counterfactual'], updates: 2, variant: 'rl-seg', reportEvery: 1, augment, greedyThresholds: augment ? undefined : thresholds, log: (r) => log.push(r) });
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
    // greedyThresholds: below every mean logit the policy masks every pixel; above every one it masks
    // none, and the frozen network then sees the raw images; at the row's own threshold, the row's result.
    const sweep = plain.rows[0].sweep!;
    expect(sweep.map((p) => p.threshold)).toEqual(thresholds);
    expect(sweep[0].masked.all).toBe(1);
    expect(sweep[0].masked.lesion).toBe(1);
    expect(sweep[1].masked.all).toBe(0);
    expect(sweep[1].perCaseMasked).toEqual(plain.rows[0].perCaseRaw);
    expect(sweep[2].perCaseMasked).toEqual(plain.rows[0].perCaseMasked);
    expect(sweep[2].masked).toEqual(plain.rows[0].masked);
    expect(augmented.rows[0].sweep).toBeUndefined();
    // The summary table gets one more line per threshold; the one that masks nothing differs by 0 points.
    const table = diagnosisTable(plain.rows).split('\n');
    expect(table).toHaveLength(2 + 1 + thresholds.length);
    expect(table[4]).toMatch(/^\| counterfactual, greedy threshold 1000000000 \| 1 \| 0\.00 % \|.*difference 0\.00 points, n = 4 \| \|$/);
    await expect(diagnoseRl({ config, slices: [...slices.values()], seeds: [0], credits: ['counterfactual'], updates: 1, greedyThresholds: [0, Number.NaN] })).rejects.toThrow(
      /diagnoseRl: greedyThresholds must be finite numbers, got \[0, NaN\]/,
    );
    // The first update's batch differs (flipped / rotated / jittered), so its loss does.
    expect(augmented.losses[0]).not.toBeCloseTo(plain.losses[0], 6);
  }, 120_000);
});

describe('diagnoseRl: what the credit labels "mask" (labelled)', () => {
  it('counts the pixels of units labelled "mask" (a huge bonus with the lesion veto: every unit without a lesion pixel), against a hand count', async () => {
    const config = ExperimentConfigSchema.parse({
      ...DEMO_CONFIG_INPUT,
      dataset: { ...DEMO_CONFIG_INPUT.dataset, synthetic: { ...(DEMO_CONFIG_INPUT.dataset as { synthetic: object }).synthetic, count: 8, slicesPerPatient: 4, size: 64, distractors: 2, seed: 3 } }, // 64 px: both patients have room for distractors
      preprocessing: { ...DEMO_CONFIG_INPUT.preprocessing, size: 32 },
      training: { ...DEMO_CONFIG_INPUT.training, epochs: 1, rlBatchSize: 4 },
      // A bonus that outweighs any credit: every unit is labelled "mask" but those the lesion veto keeps.
      rl: { ...BENCHMARK_RL_INPUT, credit: 'counterfactual', unitSize: 8, objective: 'ce', maskBonus: 1e6, lesionVeto: true },
      variants: undefined,
    });
    const { slices } = await loadSlices(config);
    const before = tf.memory().numTensors;
    const log: Record<string, unknown>[] = [];
    const [veto] = await diagnoseRl({ config, slices: [...slices.values()], seeds: [0], credits: ['counterfactual'], updates: 1, variant: 'rl-seg', log: (r) => log.push(r) });
    expect(tf.memory().numTensors).toBe(before);
    expect(log.some((r) => (r.labelledMask as { heldOut?: unknown } | undefined)?.heldOut)).toBe(true);
    // The veto turns every unit holding a lesion pixel to "keep". Independently: 8 px squares on 32 px
    // slices, unit = (y >> 3) * 4 + (x >> 3); count the distractor and other pixels outside lesion units.
    const { train, test } = diagnosisSplit([...slices.values()]);
    const expected = (set: readonly Slice[]) => {
      const c = { distractor: [0, 0], other: [0, 0] };
      for (const s of set) {
        const lesionUnit = new Set<number>();
        s.mask.forEach((v, i) => v && lesionUnit.add(((i >> 5) >> 3) * 4 + ((i & 31) >> 3)));
        s.mask.forEach((v, i) => {
          if (v) return;
          const k = s.distractor![i] ? c.distractor : c.other;
          k[1]++;
          if (!lesionUnit.has(((i >> 5) >> 3) * 4 + ((i & 31) >> 3))) k[0]++;
        });
      }
      return { distractor: c.distractor[0] / c.distractor[1], other: c.other[0] / c.other[1] };
    };
    for (const [set, slicesOf] of [['training', train], ['heldOut', test]] as const) {
      const e = expected(slicesOf);
      expect(e.distractor).toBeGreaterThan(0); // the set holds distractors outside lesion units
      expect(veto.labelled![set].lesion).toBe(0);
      expect(veto.labelled![set].distractor).toBeCloseTo(e.distractor, 12);
      expect(veto.labelled![set].other).toBeCloseTo(e.other, 12);
      expect(veto.labelled![set].other).toBeLessThan(1);
    }
    // The summary table gives the held-out labels beside the masked fractions.
    const e = expected(test);
    expect(diagnosisTable([veto])).toContain(`| 0.00 % / ${(100 * e.distractor).toFixed(2)} % / ${(100 * e.other).toFixed(2)} % |`);
  }, 300_000);
});

describe("rl.creditNet 'snapshots'", () => {
  it('creditSnapshotEpochs: K evenly spaced pre-training epochs (0-based), the last one E - 1, duplicates once', () => {
    expect(creditSnapshotEpochs(12, 3)).toEqual([3, 7, 11]);
    expect(creditSnapshotEpochs(12, 5)).toEqual([1, 4, 6, 9, 11]); // round(2.4, 4.8, 7.2, 9.6, 12) - 1
    expect(creditSnapshotEpochs(2, 3)).toEqual([0, 1]); // round(0.67) = round(1.33) = 1
    expect(creditSnapshotEpochs(1, 4)).toEqual([0]);
    expect(() => creditSnapshotEpochs(0, 3)).toThrow(/creditSnapshotEpochs: epochs must be a positive integer, got 0/);
    expect(() => creditSnapshotEpochs(3, 1.5)).toThrow(/creditSnapshotEpochs: size must be a positive integer, got 1.5/);
  });

  it("refuses an rl.creditQuorum larger than the committee before it pre-trains anything; a quorum within it passes", async () => {
    const rlOf = (creditQuorum: number) => ({ ...BENCHMARK_RL_INPUT, credit: 'counterfactual', creditNet: 'snapshots', creditSnapshots: 3, creditCommittee: 'quorum', creditQuorum });
    const config = ExperimentConfigSchema.parse({ ...DEMO_CONFIG_INPUT, training: { ...DEMO_CONFIG_INPUT.training, epochs: 12 }, rl: rlOf(4), variants: undefined });
    let pretrained = false;
    // An empty slice list: diagnosisSplit would throw a different error if the check came after it.
    await expect(diagnoseRl({ config, slices: [], seeds: [0], credits: ['counterfactual'], updates: 1, log: () => (pretrained = true) })).rejects.toThrow(
      /diagnoseRl: rl.creditQuorum must be at most the committee's size 3 \(rl.creditSnapshots 3 over training.epochs 12\), got 4/,
    );
    expect(pretrained).toBe(false);
    const rl3 = ExperimentConfigSchema.parse({ ...DEMO_CONFIG_INPUT, rl: rlOf(3), variants: undefined }).rl;
    expect(() => checkCreditQuorum(rl3, 12, 'x')).not.toThrow();
    // Two pre-training epochs give two distinct snapshots (creditSnapshotEpochs(2, 3) = [0, 1]), so a quorum of 3 is refused.
    expect(() => checkCreditQuorum(rl3, 2, 'x')).toThrow(/x: rl.creditQuorum must be at most the committee's size 2 \(rl.creditSnapshots 3 over training.epochs 2\), got 3/);
    // Without the committee the quorum is not used, so it is not checked.
    expect(() => checkCreditQuorum({ ...rl3, creditNet: 'current', creditQuorum: 8 }, 12, 'x')).not.toThrow();
  });

  it('diagnoseRl asks the committee of pre-training snapshots: same pre-training and raw Dice, another agent, no tensor left', async () => {
    const config = (creditNet: 'current' | 'snapshots') =>
      ExperimentConfigSchema.parse({
        ...DEMO_CONFIG_INPUT,
        dataset: { ...DEMO_CONFIG_INPUT.dataset, synthetic: { ...(DEMO_CONFIG_INPUT.dataset as { synthetic: object }).synthetic, count: 8, slicesPerPatient: 4, size: 32, distractors: 2, seed: 3 } },
        preprocessing: { ...DEMO_CONFIG_INPUT.preprocessing, size: 32 },
        training: { ...DEMO_CONFIG_INPUT.training, epochs: 2, rlBatchSize: 4 },
        rl: { ...BENCHMARK_RL_INPUT, credit: 'counterfactual', unitSize: 16, objective: 'ce', creditContext: 'raw', creditNet, creditSnapshots: 2 },
        variants: undefined,
      });
    const { slices } = await loadSlices(config('current'));
    const run = async (creditNet: 'current' | 'snapshots') => {
      const log: Record<string, unknown>[] = [];
      const rows = await diagnoseRl({ config: config(creditNet), slices: [...slices.values()], seeds: [0], credits: ['counterfactual'], updates: 1, variant: 'rl-seg', reportEvery: 1, log: (r) => log.push(r) });
      return { rows, credit: log.filter((r) => typeof r.update === 'number').map((r) => r.advantageMean as number) };
    };
    const before = tf.memory().numTensors;
    const single = await run('current');
    const committee = await run('snapshots');
    expect(tf.memory().numTensors).toBe(before);
    expect(committee.rows[0].perCaseRaw).toEqual(single.rows[0].perCaseRaw);
    // 'raw' context: the first update's mean credit is the networks' own; the committee's differs.
    expect(committee.credit[0]).not.toBeCloseTo(single.credit[0], 3);
    await expect(diagnoseRl({ config: config('snapshots'), slices: [...slices.values()], seeds: [0], credits: ['counterfactual'], updates: 1, checkpoint: '/nonexistent' })).rejects.toThrow(/diagnose rl: rl.creditNet 'snapshots' needs the pre-training's trajectory; drop --checkpoint/);
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
