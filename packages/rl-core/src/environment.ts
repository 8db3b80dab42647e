/**
 * The Representation-Net (Fig. 2; METHOD-NOTES "The loop"): it holds the image and the retained
 * mask, applies the agents' {mask, retain} actions and hands the represented image to the
 * Segmentation-Net. A masked pixel stays masked; masked pixels take rl.maskValue. With patch size
 * k > 1 one agent decides for a k x k patch (its probabilities are the patch mean of the per-pixel
 * policy; its action is copied to the patch's pixels by nearest-neighbour upsampling).
 */
import * as tf from '@tensorflow/tfjs';

/** Action indices of the policy's two channels. */
export const ACTION_MASK = 0;
export const ACTION_RETAIN = 1;

/** Throws unless `images` is B x H x W x 1 with H and W divisible by the patch size. */
export function assertImages(fn: string, arg: string, images: unknown, patchSize = 1): asserts images is tf.Tensor4D {
  const shape = (images as tf.Tensor | null)?.shape;
  if (!Array.isArray(shape) || shape.length !== 4 || shape[3] !== 1) {
    throw new RangeError(`${fn}: ${arg} must be a tf.Tensor of shape [B, H, W, 1], got ${Array.isArray(shape) ? `[${shape.join(', ')}]` : typeof images}`);
  }
  if (!Number.isInteger(patchSize) || patchSize < 1) throw new RangeError(`${fn}: rl.patchSize must be a positive integer, got ${patchSize}`);
  if (shape[1] % patchSize !== 0 || shape[2] % patchSize !== 0) {
    throw new RangeError(`${fn}: ${arg} height and width (${shape[1]} x ${shape[2]}) must be multiples of rl.patchSize ${patchSize}`);
  }
}

/** s(t) = image where retained, maskValue where masked. B x H x W x 1. */
export function representState(images: tf.Tensor4D, retained: tf.Tensor4D, maskValue: number): tf.Tensor4D {
  return tf.tidy(() => tf.add(tf.mul(images, retained), tf.mul(tf.sub(1, retained), maskValue)) as tf.Tensor4D);
}

/** retained(t+1) = retained(t) AND (action == retain): masked stays masked. */
export function applyActions(retained: tf.Tensor4D, pixelActions: tf.Tensor4D): tf.Tensor4D {
  return tf.mul(retained, pixelActions);
}

/** The Reinforcement-Net's input: the state, plus the retained mask as a second channel if asked. */
export function policyInput(state: tf.Tensor4D, retained: tf.Tensor4D, maskHistory: boolean): tf.Tensor4D {
  return maskHistory ? tf.concat([state, retained], 3) : state.clone();
}

/** Per-agent probabilities: the k x k patch mean of the per-pixel policy (identity for k = 1). */
export function agentProbabilities(probs: tf.Tensor4D, patchSize: number): tf.Tensor4D {
  return patchSize === 1 ? probs : tf.avgPool(probs, patchSize, patchSize, 'valid');
}

/** Per-agent map (B x h x w x C) to pixels (B x kh x kw x C) by nearest neighbour. */
export function agentToPixels(agentMap: tf.Tensor4D, patchSize: number): tf.Tensor4D {
  if (patchSize === 1) return agentMap.clone();
  const [, h, w] = agentMap.shape;
  return tf.image.resizeNearestNeighbor(agentMap, [h * patchSize, w * patchSize]);
}

/** Per-pixel map to agents: k x k patch mean (identity for k = 1). */
export function pixelsToAgents(pixelMap: tf.Tensor4D, patchSize: number): tf.Tensor4D {
  return patchSize === 1 ? pixelMap : tf.avgPool(pixelMap, patchSize, patchSize, 'valid');
}

/**
 * Actions from per-agent probabilities: 1 = retain, 0 = mask, B x h x w x 1 float32.
 * 'sample' draws retain with probability pi(retain) (seeded); 'greedy' retains where
 * pi(retain) >= pi(mask) (argmax with ties to retain).
 */
export function chooseActions(agentProbs: tf.Tensor4D, mode: 'sample' | 'greedy', seed?: number): tf.Tensor4D {
  return tf.tidy(() => {
    const retainP = tf.slice(agentProbs, [0, 0, 0, ACTION_RETAIN], [-1, -1, -1, 1]);
    if (mode === 'greedy') {
      const maskP = tf.slice(agentProbs, [0, 0, 0, ACTION_MASK], [-1, -1, -1, 1]);
      return tf.cast(tf.greaterEqual(retainP, maskP), 'float32') as tf.Tensor4D;
    }
    const u = tf.randomUniform(retainP.shape, 0, 1, 'float32', seed);
    return tf.cast(tf.less(u, retainP), 'float32') as tf.Tensor4D;
  });
}
