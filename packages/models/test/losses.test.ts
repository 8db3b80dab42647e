/** The losses against hand-worked values (shapes 1 x 2 x 2 x 1 unless stated). */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { computeBceDiceLoss, computeBceLoss, computeDiceLoss, computeUnifiedFocalLoss, segmentationLoss } from '../src/index';

const t = (v: number[], b = 1) => tf.tensor4d(v, [b, v.length / b / 2, 2, 1]);
const val = (f: () => tf.Scalar) => {
  const s = f();
  const v = s.dataSync()[0];
  s.dispose();
  return v;
};

const Y = [1, 0, 0, 0];
const P = [0.8, 0.1, 0.4, 0.2];
// BCE = -(ln .8 + ln .9 + ln .6 + ln .8) / 4
const BCE = -(Math.log(0.8) + Math.log(0.9) + Math.log(0.6) + Math.log(0.8)) / 4;
// Dice: 1 - (2*0.8 + 1) / (1.5 + 1 + 1)
const DICE = 1 - 2.6 / 3.5;

describe('BCE, Dice, 0.5 BCE + 0.5 Dice', () => {
  it.each([
    ['bce', BCE],
    ['dice', DICE],
    ['bce-dice', 0.5 * BCE + 0.5 * DICE],
  ] as const)('%s on the worked example', (id, expected) => {
    const y = t(Y);
    const p = t(P);
    expect(val(() => segmentationLoss(id)(y, p))).toBeCloseTo(expected, 6);
    tf.dispose([y, p]);
  });
  it('Dice averages per image: a perfect image and an empty-label image with p = 0.5 everywhere', () => {
    const y = t([1, 1, 0, 0, 0, 0, 0, 0], 2);
    const p = t([1, 1, 0, 0, 0.5, 0.5, 0.5, 0.5], 2);
    // image 1: 1 - (4 + 1)/(4 + 1) = 0; image 2: 1 - 1/(2 + 1) = 2/3
    expect(val(() => computeDiceLoss(y, p))).toBeCloseTo(1 / 3, 6);
    tf.dispose([y, p]);
  });
  it('BCE clips probabilities: p = 0 against y = 1 stays finite (-ln 1e-7)', () => {
    const y = t([1, 1, 1, 1]);
    const p = t([0, 0, 0, 0]);
    expect(val(() => computeBceLoss(y, p))).toBeCloseTo(-Math.log(1e-7), 3);
    tf.dispose([y, p]);
  });
  it('combined loss equals the mean of its parts', () => {
    const y = t(Y);
    const p = t(P);
    expect(val(() => computeBceDiceLoss(y, p))).toBeCloseTo((val(() => computeBceLoss(y, p)) + val(() => computeDiceLoss(y, p))) / 2, 6);
    tf.dispose([y, p]);
  });
});

describe('Unified Focal loss (asymmetric, Yeung et al. 2022)', () => {
  /** Independent scalar computation of L_aUF for one image (see unified-focal-loss.ts). */
  function ufl(y: number[], p: number[], lambda = 0.5, delta = 0.6, gamma = 0.5): number {
    const n = y.length;
    let maf = 0;
    for (let i = 0; i < n; i++) {
      const pr = p[i];
      const pc = 1 - pr;
      maf += -(1 - delta) * (1 - pc) ** gamma * (1 - y[i]) * Math.log(pc) - delta * y[i] * Math.log(pr);
    }
    maf /= n;
    const ti = (ys: number[], ps: number[]) => {
      let tp = 0;
      let fn = 0;
      let fp = 0;
      ys.forEach((yy, i) => {
        tp += yy * ps[i];
        fn += yy * (1 - ps[i]);
        fp += (1 - yy) * ps[i];
      });
      return (tp + 1e-7) / (tp + delta * fn + (1 - delta) * fp + 1e-7);
    };
    const back = 1 - ti(y.map((v) => 1 - v), p.map((v) => 1 - v));
    const fore = (1 - ti(y, p)) ** (1 - gamma);
    return lambda * maf + (1 - lambda) * ((back + fore) / 2);
  }
  it.each([
    [Y, P, {}],
    [Y, P, { weight: 1 }],
    [Y, P, { weight: 0, delta: 0.7, gamma: 0.2 }],
    [[0, 1, 1, 0, 0, 0], [0.3, 0.6, 0.9, 0.05, 0.2, 0.5], {}],
  ])('matches the scalar formula (%#)', (y, p, o) => {
    const yt = t(y);
    const pt = t(p);
    const o2 = o as { weight?: number; delta?: number; gamma?: number };
    expect(val(() => computeUnifiedFocalLoss(yt, pt, o2))).toBeCloseTo(ufl(y, p, o2.weight ?? 0.5, o2.delta ?? 0.6, o2.gamma ?? 0.5), 5);
    tf.dispose([yt, pt]);
  });
  it('hand-worked: y = [1, 0], p = [0.8, 0.4], defaults', () => {
    // L_maF = (1/2)[-0.6 ln 0.8 - 0.4 * 0.4^0.5 ln 0.6]
    const maf = (-0.6 * Math.log(0.8) - 0.4 * Math.sqrt(0.4) * Math.log(0.6)) / 2;
    // foreground: TP .8, FN .2, FP .4 -> mTI = .8 / (.8 + .12 + .16); background: TP .6, FN .4, FP .2 -> .6 / (.6 + .24 + .08)
    const tiR = 0.8 / (0.8 + 0.6 * 0.2 + 0.4 * 0.4);
    const tiC = 0.6 / (0.6 + 0.6 * 0.4 + 0.4 * 0.2);
    const expected = 0.5 * maf + 0.5 * ((1 - tiC + Math.sqrt(1 - tiR)) / 2);
    const y = tf.tensor4d([1, 0], [1, 1, 2, 1]);
    const p = tf.tensor4d([0.8, 0.4], [1, 1, 2, 1]);
    expect(val(() => computeUnifiedFocalLoss(y, p))).toBeCloseTo(expected, 5);
    tf.dispose([y, p]);
  });
  it.each([
    [{ delta: 1 }, /computeUnifiedFocalLoss: delta must lie in \(0, 1\), got 1/],
    [{ gamma: 1 }, /gamma must lie in \[0, 1\)/],
    [{ weight: -0.1 }, /weight must lie in \[0, 1\]/],
  ])('rejects bad options %o', (o, msg) => {
    const y = t(Y);
    expect(() => computeUnifiedFocalLoss(y, y, o)).toThrow(msg);
    y.dispose();
  });
});

describe('argument checks and memory', () => {
  it('rejects mismatched shapes and non-B x H x W x 1 predictions with the function name', () => {
    const a = tf.zeros([1, 2, 2, 1]);
    const b = tf.zeros([1, 2, 3, 1]);
    const c = tf.zeros([1, 2, 2, 2]);
    expect(() => computeBceLoss(a, b)).toThrow(/computeBceLoss: yTrue shape \[1, 2, 2, 1\] differs from yPred shape \[1, 2, 3, 1\]/);
    expect(() => computeDiceLoss(c, c)).toThrow(/computeDiceLoss: yPred must be B x H x W x 1/);
    expect(() => segmentationLoss('focal' as never)).toThrow(/segmentationLoss: unknown loss id 'focal'/);
    tf.dispose([a, b, c]);
  });
  it('leaves no tensors behind', () => {
    const y = t(Y);
    const p = t(P);
    const before = tf.memory().numTensors;
    for (const id of ['bce', 'dice', 'bce-dice', 'ufl'] as const) segmentationLoss(id)(y, p).dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([y, p]);
  });
});
