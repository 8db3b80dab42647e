/**
 * rl.creditNet 'snapshots' (issue 15): the committee credit is the mean (or, rl.creditCommittee
 * 'max', the largest; 'quorum', the q-th largest) of each member's counterfactual credit, checked against an independent hand computation on threshold segmenters,
 * and the unit trainer asks the committee when given one.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { RlSchema } from '@mrlseg/types';
import { combineCommitteeCredits, computeCommitteeCredit, computeCounterfactualCredit, createAgentTrainer, patchUnits } from '../src/index';
import { pixelPolicyNet, thresholdSegNet } from './tiny-nets';
import { TOY, toyBatch, toySegNet } from './toy-env';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** The 2 x 4 test image (lesion at (0, 0)) and, by hand, a threshold segmenter's counterfactual credit on it. */
const X = [0.9, 0.8, 0.2, 0.7, 0.1, 0.6, 0.3, 0.95];
const Y = [1, 0, 0, 0, 0, 0, 0, 0];
/** Q = -(summed pixel cross-entropy) of the segmenter p = sigmoid(g (x - t)) on the state `keep` (masked pixels 0). */
const handQ = (g: number, t: number, keep: number[]) =>
  -X.reduce((ce, v, i) => {
    const p = Math.min(Math.max(1 / (1 + Math.exp(-(g * (keep[i] ? v : 0) - g * t))), 1e-7), 1 - 1e-7);
    return ce + (Y[i] ? -Math.log(p) : -Math.log(1 - p));
  }, 0);
/** Units: 0 = columns 0-1, 1 = columns 2-3 (both rows). */
const keepOf = (m0: boolean, m1: boolean) => [0, 1, 2, 3, 4, 5, 6, 7].map((i) => (i % 4 < 2 ? (m0 ? 0 : 1) : m1 ? 0 : 1));
/** C_u of one member: Q(u masked) - Q(nothing masked). */
const handCredit = (g: number, t: number, unit: number) => handQ(g, t, keepOf(unit === 0, unit === 1)) - handQ(g, t, keepOf(false, false));

describe('committee credit', () => {
  it('is the mean over the members of Q(u masked) - Q(u kept), computed by hand (two threshold segmenters, FB off)', () => {
    const images = tf.tensor4d(X, [1, 2, 4, 1]);
    const labels = tf.tensor4d(Y, [1, 2, 4, 1]);
    // Member A fires above 0.5 (on the 0.7, 0.6 and 0.95 background pixels too), member B only above 0.85.
    const members: [number, number][] = [[10, 0.5], [10, 0.85]];
    const nets = members.map(([g, t]) => thresholdSegNet(g, t));
    const rl = RlSchema.parse({ useFb: false, useAdp: false, maskValue: 0, unitSize: 2, credit: 'counterfactual' });
    const units = [patchUnits(2, 4, 2)]; // unit 0 = cols 0-1, unit 1 = cols 2-3
    const masked = [[false, false]];
    const before = tf.memory().numTensors;
    const [c] = computeCommitteeCredit(nets, images, labels, units, masked, rl);
    expect(tf.memory().numTensors).toBe(before);
    // Independent computation (handCredit above).
    const credit = handCredit;
    for (const unit of [0, 1]) {
      expect(c[unit]).toBeCloseTo((credit(10, 0.5, unit) + credit(10, 0.85, unit)) / 2, 3);
    }
    // Member A gains more from masking the background unit (its false positives) than member B.
    expect(credit(10, 0.5, 1)).toBeGreaterThan(credit(10, 0.85, 1) + 1);
    // rl.creditCommittee 'max': the largest member credit per unit; with rl.lesionVeto the lesion unit (0) stays "keep".
    const [cmax] = computeCommitteeCredit(nets, images, labels, units, masked, { ...rl, creditCommittee: 'max' });
    for (const unit of [0, 1]) expect(cmax[unit]).toBeCloseTo(Math.max(credit(10, 0.5, unit), credit(10, 0.85, unit)), 3);
    expect(cmax[1]).toBeCloseTo(credit(10, 0.5, 1), 3); // member A's, the larger one
    const [vetoed] = computeCommitteeCredit(nets, images, labels, units, masked, { ...rl, creditCommittee: 'max', lesionVeto: true });
    expect(vetoed[0]).toBeCloseTo(-Math.min(Math.abs(credit(10, 0.5, 0)), Math.abs(credit(10, 0.85, 0))), 3);
    expect(vetoed[1]).toBeCloseTo(cmax[1], 6);
    expect(() => computeCommitteeCredit(nets, images, labels, units, masked, { ...rl, creditCommittee: 'median' as 'max' })).toThrow(
      /computeCommitteeCredit: rl.creditCommittee must be 'mean', 'max' or 'quorum', got 'median'/,
    );
    // rl.creditCommittee 'quorum': the q-th largest member credit. With two members, q = 1 is the
    // maximum and q = 2 the smaller credit (member B's on the background unit: it gains less there).
    const [q1] = computeCommitteeCredit(nets, images, labels, units, masked, { ...rl, creditCommittee: 'quorum', creditQuorum: 1 });
    const [q2] = computeCommitteeCredit(nets, images, labels, units, masked, { ...rl, creditCommittee: 'quorum', creditQuorum: 2 });
    for (const unit of [0, 1]) {
      expect(q1[unit]).toBeCloseTo(Math.max(credit(10, 0.5, unit), credit(10, 0.85, unit)), 3);
      expect(q2[unit]).toBeCloseTo(Math.min(credit(10, 0.5, unit), credit(10, 0.85, unit)), 3);
    }
    expect(q2[1]).toBeCloseTo(credit(10, 0.85, 1), 3);
    expect(() => computeCommitteeCredit(nets, images, labels, units, masked, { ...rl, creditCommittee: 'quorum', creditQuorum: 3 })).toThrow(
      /computeCommitteeCredit: rl.creditQuorum must be an integer from 1 to the committee's size 2, got 3/,
    );
    // A committee of one is the member's own counterfactual credit, also under a quorum larger than it
    // (rl.creditNet 'current' or 'pretrained' with rl.creditCommittee 'quorum' left in the config).
    const [one] = computeCommitteeCredit([nets[0]], images, labels, units, masked, rl);
    const [own] = computeCounterfactualCredit(nets[0], images, labels, units, masked, rl);
    expect(Array.from(one)).toEqual(Array.from(own));
    const [oneQ] = computeCommitteeCredit([nets[0]], images, labels, units, masked, { ...rl, creditCommittee: 'quorum', creditQuorum: 2 });
    expect(Array.from(oneQ)).toEqual(Array.from(own));
    expect(() => computeCommitteeCredit([], images, labels, units, masked, rl)).toThrow(/computeCommitteeCredit: nets must hold at least one Segmentation-Net/);
    tf.dispose([images, labels]);
    nets.forEach((n) => n.dispose());
  });

  it('rl.creditLastVeto: where the last member\'s own credit is <= 0 the unit\'s credit is min(committee credit, that credit), by hand', () => {
    const images = tf.tensor4d(X, [1, 2, 4, 1]);
    const labels = tf.tensor4d(Y, [1, 2, 4, 1]);
    // Member A fires on bright pixels; the last member C (gain -10) on dark ones, so a masked pixel (0)
    // becomes a confident false positive for it and masking the background unit costs it.
    const members: [number, number][] = [[10, 0.5], [-10, 0.5]];
    const nets = members.map(([g, t]) => thresholdSegNet(g, t));
    const rl = RlSchema.parse({ useFb: false, useAdp: false, maskValue: 0, unitSize: 2, credit: 'counterfactual', creditNet: 'snapshots', creditCommittee: 'max' });
    const units = [patchUnits(2, 4, 2)];
    const masked = [[false, false]];
    const credit = ([g, t]: [number, number], unit: number) => handCredit(g, t, unit);
    const [a, c] = members;
    // The premise: on the background unit A gains from masking and C loses, so the maximum says "mask".
    expect(credit(a, 1)).toBeGreaterThan(5);
    expect(credit(c, 1)).toBeLessThan(-5);
    const before = tf.memory().numTensors;
    const [plain] = computeCommitteeCredit(nets, images, labels, units, masked, rl);
    const [vetoed] = computeCommitteeCredit(nets, images, labels, units, masked, { ...rl, creditLastVeto: true });
    expect(tf.memory().numTensors).toBe(before);
    for (const unit of [0, 1]) {
      const max = Math.max(credit(a, unit), credit(c, unit));
      expect(plain[unit]).toBeCloseTo(max, 3);
      expect(vetoed[unit]).toBeCloseTo(credit(c, unit) > 0 ? max : Math.min(max, credit(c, unit)), 3);
    }
    expect(vetoed[1]).toBeCloseTo(credit(c, 1), 3);
    // The veto only lowers: where the last member gains, the committee's credit is kept (the order of the members matters).
    const [reversed] = computeCommitteeCredit([nets[1], nets[0]], images, labels, units, masked, { ...rl, creditLastVeto: true });
    expect(reversed[1]).toBeCloseTo(credit(a, 1), 3);
    tf.dispose([images, labels]);
    nets.forEach((n) => n.dispose());
  });

  it('combineCommitteeCredits: mean, q-th largest and the last member\'s veto of given member credits, by hand', () => {
    // Three members, one image of three units (the last member is the pre-trained network).
    const m = (...v: number[]) => [Float64Array.from(v)];
    const members = [m(3, -1, 5), m(1, 2, -4), m(2, 0.5, 6)];
    expect(Array.from(combineCommitteeCredits(members, { creditCommittee: 'mean' })[0])).toEqual([2, 0.5, 7 / 3]);
    expect(Array.from(combineCommitteeCredits(members, { creditCommittee: 'max' })[0])).toEqual([3, 2, 6]);
    expect(Array.from(combineCommitteeCredits(members, { creditCommittee: 'quorum', creditQuorum: 2 })[0])).toEqual([2, 0.5, 5]);
    expect(Array.from(combineCommitteeCredits(members, { creditCommittee: 'quorum', creditQuorum: 3 })[0])).toEqual([1, -1, -4]);
    // The veto: the last member's credits are 2, 0.5 and 6 (all > 0), so nothing changes ...
    expect(Array.from(combineCommitteeCredits(members, { creditCommittee: 'max', creditLastVeto: true })[0])).toEqual([3, 2, 6]);
    // ... and with a last member at -2 / 0 / 1: unit 0 becomes min(3, -2), unit 1 min(2, 0), unit 2 keeps 5.
    const vetoing = [m(3, -1, 5), m(1, 2, -4), m(-2, 0, 1)];
    expect(Array.from(combineCommitteeCredits(vetoing, { creditCommittee: 'max', creditLastVeto: true })[0])).toEqual([-2, 0, 5]);
    // A committee of one is its member (a copy), whatever the combination.
    const one = combineCommitteeCredits([m(4, -3)], { creditCommittee: 'quorum', creditQuorum: 3 });
    expect(Array.from(one[0])).toEqual([4, -3]);
    expect(() => combineCommitteeCredits([], { creditCommittee: 'max' })).toThrow(/combineCommitteeCredits: members must hold at least one member's credits/);
    expect(() => combineCommitteeCredits([m(1, 2), m(1)], { creditCommittee: 'max' })).toThrow(/combineCommitteeCredits: member 1 has units per image \[1\], member 0 \[2\]/);
    expect(() => combineCommitteeCredits(members, { creditCommittee: 'quorum', creditQuorum: 4 })).toThrow(/combineCommitteeCredits: rl.creditQuorum must be an integer from 1 to the committee's size 3, got 4/);
  });

  it('the unit trainer asks the committee given as creditSegNet (raw context: the step mean is the committee mean)', () => {
    const b = toyBatch(2, 16, 4242);
    const segNet = toySegNet(20);
    const committee = [toySegNet(5), toySegNet(12)];
    const rl = RlSchema.parse({ credit: 'counterfactual', unitSize: 4, finetuneSeg: false, useFb: false, useAdp: false, maskValue: TOY.maskValue, creditContext: 'raw' });
    const units = [patchUnits(16, 16, 4), patchUnits(16, 16, 4)];
    const none = units.map((u) => new Array<boolean>(u.count).fill(false));
    const meanOf = (c: Float64Array[]) => {
      const all = c.flatMap((v) => Array.from(v));
      return all.reduce((p, q) => p + q, 0) / all.length;
    };
    const each = committee.map((n) => meanOf(computeCounterfactualCredit(n, b.images, b.labels, units, none, rl)));
    expect(Math.abs(each[0] - each[1])).toBeGreaterThan(1e-3);
    const policyNet = pixelPolicyNet({ seed: 3 });
    const optimizer = tf.train.adam(0.01);
    const trainer = createAgentTrainer({ policyNet, segNet, creditSegNet: committee, rl, optimizer, seed: 1 });
    const r = trainer.trainStep(b.images, b.labels);
    trainer.dispose();
    expect(r.advantageMean).toBeCloseTo((each[0] + each[1]) / 2, 6);
    expect(() => createAgentTrainer({ policyNet, segNet, creditSegNet: [], rl, optimizer })).toThrow(/createUnitTrainer: creditSegNet must be a tf.LayersModel or a non-empty array/);
    tf.dispose([b.images, b.labels, b.distractors]);
    optimizer.dispose();
    [segNet, ...committee, policyNet].forEach((m) => m.dispose());
  });
});
