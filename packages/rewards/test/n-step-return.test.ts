import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyRewardFilter, computeNStepReturns, createRewardFilter } from '../src/index';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

let seed = 7;
const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
type Img = number[][][]; // [b][r][c]
const randImg = (B: number, H: number, W: number): Img => Array.from({ length: B }, () => Array.from({ length: H }, () => Array.from({ length: W }, rnd)));
const toTensor = (x: Img) => tf.tensor4d(x.flat(2), [x.length, x[0].length, x[0][0].length, 1]);

/** Plain 'same' cross-correlation with zero padding. */
function conv(x: Img, w: number[][]): Img {
  const k = w.length;
  const c = (k - 1) / 2;
  return x.map((img) =>
    img.map((row, r) =>
      row.map((_, col) => {
        let s = 0;
        for (let i = 0; i < k; i++) {
          for (let j = 0; j < k; j++) {
            const rr = r + i - c;
            const cc = col + j - c;
            if (rr >= 0 && cc >= 0 && rr < img.length && cc < row.length) s += w[i][j] * img[rr][cc];
          }
        }
        return s;
      }),
    ),
  );
}
const add = (a: Img, b: Img, sb = 1) => a.map((img, n) => img.map((row, r) => row.map((v, c) => v + sb * b[n][r][c])));
const mul = (a: Img, b: Img) => a.map((img, n) => img.map((row, r) => row.map((v, c) => v * b[n][r][c])));

describe('computeNStepReturns (Eq. 11-12)', () => {
  it.each([
    [3, 0.95, false],
    [3, 0.9, true],
    [5, 0.5, true],
    [1, 0.95, true],
  ])('matches a plain backward loop (filter %s, gamma %s, ADP %s)', (k, gamma, withAdp) => {
    const [T, B, H, W] = [3, 2, 5, 6];
    const r = Array.from({ length: T }, () => randImg(B, H, W));
    const v = randImg(B, H, W);
    const j = randImg(B, H, W).map((img) => img.map((row) => row.map((x) => Math.abs(x))));
    const w = Array.from({ length: k }, () => Array.from({ length: k }, rnd));
    // Plain loop: R(T) = V; R(t) = r(t) + gamma (w * R(t+1) + J (w * 1)).
    const ones = v.map((img) => img.map((row) => row.map(() => 1)));
    const expected: Img[] = [];
    let next = v;
    for (let t = T - 1; t >= 0; t--) {
      let carried = conv(next, w);
      if (withAdp) carried = add(carried, mul(j, conv(ones, w)));
      next = add(r[t], carried.map((img) => img.map((row) => row.map((x) => gamma * x))));
      expected[t] = next;
    }
    const rt = r.map(toTensor) as tf.Tensor4D[];
    const vt = toTensor(v);
    const jt = toTensor(j);
    const wt = tf.tensor4d(w.flat(), [k, k, 1, 1]);
    const got = computeNStepReturns({ rewards: rt, bootstrapValue: vt, filter: wt, gamma, adp: withAdp ? jt : null });
    expect(got).toHaveLength(T);
    got.forEach((g, t) => {
      const gv = Array.from(g.dataSync());
      expected[t].flat(2).forEach((e, i) => expect(gv[i]).toBeCloseTo(e, 4));
    });
    tf.dispose([...rt, vt, jt, wt, ...got]);
  });

  it('with the identity filter and no ADP is the discounted sum of Eq. (12)', () => {
    const rewards = [0.5, -0.25, 1, 0.125].map((x) => tf.fill([1, 2, 2, 1], x) as tf.Tensor4D);
    const v = tf.fill([1, 2, 2, 1], 2) as tf.Tensor4D;
    const w = createRewardFilter(3);
    const g = 0.95;
    const R = computeNStepReturns({ rewards, bootstrapValue: v, filter: w, gamma: g });
    const expected0 = 0.5 + g * -0.25 + g ** 2 * 1 + g ** 3 * 0.125 + g ** 4 * 2;
    const expected2 = 1 + g * 0.125 + g ** 2 * 2;
    expect(R[0].dataSync()[0]).toBeCloseTo(expected0, 5);
    expect(R[2].dataSync()[3]).toBeCloseTo(expected2, 5);
    tf.dispose([...rewards, v, w, ...R]);
  });

  it('with an identity filter adds gamma J per step (Eq. 11 one-step form)', () => {
    const r = tf.fill([1, 3, 3, 1], 0.1) as tf.Tensor4D;
    const v = tf.fill([1, 3, 3, 1], 0.4) as tf.Tensor4D;
    const j = tf.fill([1, 3, 3, 1], 0.25) as tf.Tensor4D;
    const w = createRewardFilter(5);
    const [R] = computeNStepReturns({ rewards: [r], bootstrapValue: v, filter: w, gamma: 0.9, adp: j });
    Array.from(R.dataSync()).forEach((x) => expect(x).toBeCloseTo(0.1 + 0.9 * (0.25 + 0.4), 5));
    tf.dispose([r, v, j, w, R]);
  });

  it('passes gradients to the filter w', () => {
    const r = tf.fill([1, 3, 3, 1], 1) as tf.Tensor4D;
    const v = tf.zeros([1, 3, 3, 1]) as tf.Tensor4D;
    const w = createRewardFilter(3);
    // R(0) = r + gamma w * r; d sum(R0) / d w_centre = gamma * sum(r) = 0.5 * 9.
    const g = tf.grad((ww: tf.Tensor) => {
      const R = computeNStepReturns({ rewards: [r, r], bootstrapValue: v, filter: ww as tf.Tensor4D, gamma: 0.5 });
      return tf.sum(R[0]);
    })(w);
    const gv = g.dataSync();
    expect(gv[4]).toBeCloseTo(4.5, 4);
    expect(gv[0]).toBeCloseTo(0.5 * 4, 4); // corner tap sees 4 in-image pixels
    tf.dispose([r, v, w, g]);
  });

  it.each([
    [{ rewards: [] }, /computeNStepReturns: rewards must be a non-empty array/],
    [{ gamma: 1.5 }, /computeNStepReturns: gamma must lie in \[0, 1\], got 1.5/],
    [{ filter: 'w4' }, /computeNStepReturns: filter size k must be a positive odd integer, got 4/],
    [{ bootstrapValue: 'small' }, /computeNStepReturns: bootstrapValue \[1, 2, 2, 1\] and rewards\[0\] \[1, 3, 3, 1\] must have the same shape/],
  ])('rejects bad input %#', (override, message) => {
    const base = { rewards: [tf.zeros([1, 3, 3, 1]) as tf.Tensor4D], bootstrapValue: tf.zeros([1, 3, 3, 1]) as tf.Tensor4D, filter: tf.zeros([3, 3, 1, 1]) as tf.Tensor4D, gamma: 0.9 };
    const o: Record<string, unknown> = { ...base, ...override };
    if (o.filter === 'w4') o.filter = tf.zeros([4, 4, 1, 1]);
    if (o.bootstrapValue === 'small') o.bootstrapValue = tf.zeros([1, 2, 2, 1]);
    expect(() => computeNStepReturns(o as never)).toThrow(message);
  });
});

describe('createRewardFilter / applyRewardFilter', () => {
  it.each([1, 3, 33])('size %s starts as the identity', (k) => {
    const w = createRewardFilter(k);
    const x = tf.randomUniform([2, 4, 5, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
    const y = applyRewardFilter(x, w);
    expect(Array.from(y.dataSync())).toEqual(Array.from(x.dataSync()).map((v) => expect.closeTo(v, 6)));
    expect(w.trainable).toBe(true);
    tf.dispose([w, x, y]);
  });
  it.each([0, 2, 4.5])('rejects size %s', (k) => {
    expect(() => createRewardFilter(k)).toThrow(/createRewardFilter: size must be a positive odd integer/);
  });
});
