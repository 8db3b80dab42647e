/**
 * Eq. (3) of Yang et al. (MRL-Seg, IEEE JBHI 2024): the global foreground/background reward
 *   r*(t) = (1/N) (sum_i r_i(t) + alpha (x + beta / x)),  x = N_front / N_back,
 * with N_front / N_back the numbers of lesion / background pixels (by label) that are still
 * retained after step t, alpha in (-1, 0) and beta in (0.2, 0.3). f(x) = x + beta / x is minimal
 * at x = sqrt(beta), so with alpha < 0 the term is highest when the retained pixels are balanced.
 */
import * as tf from '@tensorflow/tfjs';
import { assertMap, assertSameShape, assertOpenInterval } from './validate';

/** Default clip of x to [eps, 1 / eps] (METHOD-NOTES: guard x = 0 and N_back = 0). */
export const DEFAULT_FB_EPS = 1e-3;

/**
 * How the image-level term alpha f(x) enters the per-pixel reward map:
 * - 'eq3': each pixel gets alpha f(x) / N, so the map's mean is exactly r*(t) of Eq. (3);
 * - 'per-pixel': each pixel gets alpha f(x) (the term weighs as much as one pixel's local reward
 *   times N; METHOD-NOTES "the global term is added to every pixel's reward map").
 */
export type FbScale = 'eq3' | 'per-pixel';

export interface FbRewardOptions {
  /** Weight alpha of the prior, in (-1, 0). */
  alpha: number;
  /** beta in (0.2, 0.3): the optimum ratio is x = sqrt(beta). */
  beta: number;
  /** Clip of x to [eps, 1/eps], in (0, 1). Default {@link DEFAULT_FB_EPS}. */
  eps?: number;
  /** Default 'eq3'. */
  scale?: FbScale;
  /** false: the ablation without FB; the map is the local reward unchanged. Default true. */
  enabled?: boolean;
}

/**
 * The retained foreground/background ratio x of Eq. (3), per image.
 * N_front = sum retained * y, N_back = sum retained * (1 - y). Guards: N_back = 0 with N_front > 0
 * gives x = 1/eps; nothing retained (0/0) and N_front = 0 give x = eps; x is clipped to [eps, 1/eps].
 * @param retained - 1 where the pixel is still retained, 0 where masked; B x H x W x 1.
 * @param label - ground truth, B x H x W x 1 (> 0.5 = lesion).
 * @returns x, shape [B], dimensionless.
 */
export function computeFbRatio(retained: tf.Tensor4D, label: tf.Tensor4D, eps = DEFAULT_FB_EPS): tf.Tensor1D {
  const fn = 'computeFbRatio';
  assertMap(fn, 'retained', retained);
  assertMap(fn, 'label', label);
  assertSameShape(fn, 'retained', retained, 'label', label);
  assertOpenInterval(fn, 'eps', eps, 0, 1);
  return tf.tidy(() => {
    const kept = tf.cast(tf.greater(retained, 0.5), 'float32');
    const y = tf.cast(tf.greater(label, 0.5), 'float32');
    const front = tf.sum(tf.mul(kept, y), [1, 2, 3]);
    const back = tf.sum(tf.mul(kept, tf.sub(1, y)), [1, 2, 3]);
    const hasBack = tf.greater(back, 0);
    const ratio = tf.div(front, tf.maximum(back, 1));
    const noBack = tf.where(tf.greater(front, 0), tf.fill(front.shape, 1 / eps), tf.fill(front.shape, eps));
    return tf.clipByValue(tf.where(hasBack, ratio, noBack), eps, 1 / eps) as tf.Tensor1D;
  });
}

/**
 * The prior term alpha (x + beta / x) of Eq. (3), per image; maximal (for alpha < 0) at
 * x = sqrt(beta).
 * @param ratio - x, shape [B], positive (use {@link computeFbRatio}).
 * @returns alpha f(x), shape [B], in reward units (nats per image before the 1/N of Eq. 3).
 */
export function computeFbTerm(ratio: tf.Tensor1D, alpha: number, beta: number): tf.Tensor1D {
  const fn = 'computeFbTerm';
  if (!(ratio instanceof tf.Tensor) || ratio.rank !== 1) throw new RangeError(`${fn}: ratio must be a rank-1 tf.Tensor [B]`);
  assertOpenInterval(fn, 'alpha', alpha, -1, 0, '(Eq. 3)');
  assertOpenInterval(fn, 'beta', beta, 0.2, 0.3, '(Eq. 3)');
  return tf.tidy(() => tf.mul(alpha, tf.add(ratio, tf.div(beta, ratio))) as tf.Tensor1D);
}

/**
 * The global reward map r*(t) of Eq. (3): the local reward map plus the image's prior term,
 * spread over its pixels as {@link FbScale} says.
 * @param localReward - r(t) of Eq. (5), B x H x W x 1, nats.
 * @param retained - retained mask after step t, B x H x W x 1 (1 retained, 0 masked).
 * @param label - ground truth, B x H x W x 1.
 * @returns r*(t), B x H x W x 1, nats; equal to `localReward` (a new tensor) when disabled.
 */
export function computeFbReward(
  localReward: tf.Tensor4D,
  retained: tf.Tensor4D,
  label: tf.Tensor4D,
  options: FbRewardOptions,
): tf.Tensor4D {
  const fn = 'computeFbReward';
  assertMap(fn, 'localReward', localReward);
  assertMap(fn, 'retained', retained);
  assertMap(fn, 'label', label);
  assertSameShape(fn, 'localReward', localReward, 'retained', retained);
  assertSameShape(fn, 'localReward', localReward, 'label', label);
  if (options === null || typeof options !== 'object') throw new TypeError(`${fn}: options {alpha, beta, ...} are required`);
  assertOpenInterval(fn, 'options.alpha', options.alpha, -1, 0, '(Eq. 3)');
  assertOpenInterval(fn, 'options.beta', options.beta, 0.2, 0.3, '(Eq. 3)');
  const scale = options.scale ?? 'eq3';
  if (scale !== 'eq3' && scale !== 'per-pixel') throw new RangeError(`${fn}: options.scale must be 'eq3' or 'per-pixel', got '${String(scale)}'`);
  if (options.enabled === false) return tf.clone(localReward);
  return tf.tidy(() => {
    const x = computeFbRatio(retained, label, options.eps ?? DEFAULT_FB_EPS);
    const term = computeFbTerm(x, options.alpha, options.beta);
    const [, h, w] = localReward.shape;
    const perPixel = scale === 'eq3' ? tf.div(term, h * w) : term;
    return tf.add(localReward, tf.reshape(perPixel, [-1, 1, 1, 1])) as tf.Tensor4D;
  });
}
