/**
 * MRL-Seg inference (METHOD-NOTES "The loop", step 5), the TensorFlow.js reference that
 * {@link exportMrlSegOnnx} reproduces: s(0) = image; for t = 0..T-1 the Reinforcement-Net's policy
 * is taken deterministically (argmax over {0: mask, 1: retain}, ties -> mask), the masked set
 * grows (a masked pixel stays masked) and s(t+1) = image with masked pixels set to `maskValue`;
 * finally the Segmentation-Net segments s(T).
 */
import * as tf from '@tensorflow/tfjs';
import { ACTION_MASK } from './reinforcement-net';

export interface MrlSegInferenceOptions {
  /** T, the number of deterministic actions per image (paper: 4). */
  steps: number;
  /** Value of masked pixels (0 after normalisation). */
  maskValue: number;
}

export function checkMrlSegOptions(fn: string, o: MrlSegInferenceOptions): void {
  if (!Number.isInteger(o.steps) || o.steps < 1 || o.steps > 16) throw new Error(`${fn}: steps must be an integer in [1, 16], got ${o.steps}`);
  if (!Number.isFinite(o.maskValue)) throw new Error(`${fn}: maskValue must be a finite number, got ${o.maskValue}`);
}

/**
 * @param image B x H x W x 1 in [0, 1].
 * @returns probabilities (B x H x W x 1, Segmentation-Net on s(T)) and actions (B x H x W x 1,
 * 1 = masked at some step); the caller disposes both.
 */
export function runMrlSegInference(rlNet: tf.LayersModel, segNet: tf.LayersModel, image: tf.Tensor4D, opts: MrlSegInferenceOptions): { probabilities: tf.Tensor4D; actions: tf.Tensor4D } {
  checkMrlSegOptions('runMrlSegInference', opts);
  return tf.tidy(() => {
    let masked: tf.Tensor = tf.zeros(image.shape, 'bool');
    let state: tf.Tensor = image;
    const fill = tf.fill(image.shape, opts.maskValue);
    for (let t = 0; t < opts.steps; t++) {
      const [policy] = rlNet.predict(state) as tf.Tensor[];
      const act = tf.expandDims(tf.argMax(policy, -1), -1);
      masked = tf.logicalOr(masked, tf.equal(act, ACTION_MASK));
      state = tf.where(masked, fill, image);
    }
    const probabilities = segNet.predict(state) as tf.Tensor4D;
    return { probabilities, actions: tf.cast(masked, 'float32') as tf.Tensor4D };
  });
}
