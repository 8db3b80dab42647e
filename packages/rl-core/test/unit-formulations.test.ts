/**
 * The unit formulations of issue 15 (rl.credit 'counterfactual' / 'candidates'): unit maps,
 * counterfactual credit against an independent hand computation, the logistic targets, and a
 * learning check on the toy environment (the segmenter mistakes the dark distractors for lesion).
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { RlSchema } from '@mrlseg/types';
import { candidateUnits, computeCounterfactualCredit, computeSafeCredit, labelOptionsOf, trainableVariables, unitLabels, unitMeanLogisticLoss, createAgentTrainer, creditTargets, effectiveRl, partitionUnits, patchUnits, runEpisodeDeterministic, superpixelPartition, unitGreedy } from '../src/index';
import { maskLogits, unitPolicyInput } from '../src/unit-policy';
import { constantPolicyNet, pixelPolicyNet, thresholdSegNet } from './tiny-nets';
import { TOY, toyBatch, toySegNet } from './toy-env';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** One trainStep of a fresh trainer (Adam 0.01) for `rlInput` on `batch`; the trainer, its optimizer and `policyNet` are disposed. */
function oneTrainStep(segNet: tf.LayersModel, batch: { images: tf.Tensor4D; labels: tf.Tensor4D }, rlInput: Record<string, unknown>, policyNet: tf.LayersModel, seed: number) {
  const optimizer = tf.train.adam(0.01);
  const trainer = createAgentTrainer({ policyNet, segNet, rl: RlSchema.parse(rlInput), optimizer, seed });
  try {
    return trainer.trainStep(batch.images, batch.labels);
  } finally {
    trainer.dispose();
    optimizer.dispose();
    policyNet.dispose();
  }
}

describe('unit maps', () => {
  it('patchUnits numbers u x u patches in raster order, smaller at the edges', () => {
    const u = patchUnits(3, 5, 2);
    // rows 0-1: patches 0 1 2 ; row 2: patches 3 4 5
    expect(Array.from(u.ids)).toEqual([0, 0, 1, 1, 2, 0, 0, 1, 1, 2, 3, 3, 4, 4, 5]);
    expect(u.count).toBe(6);
    expect(Array.from(u.sizes)).toEqual([4, 4, 2, 2, 2, 1]);
    expect(u.candidate.every((c) => !c)).toBe(true);
  });

  it('candidateUnits grows each component by the margin, merges touching ones, and leaves the rest to patches', () => {
    // 7 x 7, candidate pixels at (1,1), (1,5), (5,5); margin 1 grows each to a 3 x 3 block, with gaps between them.
    const p = new Float32Array(49);
    p[1 * 7 + 1] = 0.9;
    p[1 * 7 + 5] = 0.8;
    p[5 * 7 + 5] = 0.7;
    p[3 * 7 + 0] = 0.5; // not above the threshold
    const u = candidateUnits(p, 7, 7, 3, 0.5, 1);
    expect(u.candidate.filter(Boolean).length).toBe(3);
    expect([u.ids[0], u.ids[6], u.ids[6 * 7 + 6]]).toEqual([0, 1, 2]);
    expect(Array.from(u.sizes.slice(0, 3))).toEqual([9, 9, 9]);
    // The rest, per 3 x 3 patch (raster order of first pixel): (0,1) 3 px, (1,0) 9, (1,1) 5, (1,2) 1, (2,0) 3, (2,1) 1.
    expect(u.count).toBe(9);
    expect(Array.from(u.sizes.slice(3))).toEqual([3, 9, 5, 1, 3, 1]);
    expect(u.ids[3]).toBe(3);
    expect(u.candidate.slice(3).some(Boolean)).toBe(false);
    // margin 2: the three blocks touch and merge into one candidate.
    expect(candidateUnits(p, 7, 7, 3, 0.5, 2).candidate.filter(Boolean).length).toBe(1);
  });

  it('superpixelPartition follows an intensity edge that a square grid cuts, and its regions are connected', () => {
    // 16 x 16: a bright 5 x 5 square at rows 3-7, cols 5-9 (straddles the 4 px grid lines at 4 and 8).
    const h = 16;
    const img = new Float32Array(h * h).fill(0.2);
    for (let y = 3; y < 8; y++) for (let x = 5; x < 10; x++) img[y * h + x] = 0.8;
    const labels = superpixelPartition(img, h, h, 4, 0.1);
    // Every region is pure: all bright or all dark.
    const kind = new Map<number, number>();
    labels.forEach((l, i) => {
      const k = img[i] > 0.5 ? 1 : 0;
      expect(kind.get(l) ?? k).toBe(k);
      kind.set(l, k);
    });
    // Labels are 0 .. k - 1 in raster order of their first pixel, and each region is 4-connected.
    const u = partitionUnits(labels);
    expect(u.count).toBe(kind.size);
    expect(labels[0]).toBe(0);
    for (let l = 0; l < u.count; l++) {
      const pixels = [...labels.keys()].filter((i) => labels[i] === l);
      const seen = new Set([pixels[0]]);
      const stack = [pixels[0]];
      while (stack.length) {
        const p = stack.pop()!;
        for (const q of [p - h, p + h, p % h ? p - 1 : -1, (p + 1) % h ? p + 1 : -1]) {
          if (q >= 0 && q < h * h && labels[q] === l && !seen.has(q)) {
            seen.add(q);
            stack.push(q);
          }
        }
      }
      expect(seen.size).toBe(pixels.length);
    }
    // The square's 25 pixels are covered by bright regions only; a 4 px grid would mix them with dark pixels in 4 patches.
    expect([...labels.keys()].filter((i) => kind.get(labels[i]) === 1).length).toBe(25);
    // As the rest of a candidate map: candidates first, then the partition's regions outside them.
    const p = new Float32Array(h * h);
    p[0] = 0.9;
    const c = candidateUnits(p, h, h, 4, 0.5, 0, labels);
    expect(c.candidate.filter(Boolean).length).toBe(1);
    expect(c.count).toBe(1 + u.count);
    expect(() => superpixelPartition(img, h, h, 1, 0.1)).toThrow(/superpixelPartition: .*step/);
    expect(() => candidateUnits(p, h, h, 4, 0.5, 0, new Int32Array(3))).toThrow(/candidateUnits: base/);
  });

  it('rejects bad arguments with the function and argument named', () => {
    expect(() => candidateUnits(new Float32Array(3), 2, 2, 2, 0.5, 1)).toThrow(/candidateUnits: probability must hold/);
    expect(() => candidateUnits(new Float32Array(4), 2, 2, 2, 1.5, 1)).toThrow(/threshold/);
    expect(() => patchUnits(2, 2, 0)).toThrow(/patchUnits: .*unitSize/);
  });
});

describe('counterfactual credit', () => {
  it('equals Q(u masked) - Q(u kept) computed by hand (threshold segmenter, FB on)', () => {
    // One 1 x 4 image, units = two 1 x 2 patches (unitSize 2 on a 2 x 4 image would pair rows; use 2 x 4).
    const x = [0.9, 0.8, 0.2, 0.7, 0.1, 0.6, 0.3, 0.95];
    const y = [1, 0, 0, 0, 0, 0, 0, 0];
    const images = tf.tensor4d(x, [1, 2, 4, 1]);
    const labels = tf.tensor4d(y, [1, 2, 4, 1]);
    const seg = thresholdSegNet(10, 0.5);
    const rl = RlSchema.parse({ useFb: true, useAdp: false, alpha: -0.5, beta: 0.25, maskValue: 0, unitSize: 2, credit: 'counterfactual' });
    const units = [patchUnits(2, 4, 2)]; // unit 0 = cols 0-1, unit 1 = cols 2-3
    const masked = [[false, true]]; // a: unit 1 masked
    const before = tf.memory().numTensors;
    const [c] = computeCounterfactualCredit(seg, images, labels, units, masked, rl);
    expect(tf.memory().numTensors).toBe(before);
    // Independent computation.
    const sig = (v: number) => 1 / (1 + Math.exp(-(10 * v - 5)));
    const Q = (keep: number[]) => {
      let ce = 0;
      let front = 0;
      let back = 0;
      x.forEach((v, i) => {
        const s = keep[i] ? v : 0;
        const p = Math.min(Math.max(sig(s), 1e-7), 1 - 1e-7);
        ce += y[i] ? -Math.log(p) : -Math.log(1 - p);
        if (keep[i] && y[i]) front++;
        else if (keep[i]) back++;
      });
      let r = back > 0 ? front / back : front > 0 ? 1000 : 0.001;
      r = Math.min(Math.max(r, 0.001), 1000);
      return -ce + -0.5 * (r + 0.25 / r);
    };
    const keepOf = (m0: boolean, m1: boolean) => [0, 1, 2, 3, 4, 5, 6, 7].map((i) => ((i % 4) < 2 ? (m0 ? 0 : 1) : m1 ? 0 : 1));
    expect(c[0]).toBeCloseTo(Q(keepOf(true, true)) - Q(keepOf(false, true)), 3);
    expect(c[1]).toBeCloseTo(Q(keepOf(false, true)) - Q(keepOf(false, false)), 3);
    // Masking the unit with the lesion is very costly; masking the background unit helps (FB and false positives).
    expect(c[0]).toBeLessThan(-5);
    expect(c[1]).toBeGreaterThan(0);
    tf.dispose([images, labels]);
    seg.dispose();
  });

  it('creditTargets: target 1 where masking helps, weight min(|C|, cap) / unit size', () => {
    const units = [patchUnits(2, 4, 2)];
    const { target, weight, totalWeight } = creditTargets(units, [Float64Array.from([-80, 3])], { cap: 50 }, 2, 4);
    expect(Array.from(target.dataSync())).toEqual([0, 0, 1, 1, 0, 0, 1, 1]);
    expect(Array.from(weight.dataSync())).toEqual([12.5, 12.5, 0.75, 0.75, 12.5, 12.5, 0.75, 0.75]);
    expect(totalWeight).toBe(53);
    tf.dispose([target, weight]);
  });

  it('creditTargets with a margin: "mask" only above it, weight min(|C - margin|, cap) / unit size', () => {
    const units = [patchUnits(2, 4, 2)];
    // unit 0: C = 3 > 2 -> mask, weight 1; unit 1: C = 1.5 < 2 -> keep, weight 0.5.
    const { target, weight, totalWeight } = creditTargets(units, [Float64Array.from([3, 1.5])], { cap: 50, margin: 2 }, 2, 4);
    expect(Array.from(target.dataSync())).toEqual([1, 1, 0, 0, 1, 1, 0, 0]);
    expect(Array.from(weight.dataSync())).toEqual([0.25, 0.25, 0.125, 0.125, 0.25, 0.25, 0.125, 0.125]);
    expect(totalWeight).toBe(1.5);
    tf.dispose([target, weight]);
    expect(() => creditTargets(units, [Float64Array.from([3, 1.5])], { cap: 50, margin: -1 }, 2, 4)).toThrow(/creditTargets: margin/);
  });

  it('creditTargets with balance: the "mask" and the "keep" units each carry half of the total weight', () => {
    const units = [patchUnits(2, 4, 2)];
    // weights 40 (keep) and 2 (mask), total 42: scaled by 42 / 80 and 42 / 4.
    const { target, weight, totalWeight } = creditTargets(units, [Float64Array.from([-40, 2])], { cap: 50, balance: true }, 2, 4);
    const w = Array.from(weight.dataSync());
    expect(totalWeight).toBe(42);
    expect(w[0] * 4).toBeCloseTo(21, 5);
    expect(w[2] * 4).toBeCloseTo(21, 5);
    tf.dispose([target, weight]);
    // One label only: nothing to balance.
    const one = creditTargets(units, [Float64Array.from([-40, -2])], { cap: 50, balance: true }, 2, 4);
    expect(Array.from(one.weight.dataSync())).toEqual([10, 10, 0.5, 0.5, 10, 10, 0.5, 0.5]);
    tf.dispose([one.target, one.weight]);
  });

  it('unitLabels with a dead zone: units whose |C - margin| is below it weigh 0; the rest as before', () => {
    // credits -80, 3, -0.5, 12 with dead zone 4: |C| = 80 (capped 50), 3 (< 4: 0), 0.5 (< 4: 0), 12.
    const l = unitLabels([Float64Array.from([-80, 3, -0.5, 12])], { cap: 50, deadZone: 4 });
    expect(l.mask).toEqual([[false, true, false, true]]);
    expect(Array.from(l.weight[0])).toEqual([50, 0, 0, 12]);
    expect(l.totalWeight).toBe(62);
    // With a margin 2 the distance is |C - 2|: 82 (50), 1 (0), 2.5 (0), 10.
    const m = unitLabels([Float64Array.from([-80, 3, -0.5, 12])], { cap: 50, margin: 2, deadZone: 4 });
    expect(Array.from(m.weight[0])).toEqual([50, 0, 0, 10]);
    // Read from an rl config; the schema's default is off.
    expect(labelOptionsOf(RlSchema.parse({ creditDeadZone: 4 }))).toEqual({ cap: 50, margin: 0, balance: false, deadZone: 4 });
    expect(RlSchema.parse({}).creditDeadZone).toBe(0);
    expect(() => unitLabels([Float64Array.from([1])], { cap: 50, deadZone: -1 })).toThrow(/unitLabels: deadZone must be >= 0/);
    expect(() => RlSchema.parse({ creditDeadZone: -1 })).toThrow();
  });

  it("rl.objective 'dice': the credit is the difference of 100 x soft Dice, computed by hand", () => {
    const x = [0.9, 0.8, 0.2, 0.7, 0.1, 0.6, 0.3, 0.95];
    const y = [1, 0, 0, 0, 0, 0, 0, 0];
    const images = tf.tensor4d(x, [1, 2, 4, 1]);
    const labels = tf.tensor4d(y, [1, 2, 4, 1]);
    const seg = thresholdSegNet(10, 0.5);
    const rl = RlSchema.parse({ useFb: false, useAdp: false, maskValue: 0, unitSize: 2, credit: 'counterfactual', objective: 'dice' });
    const units = [patchUnits(2, 4, 2)];
    const [c] = computeCounterfactualCredit(seg, images, labels, units, [[false, false]], rl);
    const sig = (v: number) => 1 / (1 + Math.exp(-(10 * v - 5)));
    const Q = (keep: number[]) => {
      let inter = 0;
      let sp = 0;
      let sy = 0;
      x.forEach((v, i) => {
        const p = sig(keep[i] ? v : 0);
        inter += p * y[i];
        sp += p;
        sy += y[i];
      });
      return (100 * (2 * inter + 1)) / (sp + sy + 1);
    };
    const keepOf = (m0: boolean, m1: boolean) => [0, 1, 2, 3, 4, 5, 6, 7].map((i) => ((i % 4) < 2 ? (m0 ? 0 : 1) : m1 ? 0 : 1));
    expect(c[0]).toBeCloseTo(Q(keepOf(true, false)) - Q(keepOf(false, false)), 3);
    expect(c[1]).toBeCloseTo(Q(keepOf(false, true)) - Q(keepOf(false, false)), 3);
    // Masking the lesion's unit loses most of the Dice; masking the false positives at (0,3), (1,3) gains.
    expect(c[0]).toBeLessThan(-15); // 44.1 -> 24.9 (the smoothing term keeps it above 0)
    expect(c[1]).toBeGreaterThan(10);
    tf.dispose([images, labels]);
    seg.dispose();
  });

  it("rl.objective 'ce-safe': the cross-entropy credit, made -|credit| where masking costs soft Dice (by hand)", () => {
    // Unit 0 (cols 0-1) holds a small lesion at (0,0) inside an over-segmented blob: masking it lowers the
    // summed cross-entropy (three confident false positives go) but loses the lesion, so Dice falls.
    // Row 0: lesion (p 0.73), false positive, two missed lesion pixels; row 1: false positive, background, missed lesion, background.
    const x = [0.6, 0.9, 0.3, 0.3, 0.9, 0.2, 0.3, 0.05];
    const y = [1, 0, 1, 1, 0, 0, 1, 0];
    const images = tf.tensor4d(x, [1, 2, 4, 1]);
    const labels = tf.tensor4d(y, [1, 2, 4, 1]);
    const seg = thresholdSegNet(10, 0.5);
    const units = [patchUnits(2, 4, 2)];
    const sig = (v: number) => 1 / (1 + Math.exp(-(10 * v - 5)));
    const probs = (keep: number[]) => x.map((v, i) => Math.min(Math.max(sig(keep[i] ? v : 0), 1e-7), 1 - 1e-7));
    const qCe = (keep: number[], yy = y) => -probs(keep).reduce((s, p, i) => s + (yy[i] ? -Math.log(p) : -Math.log(1 - p)), 0);
    const qDice = (keep: number[]) => {
      const p = probs(keep);
      const inter = p.reduce((s, v, i) => s + v * y[i], 0);
      return (100 * (2 * inter + 1)) / (p.reduce((s, v) => s + v, 0) + y.reduce((s, v) => s + v, 0) + 1);
    };
    const keepOf = (m0: boolean, m1: boolean) => [0, 1, 2, 3, 4, 5, 6, 7].map((i) => ((i % 4) < 2 ? (m0 ? 0 : 1) : m1 ? 0 : 1));
    const none = keepOf(false, false);
    const ce0 = qCe(keepOf(true, false)) - qCe(none);
    const dice0 = qDice(keepOf(true, false)) - qDice(none);
    const ce1 = qCe(keepOf(false, true)) - qCe(none);
    // The premise of the veto: the cross-entropy credit says "mask" the lesion's unit, Dice says no.
    expect(ce0).toBeGreaterThan(1);
    expect(dice0).toBeLessThan(-1);
    const rl = (objective: 'ce' | 'ce-safe') => RlSchema.parse({ useFb: false, useAdp: false, maskValue: 0, unitSize: 2, credit: 'counterfactual', objective });
    const before = tf.memory().numTensors;
    const [plain] = computeCounterfactualCredit(seg, images, labels, units, [[false, false]], rl('ce'));
    const [safe] = computeCounterfactualCredit(seg, images, labels, units, [[false, false]], rl('ce-safe'));
    expect(tf.memory().numTensors).toBe(before);
    expect(plain[0]).toBeCloseTo(ce0, 3);
    expect(safe[0]).toBeCloseTo(-ce0, 3);
    expect(safe[1]).toBeCloseTo(ce1, 3);
    // With unit 1 masked in the sampled state, unit 0's credit is taken against that state.
    const [ctx] = computeCounterfactualCredit(seg, images, labels, units, [[false, true]], rl('ce-safe'));
    const both = keepOf(true, true);
    const only1 = keepOf(false, true);
    expect(qDice(both) - qDice(only1)).toBeLessThan(-1);
    expect(ctx[0]).toBeCloseTo(-Math.abs(qCe(both) - qCe(only1)), 3);
    // rl.maskBonus b: 'ce' adds b to every unit; 'ce-safe' adds it where Dice allows and makes the
    // vetoed unit -(|C_ce| + b), so the bonus never turns the lesion's unit into "mask".
    const b = 7.5;
    const [plainB] = computeCounterfactualCredit(seg, images, labels, units, [[false, false]], { ...rl('ce'), maskBonus: b });
    const [safeB] = computeCounterfactualCredit(seg, images, labels, units, [[false, false]], { ...rl('ce-safe'), maskBonus: b });
    expect(plainB[0]).toBeCloseTo(ce0 + b, 3);
    expect(plainB[1]).toBeCloseTo(ce1 + b, 3);
    expect(safeB[0]).toBeCloseTo(-(ce0 + b), 3);
    // Unit 1 (background) costs cross-entropy and Dice when masked: vetoed too, so the bonus
    // deepens its "keep" instead of cancelling it.
    expect(ce1).toBeLessThan(0);
    expect(qDice(keepOf(false, true)) - qDice(none)).toBeLessThan(-0.01);
    expect(safeB[1]).toBeCloseTo(-(Math.abs(ce1) + b), 3);
    expect(() => computeCounterfactualCredit(seg, images, labels, units, [[false, false]], { ...rl('ce'), maskBonus: -1 })).toThrow(/computeCounterfactualCredit: rl.maskBonus must be a finite number >= 0/);
    // rl.lesionVeto: a unit holding a ground-truth foreground pixel is -(|C| + b), whatever the
    // network does with it. With only (0,0) foreground, unit 0 is vetoed and unit 1 is not.
    const y2 = [1, 0, 0, 0, 0, 0, 0, 0];
    const labels2 = tf.tensor4d(y2, [1, 2, 4, 1]);
    const ce0y2 = qCe(keepOf(true, false), y2) - qCe(none, y2);
    const ce1y2 = qCe(keepOf(false, true), y2) - qCe(none, y2);
    expect(ce0y2).toBeGreaterThan(0); // masking the lesion's unit lowers the summed cross-entropy here
    const [veto] = computeCounterfactualCredit(seg, images, labels2, units, [[false, false]], { ...rl('ce'), maskBonus: b, lesionVeto: true });
    expect(veto[0]).toBeCloseTo(-(Math.abs(ce0y2) + b), 3);
    expect(veto[1]).toBeCloseTo(ce1y2 + b, 3);
    const [vetoAll] = computeCounterfactualCredit(seg, images, labels, units, [[false, false]], { ...rl('ce'), lesionVeto: true });
    expect(vetoAll[0]).toBeCloseTo(-Math.abs(ce0), 3);
    expect(vetoAll[1]).toBeCloseTo(-Math.abs(ce1), 3);
    labels2.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([images, labels]);
    seg.dispose();
  });

  it("rl.creditContext 'raw': a unit's credit is the value of masking it alone, whatever the other units sampled", () => {
    const b = toyBatch(2, 16, 4242);
    const segNet = toySegNet();
    const step = (creditContext: 'sampled' | 'raw', seed: number) =>
      oneTrainStep(segNet, b, { credit: 'counterfactual', unitSize: 4, finetuneSeg: false, useFb: false, useAdp: false, maskValue: TOY.maskValue, explore: 0.5, creditContext }, pixelPolicyNet({ seed: 3 }), seed);
    const raw = [step('raw', 1), step('raw', 2)];
    const sampled = [step('sampled', 1), step('sampled', 2)];
    // Different sampled actions (the masked fractions differ) ...
    expect(raw[0].maskedFraction).not.toBe(raw[1].maskedFraction);
    // ... but the same credit under 'raw': the credit of each unit against the all-kept state.
    expect(raw[0].advantageMean).toBe(raw[1].advantageMean);
    expect(raw[0].advantageStd).toBe(raw[1].advantageStd);
    expect(sampled[0].advantageMean).not.toBe(sampled[1].advantageMean);
    const rl = RlSchema.parse({ credit: 'counterfactual', unitSize: 4, useFb: false, useAdp: false, maskValue: TOY.maskValue });
    const units = [patchUnits(16, 16, 4), patchUnits(16, 16, 4)];
    const alone = computeCounterfactualCredit(segNet, b.images, b.labels, units, units.map((u) => new Array<boolean>(u.count).fill(false)), rl);
    const all = alone.flatMap((c) => Array.from(c));
    expect(raw[0].advantageMean).toBeCloseTo(all.reduce((p, q) => p + q, 0) / all.length, 6);
    // maskLabelShare: the share of units whose label is 'mask' (credit > rl.creditMargin = 0), counted by hand.
    const share = all.filter((x) => x > 0).length / all.length;
    expect(share).toBeGreaterThan(0);
    expect(share).toBeLessThan(1);
    expect(raw[0].maskLabelShare).toBeCloseTo(share, 12);
    expect(raw[1].maskLabelShare).toBeCloseTo(share, 12);
    tf.dispose([b.images, b.labels, b.distractors]);
    segNet.dispose();
  });

  it("rl.creditContext 'greedy': a unit's credit is taken with the other units at the greedy policy's decisions", () => {
    const b = toyBatch(2, 16, 4242);
    const segNet = toySegNet();
    // pi(retain) = 0.3 everywhere: every unit's mean mask logit is ln(0.7 / 0.3) > 0, so the greedy
    // policy masks every unit, while the sampled actions (explore 0.5) differ with the seed.
    const step = (seed: number) =>
      oneTrainStep(segNet, b, { credit: 'counterfactual', unitSize: 4, finetuneSeg: false, useFb: true, useAdp: false, maskValue: TOY.maskValue, explore: 0.5, creditContext: 'greedy' }, constantPolicyNet(0.3), seed);
    const [r1, r2] = [step(1), step(2)];
    expect(r1.maskedFraction).not.toBe(r2.maskedFraction);
    // The toy segmenter is per pixel, so the context enters through the global FB term.
    const rl = RlSchema.parse({ credit: 'counterfactual', unitSize: 4, useFb: true, useAdp: false, maskValue: TOY.maskValue });
    const units = [patchUnits(16, 16, 4), patchUnits(16, 16, 4)];
    const allMasked = computeCounterfactualCredit(segNet, b.images, b.labels, units, units.map((u) => new Array<boolean>(u.count).fill(true)), rl);
    const alone = computeCounterfactualCredit(segNet, b.images, b.labels, units, units.map((u) => new Array<boolean>(u.count).fill(false)), rl);
    const meanOf = (c: Float64Array[]) => { const all = c.flatMap((x) => Array.from(x)); return all.reduce((p, q) => p + q, 0) / all.length; };
    expect(Math.abs(meanOf(allMasked) - meanOf(alone))).toBeGreaterThan(1e-3);
    expect(r1.advantageMean).toBeCloseTo(meanOf(allMasked), 6);
    expect(r2.advantageMean).toBeCloseTo(meanOf(allMasked), 6);
    tf.dispose([b.images, b.labels, b.distractors]);
    segNet.dispose();
  });

  it('creditSegNet (rl.creditNet \'pretrained\'): the credit is asked of that network while segNet fine-tunes', () => {
    const b = toyBatch(2, 16, 4242);
    const segNet = toySegNet(20);
    const frozen = toySegNet(5);
    const rl = RlSchema.parse({ credit: 'counterfactual', unitSize: 4, finetuneSeg: true, useFb: false, useAdp: false, maskValue: TOY.maskValue, creditContext: 'raw' });
    const units = [patchUnits(16, 16, 4), patchUnits(16, 16, 4)];
    const none = units.map((u) => new Array<boolean>(u.count).fill(false));
    const meanOf = (c: Float64Array[]) => { const all = c.flatMap((x) => Array.from(x)); return all.reduce((p, q) => p + q, 0) / all.length; };
    const onFrozen = meanOf(computeCounterfactualCredit(frozen, b.images, b.labels, units, none, rl));
    const onSeg = meanOf(computeCounterfactualCredit(segNet, b.images, b.labels, units, none, rl));
    expect(Math.abs(onFrozen - onSeg)).toBeGreaterThan(1e-3);
    const frozenBefore = frozen.getWeights().map((w) => Array.from(w.dataSync()));
    const segBefore = segNet.getWeights().map((w) => Array.from(w.dataSync()));
    const policyNet = pixelPolicyNet({ seed: 3 });
    const optimizer = tf.train.adam(0.01);
    const segOptimizer = tf.train.sgd(0.1);
    const trainer = createAgentTrainer({ policyNet, segNet, creditSegNet: frozen, rl, optimizer, segOptimizer, seed: 1 });
    const r1 = trainer.trainStep(b.images, b.labels);
    const before = tf.memory().numTensors; // after the optimizers made their slots
    const r2 = trainer.trainStep(b.images, b.labels);
    expect(tf.memory().numTensors).toBe(before);
    trainer.dispose();
    // 'raw' context: each step's mean credit is the frozen network's, before and after segNet moved.
    expect(r1.advantageMean).toBeCloseTo(onFrozen, 6);
    expect(r2.advantageMean).toBeCloseTo(onFrozen, 6);
    expect(frozen.getWeights().map((w) => Array.from(w.dataSync()))).toEqual(frozenBefore);
    expect(segNet.getWeights().map((w) => Array.from(w.dataSync()))).not.toEqual(segBefore);
    expect(() => createAgentTrainer({ policyNet, segNet, creditSegNet: {} as tf.LayersModel, rl, optimizer, segOptimizer })).toThrow(/createUnitTrainer: creditSegNet must be a tf.LayersModel or a non-empty array/);
    tf.dispose([b.images, b.labels, b.distractors]);
    [optimizer, segOptimizer].forEach((o) => o.dispose());
    [segNet, frozen, policyNet].forEach((m) => m.dispose());
  });

  it('computeSafeCredit keeps the cross-entropy credit within the Dice tolerance and vetoes it beyond', () => {
    expect(computeSafeCredit(5, 0.02, 0.01)).toBe(5);
    expect(computeSafeCredit(5, -0.01, 0.01)).toBe(5);
    expect(computeSafeCredit(5, -0.02, 0.01)).toBe(-5);
    expect(computeSafeCredit(-3, -1, 0.01)).toBe(-3);
    expect(computeSafeCredit(-3, 2, 0)).toBe(-3);
    expect(() => computeSafeCredit(Number.NaN, 0, 0.01)).toThrow(/computeSafeCredit: ce must be a finite number/);
    expect(() => computeSafeCredit(1, Number.POSITIVE_INFINITY, 0.01)).toThrow(/computeSafeCredit: dice/);
    expect(() => computeSafeCredit(1, 0, -1)).toThrow(/computeSafeCredit: tolerance must be/);
    // With a mask bonus: C_ce + b inside the tolerance, -(|C_ce| + b) beyond it.
    expect(computeSafeCredit(-3, 0, 0.01, 5)).toBe(2);
    expect(computeSafeCredit(-8, 0, 0.01, 5)).toBe(-3);
    expect(computeSafeCredit(-3, -0.02, 0.01, 5)).toBe(-8);
    expect(computeSafeCredit(3, -0.02, 0.01, 5)).toBe(-8);
    expect(() => computeSafeCredit(1, 0, 0.01, -1)).toThrow(/computeSafeCredit: bonus must be/);
  });

  it("'patch' credit runs the A2C with agents of rl.unitSize", () => {
    const rl = RlSchema.parse({ credit: 'patch', unitSize: 4, patchSize: 1 });
    expect(effectiveRl(rl).patchSize).toBe(4);
    expect(effectiveRl({ ...rl, credit: 'pixel' }).patchSize).toBe(1);
  });
});

describe('learning on the toy environment', () => {
  it("'candidates' learns to mask the distractors the segmenter flags and keeps the lesion", () => {
    const rl = RlSchema.parse({ credit: 'candidates', unitSize: 4, candidateMargin: 0, finetuneSeg: false, useFb: false, useAdp: false, maskValue: TOY.maskValue, explore: 0.2 });
    const policyNet = pixelPolicyNet({ seed: 3, width: 8, featureScale: 8 });
    const segNet = toySegNet();
    const optimizer = tf.train.adam(0.05);
    const trainer = createAgentTrainer({ policyNet, segNet, rl, optimizer, seed: 3 });
    let before = 0;
    for (let i = 0; i < 25; i++) {
      if (i === 1) before = tf.memory().numTensors; // after Adam has made its slots
      const b = toyBatch(6, 16, 7000 + i);
      const r = trainer.trainStep(b.images, b.labels);
      expect(Number.isFinite(r.loss)).toBe(true);
      tf.dispose([b.images, b.labels, b.distractors]);
    }
    expect(tf.memory().numTensors).toBe(before);
    const ev = toyBatch(8, 16, 99);
    const g = unitGreedy(policyNet, segNet, ev.images, rl);
    const [dm, lm] = tf.tidy(() => {
      const m = tf.sub(1, g.retained);
      return [tf.div(tf.sum(tf.mul(ev.distractors, m)), tf.sum(ev.distractors)), tf.div(tf.sum(tf.mul(ev.labels, m)), tf.sum(ev.labels))].map((t) => t.dataSync()[0]);
    });
    // The greedy episode of rl-core's inference gives the same state.
    const ep = runEpisodeDeterministic(policyNet, segNet, ev.images, rl);
    expect(Array.from(ep.states[1].dataSync())).toEqual(Array.from(g.state.dataSync()));
    ep.dispose();
    g.dispose();
    console.log(`candidates toy: distractor masked ${dm.toFixed(3)}, lesion masked ${lm.toFixed(3)}`);
    expect(dm).toBeGreaterThanOrEqual(0.8);
    expect(lm).toBeLessThanOrEqual(0.05);
    tf.dispose([ev.images, ev.labels, ev.distractors]);
    trainer.dispose();
    optimizer.dispose();
    policyNet.dispose();
    segNet.dispose();
  }, 60_000);
});

describe("rl.policyInput 'image+probability'", () => {
  /** Two inputs [image, probability]; mask logit l = k p - c (the image is ignored): dense over the concatenated channels. */
  function probabilityPolicy(k: number, c: number): tf.LayersModel {
    const image = tf.input({ shape: [null, null, 1] as unknown as number[] });
    const prob = tf.input({ shape: [null, null, 1] as unknown as number[] });
    const both = tf.layers.concatenate().apply([image, prob]) as tf.SymbolicTensor;
    const head = tf.layers.dense({ units: 2, activation: 'softmax' });
    const value = tf.layers.dense({ units: 1 });
    const model = tf.model({ inputs: [image, prob], outputs: [head.apply(both) as tf.SymbolicTensor, value.apply(both) as tf.SymbolicTensor] });
    tf.tidy(() => head.setWeights([tf.tensor2d([[0, 0], [k, 0]]), tf.tensor1d([0, c])]));
    return model;
  }

  it("the unit policy reads the Segmentation-Net's probability: logits and greedy decisions by hand", () => {
    const x = [0.9, 0.8, 0.2, 0.1, 0.7, 0.6, 0.3, 0.0];
    const images = tf.tensor4d(x, [1, 2, 4, 1]);
    const seg = thresholdSegNet(10, 0.5);
    const policy = probabilityPolicy(4, 2); // l = 4 p - 2: mask where p > 0.5 on average
    const before = tf.memory().numTensors;
    const input = unitPolicyInput(policy, seg, images);
    expect(input).toHaveLength(2);
    const l = maskLogits(policy, input);
    const got = Array.from(l.dataSync());
    tf.dispose([l, ...input]);
    const sig = (v: number) => 1 / (1 + Math.exp(-(10 * v - 5)));
    got.forEach((v, i) => expect(v).toBeCloseTo(4 * sig(x[i]) - 2, 4));
    const rl = RlSchema.parse({ credit: 'counterfactual', unitSize: 2, policyInput: 'image+probability' });
    const g = unitGreedy(policy, seg, images, rl);
    // Unit 0 (cols 0-1): mean p = (0.982 + 0.953 + 0.881 + 0.731) / 4 > 0.5 -> masked; unit 1 (cols 2-3) kept.
    expect(g.masked).toEqual([[true, false]]);
    g.dispose();
    // rl.greedyThreshold: unit 0's mean logit is 4 x 0.887 - 2 = 1.55, so a threshold of 1 still masks it and 2 does not.
    for (const [greedyThreshold, want] of [[1, [[true, false]]], [2, [[false, false]]]] as const) {
      const gt = unitGreedy(policy, seg, images, { ...rl, greedyThreshold });
      expect(gt.masked).toEqual(want);
      gt.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(images);
    [seg, policy].forEach((m) => m.dispose());
  });

  it("rl.unitLoss 'unit': the logistic loss of each unit's mean mask logit, weighted as unitLabels weighs it (by hand)", () => {
    const x = [0.9, 0.8, 0.2, 0.1, 0.7, 0.6, 0.3, 0.0];
    const images = tf.tensor4d(x, [1, 2, 4, 1]);
    const seg = thresholdSegNet(10, 0.5);
    const policy = probabilityPolicy(4, 2);
    const units = [patchUnits(2, 4, 2)];
    // Unit 0 labelled "keep" (credit -30, weight 30), unit 1 "mask" (credit 4, weight 4).
    const labels = unitLabels([Float64Array.from([-30, 4])], { cap: 50 });
    const input = unitPolicyInput(policy, seg, images);
    const before = tf.memory().numTensors;
    const loss = unitMeanLogisticLoss(policy, input, units, labels);
    const got = loss.dataSync()[0];
    loss.dispose();
    expect(tf.memory().numTensors).toBe(before);
    const sig = (v: number) => 1 / (1 + Math.exp(-(10 * v - 5)));
    const lbar = (ids: number[]) => ids.reduce((s, i) => s + 4 * sig(x[i]) - 2, 0) / ids.length;
    const softplus = (v: number) => Math.log1p(Math.exp(v));
    const want = (30 * softplus(lbar([0, 1, 4, 5])) + 4 * softplus(-lbar([2, 3, 6, 7]))) / 34;
    expect(got).toBeCloseTo(want, 4);
    // Its gradient exists and one step lowers it.
    const opt = tf.train.sgd(0.5);
    opt.minimize(() => unitMeanLogisticLoss(policy, input, units, labels), false, trainableVariables(policy));
    const after = unitMeanLogisticLoss(policy, input, units, labels);
    expect(after.dataSync()[0]).toBeLessThan(got);
    tf.dispose([after, images, ...input]);
    opt.dispose();
    [seg, policy].forEach((m) => m.dispose());
  });

  it('rl.policySteps k: one trainStep equals k trainSteps on the same batch when the labels hold still (raw context, frozen segmenter)', () => {
    const rl = RlSchema.parse({ credit: 'counterfactual', unitSize: 4, finetuneSeg: false, useFb: false, useAdp: false, policyInput: 'image+probability', creditContext: 'raw' });
    const segNet = toySegNet();
    const b = toyBatch(2, 16, 700);
    const weightsOf = (m: tf.LayersModel) => m.getWeights().map((w) => Array.from(w.dataSync()));
    const multi = probabilityPolicy(0.5, 1);
    const single = probabilityPolicy(0.5, 1);
    single.setWeights(multi.getWeights()); // the value head starts random; the two nets must start equal
    const optMulti = tf.train.sgd(0.5);
    const optSingle = tf.train.sgd(0.5);
    const a = createAgentTrainer({ policyNet: multi, segNet, rl: { ...rl, policySteps: 3 }, optimizer: optMulti, seed: 1 });
    const s = createAgentTrainer({ policyNet: single, segNet, rl, optimizer: optSingle, seed: 2 });
    const before = weightsOf(multi);
    const la = a.trainStep(b.images, b.labels).loss;
    const ls = [0, 1, 2].map(() => s.trainStep(b.images, b.labels).loss);
    // The reported loss is the first step's; the three single steps lower it, so the steps did act.
    expect(la).toBeCloseTo(ls[0], 6);
    expect(ls[2]).toBeLessThan(ls[0]);
    const after = weightsOf(multi);
    expect(after.flat().some((v, i) => Math.abs(v - before.flat()[i]) > 1e-4)).toBe(true);
    weightsOf(single).forEach((w, i) => w.forEach((v, j) => expect(v).toBeCloseTo(after[i][j], 5)));
    expect(() => RlSchema.parse({ policySteps: 0 })).toThrow();
    a.dispose();
    s.dispose();
    tf.dispose([b.images, b.labels, b.distractors]);
    [optMulti, optSingle].forEach((o) => o.dispose());
    [segNet, multi, single].forEach((m) => m.dispose());
  });

  it('trains the two-input policy without leaking tensors, and refuses mismatched nets and formulations', () => {
    const rl = RlSchema.parse({ credit: 'counterfactual', unitSize: 4, finetuneSeg: false, useFb: false, useAdp: false, policyInput: 'image+probability', unitLoss: 'unit' });
    const policyNet = probabilityPolicy(0.5, 1);
    const segNet = toySegNet();
    const optimizer = tf.train.adam(0.01);
    const trainer = createAgentTrainer({ policyNet, segNet, rl, optimizer, seed: 1 });
    let before = 0;
    for (let i = 0; i < 3; i++) {
      if (i === 1) before = tf.memory().numTensors;
      const b = toyBatch(2, 16, 500 + i);
      expect(Number.isFinite(trainer.trainStep(b.images, b.labels).loss)).toBe(true);
      const grads = trainer.policyGradient(b.images, b.labels);
      expect(grads.length).toBeGreaterThan(0);
      tf.dispose([b.images, b.labels, b.distractors, ...grads.filter(Boolean)]);
    }
    expect(tf.memory().numTensors).toBe(before);
    trainer.dispose();
    const onePolicy = pixelPolicyNet({ seed: 1 });
    expect(() => createAgentTrainer({ policyNet: onePolicy, segNet, rl, optimizer, seed: 1 })).toThrow(/createUnitTrainer: policyNet takes 1 input\(s\) but rl.policyInput 'image\+probability' needs 2/);
    expect(() => createAgentTrainer({ policyNet, segNet, rl: { ...rl, policyInput: 'image' }, optimizer, seed: 1 })).toThrow(/needs 1/);
    expect(() => createAgentTrainer({ policyNet, segNet, rl: { ...rl, credit: 'pixel' }, optimizer, seed: 1 })).toThrow(/A2C formulations .* read the state image alone/);
    optimizer.dispose();
    [policyNet, segNet, onePolicy].forEach((m) => m.dispose());
  });
});
