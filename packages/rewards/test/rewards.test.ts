import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { RlSchema } from '@mrlseg/types';
import {
  computePixelCrossEntropy,
  computeLocalReward,
  computeFbRatio,
  computeFbTerm,
  computeFbReward,
  computeAdp,
  computeStepReward,
  fbOptionsFromConfig,
} from '../src/index';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** [rows] -> 1 x H x W x 1 tensor. */
const map = (rows: number[][]) => tf.tensor4d(rows.flat(), [1, rows.length, rows[0].length, 1]);
const values = (t: tf.Tensor) => Array.from(t.dataSync());

describe('computePixelCrossEntropy (Eq. 4)', () => {
  it.each([
    [0.9, 1, -Math.log(0.9)],
    [0.9, 0, -Math.log(0.1)],
    [0.5, 1, Math.log(2)],
    [0.2, 0, -Math.log(0.8)],
    [0, 1, -Math.log(1e-7)], // clipped: finite
    [1, 0, -Math.log(1e-7)],
    [0.3, 0.7, -Math.log(0.3)], // label > 0.5 counts as lesion
  ])('p = %s, y = %s -> %s nats', (p, y, expected) => {
    const ce = computePixelCrossEntropy(map([[p]]), map([[y]]));
    expect(values(ce)[0]).toBeCloseTo(expected, 4);
    ce.dispose();
  });
  it('rejects mismatched shapes and wrong ranks, naming the function and argument', () => {
    expect(() => computePixelCrossEntropy(map([[0.5, 0.5]]), map([[1]]))).toThrow(/computePixelCrossEntropy: probability \[1, 1, 2, 1\] and label \[1, 1, 1, 1\] must have the same shape/);
    expect(() => computePixelCrossEntropy(tf.zeros([2, 2]) as never, map([[1]]))).toThrow(/computePixelCrossEntropy: probability must have shape \[B, H, W, 1\], got \[2, 2\]/);
  });
});

describe('computeLocalReward (Eq. 5)', () => {
  it.each([
    [1.0, 0.25, 0.75],
    [0.5, 0.75, -0.25],
    [2.302585, 2.302585, 0],
  ])('P(t-1) = %s, P(t) = %s -> r = %s', (prev, cur, expected) => {
    const r = computeLocalReward(map([[prev]]), map([[cur]]));
    expect(values(r)[0]).toBeCloseTo(expected, 6);
    r.dispose();
  });
  it('is the CE decrease when a step turns a false positive into a true negative', () => {
    // Distractor pixel (y = 0): p = 0.9 on the raw image, 0.1 after masking.
    const y = map([[0]]);
    const before = computePixelCrossEntropy(map([[0.9]]), y);
    const after = computePixelCrossEntropy(map([[0.1]]), y);
    const r = computeLocalReward(before, after);
    expect(values(r)[0]).toBeCloseTo(Math.log(0.9 / 0.1), 4);
    tf.dispose([y, before, after, r]);
  });
});

describe('computeFbRatio and computeFbTerm (Eq. 3)', () => {
  const eps = 1e-3;
  it.each([
    ['one lesion pixel of four, all retained', [[1, 0], [0, 0]], [[1, 1], [1, 1]], 1 / 3],
    ['two lesion, one background retained', [[1, 1], [0, 0]], [[1, 1], [1, 0]], 2],
    ['no lesion: x = eps', [[0, 0], [0, 0]], [[1, 1], [1, 1]], eps],
    ['N_back = 0: x = 1/eps', [[1, 0], [0, 0]], [[1, 0], [0, 0]], 1 / eps],
    ['nothing retained (0/0): x = eps', [[1, 0], [0, 0]], [[0, 0], [0, 0]], eps],
    ['masked lesion does not count', [[1, 1], [0, 0]], [[1, 0], [1, 1]], 0.5],
  ])('%s', (_name, label, retained, expected) => {
    const x = computeFbRatio(map(retained), map(label), eps);
    expect(values(x)[0]).toBeCloseTo(expected, 5);
    x.dispose();
  });
  it.each([
    [1 / 3, -0.5, 0.25, -0.5 * (1 / 3 + 0.75)],
    [0.5, -0.5, 0.25, -0.5],
    [2, -0.5, 0.25, -0.5 * 2.125],
    [0.1, -0.2, 0.21, -0.2 * (0.1 + 2.1)],
  ])('x = %s, alpha = %s, beta = %s -> alpha (x + beta/x) = %s', (x, alpha, beta, expected) => {
    const term = computeFbTerm(tf.tensor1d([x]), alpha, beta);
    expect(values(term)[0]).toBeCloseTo(expected, 5);
    term.dispose();
  });
  it.each([0.21, 0.25, 0.29])('is maximal at x = sqrt(beta) for beta = %s', (beta) => {
    const xs = Array.from({ length: 4000 }, (_, i) => 0.05 + i * 0.0005);
    const term = computeFbTerm(tf.tensor1d(xs), -0.5, beta);
    const v = values(term);
    const best = xs[v.indexOf(Math.max(...v))];
    expect(best).toBeCloseTo(Math.sqrt(beta), 3);
    term.dispose();
  });
  it.each([
    [0, 0.25, /computeFbTerm: alpha must lie in \(-1, 0\) \(Eq. 3\), got 0/],
    [-1, 0.25, /alpha must lie in \(-1, 0\)/],
    [-0.5, 0.2, /computeFbTerm: beta must lie in \(0.2, 0.3\) \(Eq. 3\), got 0.2/],
    [-0.5, 0.35, /beta must lie in \(0.2, 0.3\)/],
  ])('rejects alpha = %s, beta = %s', (alpha, beta, message) => {
    const x = tf.tensor1d([0.5]);
    expect(() => computeFbTerm(x, alpha, beta)).toThrow(message);
    x.dispose();
  });
});

describe('computeFbReward (Eq. 3 reward map)', () => {
  const label = [[1, 0], [0, 0]]; // x = 1/3 when all retained: alpha f(x) = -0.5 (1/3 + 0.75)
  const term = -0.5 * (1 / 3 + 0.75);
  it.each([
    ['eq3', true, term / 4],
    ['per-pixel', true, term],
    ['eq3', false, 0],
  ] as const)('scale %s, enabled %s adds %s to every pixel', (scale, enabled, added) => {
    const local = map([[0.1, -0.2], [0, 0.3]]);
    const r = computeFbReward(local, map([[1, 1], [1, 1]]), map(label), { alpha: -0.5, beta: 0.25, scale, enabled });
    const got = values(r);
    [0.1, -0.2, 0, 0.3].forEach((v, i) => expect(got[i]).toBeCloseTo(v + added, 5));
    tf.dispose([local, r]);
  });
  it('keeps the mean equal to Eq. (3) in eq3 scale', () => {
    const local = map([[0.4, 0.2], [0.1, -0.3]]);
    const r = computeFbReward(local, map([[1, 1], [1, 1]]), map(label), { alpha: -0.5, beta: 0.25 });
    const eq3 = (0.4 + 0.2 + 0.1 - 0.3 + term) / 4;
    expect(values(tf.mean(r))[0]).toBeCloseTo(eq3, 5);
    tf.dispose([local, r]);
  });
  it('is finite with N_back = 0 and with nothing retained', () => {
    for (const retained of [[[1, 0], [0, 0]], [[0, 0], [0, 0]]]) {
      const r = computeFbReward(map([[0, 0], [0, 0]]), map(retained), map(label), { alpha: -0.5, beta: 0.25 });
      expect(values(r).every(Number.isFinite)).toBe(true);
      r.dispose();
    }
  });
  it('rejects a bad scale and alpha naming the option', () => {
    const m = map([[0]]);
    expect(() => computeFbReward(m, m, m, { alpha: 0.5, beta: 0.25 })).toThrow(/computeFbReward: options.alpha must lie in \(-1, 0\)/);
    expect(() => computeFbReward(m, m, m, { alpha: -0.5, beta: 0.25, scale: 'mean' as never })).toThrow(/options.scale must be 'eq3' or 'per-pixel'/);
  });
});

describe('computeAdp (Eq. 10)', () => {
  const dot = [[0, 0, 0], [0, 1, 0], [0, 0, 0]];
  it.each([
    ['3x3 window, lone lesion pixel', dot, 3, [[1 / 4, 1 / 6, 1 / 4], [1 / 6, 8 / 9, 1 / 6], [1 / 4, 1 / 6, 1 / 4]]],
    ['5x5 window covers the whole 3x3 image', dot, 5, [[1 / 9, 1 / 9, 1 / 9], [1 / 9, 8 / 9, 1 / 9], [1 / 9, 1 / 9, 1 / 9]]],
    ['1x1 window: nothing differs', dot, 1, [[0, 0, 0], [0, 0, 0], [0, 0, 0]]],
    ['uniform labels: 0 everywhere', [[1, 1], [1, 1]], 3, [[0, 0], [0, 0]]],
    ['half/half edge, 3x3', [[1, 0], [1, 0]], 3, [[0.5, 0.5], [0.5, 0.5]]],
  ])('%s', (_name, label, window, expected) => {
    const j = computeAdp(map(label), window);
    const got = values(j);
    expected.flat().forEach((e, i) => expect(got[i]).toBeCloseTo(e, 5));
    j.dispose();
  });
  it('matches a plain loop on a random 7 x 9 label map (window 5)', () => {
    const H = 7;
    const W = 9;
    let s = 12345;
    const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
    const y = Array.from({ length: H }, () => Array.from({ length: W }, () => (rnd() < 0.3 ? 1 : 0)));
    const j = values(computeAdp(map(y), 5));
    for (let r = 0; r < H; r++) {
      for (let c = 0; c < W; c++) {
        let n = 0;
        let d = 0;
        for (let dr = -2; dr <= 2; dr++) {
          for (let dc = -2; dc <= 2; dc++) {
            const rr = r + dr;
            const cc = c + dc;
            if (rr < 0 || cc < 0 || rr >= H || cc >= W) continue;
            n++;
            if (y[rr][cc] !== y[r][c]) d++;
          }
        }
        expect(j[r * W + c]).toBeCloseTo(d / n, 5);
      }
    }
  });
  it.each([4, 0, 2.5])('rejects window %s', (w) => {
    const m = map([[0]]);
    expect(() => computeAdp(m, w)).toThrow(/computeAdp: window must be a positive odd integer/);
    m.dispose();
  });
});

describe('computeStepReward follows the config switches', () => {
  it('equals Eq. 5 with rl.useFb = false and Eq. 5 + Eq. 3 term with it on', () => {
    const prev = map([[0.5, 0.5], [0.5, 0.5]]);
    const prob = map([[0.9, 0.1], [0.2, 0.3]]);
    const label = map([[1, 0], [0, 0]]);
    const retained = map([[1, 1], [1, 1]]);
    const expectedLocal = [0.5 + Math.log(0.9), 0.5 + Math.log(0.9), 0.5 + Math.log(0.8), 0.5 + Math.log(0.7)];
    const off = computeStepReward(prev, prob, retained, label, fbOptionsFromConfig(RlSchema.parse({ useFb: false })));
    values(off.reward).forEach((v, i) => expect(v).toBeCloseTo(expectedLocal[i], 5));
    const on = computeStepReward(prev, prob, retained, label, fbOptionsFromConfig(RlSchema.parse({ alpha: -0.5, beta: 0.25 })));
    values(on.reward).forEach((v, i) => expect(v).toBeCloseTo(expectedLocal[i] + (-0.5 * (1 / 3 + 0.75)) / 4, 5));
    tf.dispose([prev, prob, label, retained, off.crossEntropy, off.localReward, off.reward, on.crossEntropy, on.localReward, on.reward]);
  });
});

describe('computeStateValue (issue 15: Eq. 3 x N, ADP as a pixel weight)', () => {
  it('matches a hand computation with FB on, and drops the term with FB off', async () => {
    const { computeStateValue } = await import('../src/index');
    const p = tf.tensor4d([0.9, 0.2, 0.1, 0.5], [1, 2, 2, 1]);
    const y = tf.tensor4d([1, 0, 0, 0], [1, 2, 2, 1]);
    const kept = tf.tensor4d([1, 1, 0, 1], [1, 2, 2, 1]);
    const adp = tf.tensor4d([0.5, 0, 0, 0], [1, 2, 2, 1]);
    const ce = -Math.log(0.9) * 1.5 - Math.log(0.8) - Math.log(0.9) - Math.log(0.5);
    const x = 1 / 2; // one lesion pixel kept, two background pixels kept
    const fb = { alpha: -0.5, beta: 0.25 };
    const on = computeStateValue(p, y, kept, { fb, adp });
    expect(on.dataSync()[0]).toBeCloseTo(-ce - 0.5 * (x + 0.25 / x), 4);
    const off = computeStateValue(p, y, kept, { fb: { ...fb, enabled: false }, adp: null });
    expect(off.dataSync()[0]).toBeCloseTo(-(-Math.log(0.9) - Math.log(0.8) - Math.log(0.9) - Math.log(0.5)), 4);
    expect(() => computeStateValue(p, y, tf.zeros([1, 2, 3, 1]) as tf.Tensor4D, { fb })).toThrow(/computeStateValue/);
    tf.dispose([p, y, kept, adp, on, off]);
  });
});

describe('computeDiceStateValue (issue 15: rl.objective dice)', () => {
  it('is 100 x the ADP-weighted soft Dice plus the FB term at 100 / N, by hand', async () => {
    const { computeDiceStateValue } = await import('../src/index');
    const p = tf.tensor4d([0.9, 0.2, 0.1, 0.5], [1, 2, 2, 1]);
    const y = tf.tensor4d([1, 0, 0, 0], [1, 2, 2, 1]);
    const kept = tf.tensor4d([1, 1, 0, 1], [1, 2, 2, 1]);
    const adp = tf.tensor4d([0.5, 0, 0, 0], [1, 2, 2, 1]);
    const fb = { alpha: -0.5, beta: 0.25 };
    const before = tf.memory().numTensors;
    const off = computeDiceStateValue(p, y, kept, { fb: { ...fb, enabled: false }, adp: null });
    // inter = 0.9, sum p = 1.7, sum y = 1: 100 (1.8 + 1) / (2.7 + 1)
    expect(off.dataSync()[0]).toBeCloseTo((100 * 2.8) / 3.7, 4);
    const on = computeDiceStateValue(p, y, kept, { fb, adp });
    // weights 1.5, 1, 1, 1: inter = 1.35, sum wp = 2.15, sum wy = 1.5; x = 1 / 2 -> f = 0.5 + 0.5
    expect(on.dataSync()[0]).toBeCloseTo((100 * 3.7) / 4.65 + (100 * -0.5 * 1) / 4, 4);
    tf.dispose([off, on]);
    expect(tf.memory().numTensors).toBe(before);
    expect(() => computeDiceStateValue(p, y, tf.zeros([1, 2, 3, 1]) as tf.Tensor4D, { fb })).toThrow(/computeDiceStateValue/);
    tf.dispose([p, y, kept, adp]);
  });
});
