/**
 * A faster gradient for TensorFlow.js' Tile. tfjs-core 4.22 differentiates Tile with one Slice and
 * one Add per repetition (`Tile_grad.ts`: nested loops over reps, ranks 1-4 only). tfjs-layers'
 * LayerNormalization broadcasts its mean, variance, gamma and beta with Tile, so the
 * Segmentation-Net's encoder norm on B x N x D tokens (4 x 64 x 128 at 128 px) cost 768 Slices and
 * 768 Adds per train step: ~95 of ~700 ms on the wasm backend (docs/performance.md).
 *
 * Since out[k_0 n_0 + j_0, ..., k_{r-1} n_{r-1} + j_{r-1}] = x[j_0, ..., j_{r-1}] (repetition k_d
 * outer, original index j_d inner), the gradient is dy reshaped to [reps_0, n_0, ..., reps_{r-1},
 * n_{r-1}] summed over the repetition axes 0, 2, ..., 2r-2: one Reshape and one Sum on every
 * backend, for any rank. Same values up to the order of the float32 additions.
 */
import * as tf from '@tensorflow/tfjs';

let registered = false;

/** Registers the gradient above for the Tile kernel (all backends; idempotent). */
export function registerTileGradient(): void {
  if (registered) return;
  registered = true;
  tf.registerGradient({
    kernelName: 'Tile',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved;
      const reps = (attrs as unknown as { reps: number[] }).reps;
      return {
        x: () =>
          tf.tidy(() => {
            const g = dy as tf.Tensor;
            if (reps.every((r) => r === 1)) return tf.reshape(g, x.shape);
            const inter: number[] = [];
            const axes: number[] = [];
            x.shape.forEach((n, d) => {
              if (reps[d] > 1) {
                axes.push(inter.length);
                inter.push(reps[d]);
              }
              inter.push(n);
            });
            return tf.reshape(tf.sum(tf.reshape(g, inter), axes), x.shape);
          }),
      };
    },
  });
}
