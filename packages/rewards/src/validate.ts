/**
 * Up-front argument checks shared by the reward functions: every message names the function, the
 * argument and what was expected, so a wrong tensor fails before any arithmetic.
 */
import type * as tf from '@tensorflow/tfjs';

/** Throws unless `t` is a tensor of shape [B, H, W, channels]. */
export function assertMap(fn: string, arg: string, t: unknown, channels = 1): asserts t is tf.Tensor4D {
  const shape = (t as tf.Tensor | null)?.shape;
  if (!Array.isArray(shape)) throw new TypeError(`${fn}: ${arg} must be a tf.Tensor of shape [B, H, W, ${channels}], got ${typeof t}`);
  if (shape.length !== 4 || shape[3] !== channels) {
    throw new RangeError(`${fn}: ${arg} must have shape [B, H, W, ${channels}], got [${shape.join(', ')}]`);
  }
}

/** Throws unless `a` and `b` have identical shapes. */
export function assertSameShape(fn: string, argA: string, a: tf.Tensor, argB: string, b: tf.Tensor): void {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new RangeError(`${fn}: ${argA} [${a.shape.join(', ')}] and ${argB} [${b.shape.join(', ')}] must have the same shape`);
  }
}

/** Throws unless `v` is a finite number inside the open interval (lo, hi). */
export function assertOpenInterval(fn: string, arg: string, v: unknown, lo: number, hi: number, why = ''): asserts v is number {
  if (typeof v !== 'number' || !Number.isFinite(v) || !(v > lo && v < hi)) {
    throw new RangeError(`${fn}: ${arg} must lie in (${lo}, ${hi})${why ? ` ${why}` : ''}, got ${String(v)}`);
  }
}

/** Throws unless `v` is a positive odd integer. */
export function assertOddSize(fn: string, arg: string, v: unknown): asserts v is number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v % 2 !== 1) {
    throw new RangeError(`${fn}: ${arg} must be a positive odd integer, got ${String(v)}`);
  }
}
