/**
 * Eq. (11)-(12) of Yang et al. (MRL-Seg, IEEE JBHI 2024): the n-step return with reward-map
 * convolution (PixelRL, Furuta et al. AAAI 2019),
 *   R(t) = r*(t) + gamma w*r*(t+1) + ... + gamma^(n-1) w^(n-1)*r*(t+n-1) + gamma^n w^n*V(s(t+n)),
 * where "w*" is a 2-D convolution with the learned single-channel filter w. It is computed
 * backwards, R(T) = V(s(T)), R(t) = r*(t) + gamma (w * R(t+1)), which expands to Eq. (12).
 * With ADP (Eq. 11) each backward step also adds gamma sum_{j in N(i)} w_j J_i = gamma J_i (w * 1)_i,
 * the ADP of pixel i weighted by the filter taps that fall inside the image; with an identity w
 * this is gamma J_i.
 */
import * as tf from '@tensorflow/tfjs';
import { assertMap, assertOddSize, assertSameShape } from './validate';

/**
 * A learnable reward-map filter w: shape [size, size, 1, 1], 1 at the centre and 0 elsewhere
 * (identity), trainable. The caller owns it (dispose it when done).
 * @param size - odd filter side in pixels (PixelRL reference: 33; config rl.rewardFilterSize).
 */
export function createRewardFilter(size: number, name?: string): tf.Variable<tf.Rank.R4> {
  assertOddSize('createRewardFilter', 'size', size);
  const init = tf.tidy(() => {
    const values = new Float32Array(size * size);
    values[(size * size - 1) / 2] = 1;
    return tf.tensor4d(values, [size, size, 1, 1]);
  });
  const v = tf.variable(init, true, name);
  init.dispose();
  return v;
}

function assertFilter(fn: string, filter: unknown): asserts filter is tf.Tensor4D {
  const shape = (filter as tf.Tensor | null)?.shape;
  if (!Array.isArray(shape) || shape.length !== 4 || shape[0] !== shape[1] || shape[2] !== 1 || shape[3] !== 1) {
    throw new RangeError(`${fn}: filter must have shape [k, k, 1, 1] with odd k, got ${Array.isArray(shape) ? `[${shape.join(', ')}]` : typeof filter}`);
  }
  assertOddSize(fn, 'filter size k', shape[0]);
}

/**
 * w * map: 2-D 'same' convolution (cross-correlation, zero padding) of a B x H x W x 1 map with w.
 * Differentiable in both arguments.
 */
export function applyRewardFilter(map: tf.Tensor4D, filter: tf.Tensor4D): tf.Tensor4D {
  assertMap('applyRewardFilter', 'map', map);
  assertFilter('applyRewardFilter', filter);
  return tf.conv2d(map, filter, 1, 'same');
}

export interface NStepReturnInput {
  /** r*(t) for t = 0..T-1, each B x H x W x 1, nats (Eq. 3). */
  rewards: readonly tf.Tensor4D[];
  /** V(s(T)), B x H x W x 1: the bootstrap of Eq. (12) (pass zeros for no bootstrap). */
  bootstrapValue: tf.Tensor4D;
  /** w, [k, k, 1, 1] (see {@link createRewardFilter}); gradients flow into it. */
  filter: tf.Tensor4D;
  /** Discount gamma in [0, 1]. */
  gamma: number;
  /** J of Eq. (10), B x H x W x 1, or null/undefined for the ablation without ADP. */
  adp?: tf.Tensor4D | null;
}

/**
 * Returns R(t) for t = 0..T-1 (Eq. 11-12), each B x H x W x 1, in nats. The caller disposes them.
 */
export function computeNStepReturns(input: NStepReturnInput): tf.Tensor4D[] {
  const fn = 'computeNStepReturns';
  if (input === null || typeof input !== 'object') throw new TypeError(`${fn}: input {rewards, bootstrapValue, filter, gamma} is required`);
  const { rewards, bootstrapValue, filter, gamma, adp } = input;
  if (!Array.isArray(rewards) || rewards.length === 0) throw new RangeError(`${fn}: rewards must be a non-empty array of B x H x W x 1 maps`);
  rewards.forEach((r, t) => {
    assertMap(fn, `rewards[${t}]`, r);
    assertSameShape(fn, `rewards[${t}]`, r, 'rewards[0]', rewards[0]);
  });
  assertMap(fn, 'bootstrapValue', bootstrapValue);
  assertSameShape(fn, 'bootstrapValue', bootstrapValue, 'rewards[0]', rewards[0]);
  assertFilter(fn, filter);
  if (typeof gamma !== 'number' || !(gamma >= 0 && gamma <= 1)) throw new RangeError(`${fn}: gamma must lie in [0, 1], got ${String(gamma)}`);
  if (adp != null) {
    assertMap(fn, 'adp', adp);
    assertSameShape(fn, 'adp', adp, 'rewards[0]', rewards[0]);
  }
  return tf.tidy(() => {
    const adpTerm = adp != null ? tf.mul(adp, tf.conv2d(tf.onesLike(adp) as tf.Tensor4D, filter, 1, 'same')) : null;
    const out: tf.Tensor4D[] = new Array(rewards.length);
    let next: tf.Tensor4D = bootstrapValue;
    for (let t = rewards.length - 1; t >= 0; t--) {
      let carried: tf.Tensor = tf.conv2d(next, filter, 1, 'same');
      if (adpTerm) carried = tf.add(carried, adpTerm);
      next = tf.add(rewards[t], tf.mul(gamma, carried)) as tf.Tensor4D;
      out[t] = next;
    }
    return out;
  });
}
