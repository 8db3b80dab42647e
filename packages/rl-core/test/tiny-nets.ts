/**
 * Tiny networks with the Reinforcement-Net / Segmentation-Net I/O contract, for tests and the
 * benchmark's fallback. Seeded initialisers make them reproducible.
 */
import * as tf from '@tensorflow/tfjs';

/** B x H x W x C -> [softmax policy B x H x W x 2, value B x H x W x 1]; 3 x 3 conv trunk. */
export function tinyPolicyNet(opts: { channels?: number; width?: number; seed?: number; inChannels?: number } = {}): tf.LayersModel {
  const { width = 8, seed = 1, inChannels = 1 } = opts;
  const init = (s: number) => tf.initializers.glorotUniform({ seed: seed * 100 + s });
  const input = tf.input({ shape: [null, null, inChannels] as unknown as number[] });
  const trunk = tf.layers.conv2d({ filters: width, kernelSize: 3, padding: 'same', activation: 'tanh', kernelInitializer: init(1) }).apply(input) as tf.SymbolicTensor;
  const policy = tf.layers.conv2d({ filters: 2, kernelSize: 1, activation: 'softmax', kernelInitializer: init(2) }).apply(trunk) as tf.SymbolicTensor;
  const value = tf.layers.conv2d({ filters: 1, kernelSize: 1, kernelInitializer: init(3) }).apply(trunk) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: [policy, value] });
}

/** Fixed "threshold" segmenter: p = sigmoid(gain (x - threshold)), as a 1 x 1 conv. Trainable. */
export function thresholdSegNet(gain = 10, threshold = 0.5): tf.LayersModel {
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [null, null, 1] as unknown as number[],
        filters: 1,
        kernelSize: 1,
        activation: 'sigmoid',
        kernelInitializer: tf.initializers.constant({ value: gain }),
        biasInitializer: tf.initializers.constant({ value: -gain * threshold }),
      }),
    ],
  });
  return model;
}

/**
 * Per-pixel MLP with the Reinforcement-Net contract (dense layers act on the channel axis, so the
 * cpu backend trains it fast): B x H x W x C -> [policy B x H x W x 2, value B x H x W x 1].
 */
export function pixelPolicyNet(
  opts: { width?: number; seed?: number; inChannels?: number; retainLogit?: number; featureScale?: number } = {},
): tf.LayersModel {
  const { width = 8, seed = 1, inChannels = 1, retainLogit = 0, featureScale = 0 } = opts;
  const init = (s: number) => tf.initializers.glorotUniform({ seed: seed * 100 + s });
  const input = tf.input({ shape: [null, null, inChannels] as unknown as number[] });
  // featureScale > 0: a first layer of sharp random tanh features of the intensity (slopes and
  // offsets uniform in +-featureScale), so a linear read-out can place a decision threshold quickly.
  const sharp = featureScale > 0;
  const trunk = tf.layers
    .dense({
      units: width,
      activation: 'tanh',
      kernelInitializer: sharp ? tf.initializers.randomUniform({ minval: -featureScale, maxval: featureScale, seed: seed * 100 + 4 }) : init(1),
      biasInitializer: sharp ? tf.initializers.randomUniform({ minval: -featureScale / 2, maxval: featureScale / 2, seed: seed * 100 + 5 }) : 'zeros',
    })
    .apply(input) as tf.SymbolicTensor;
  const policyLayer = tf.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: init(2) });
  const policy = policyLayer.apply(trunk) as tf.SymbolicTensor;
  const value = tf.layers.dense({ units: 1, kernelInitializer: init(3) }).apply(trunk) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: [policy, value] });
  // Optional prior towards "retain" (the start of a policy initialised from a segmenter).
  if (retainLogit !== 0) tf.tidy(() => policyLayer.setWeights([policyLayer.getWeights()[0], tf.tensor1d([0, retainLogit])]));
  return model;
}

/**
 * A policy that ignores its input: pi(retain) = pRetain everywhere, V = value everywhere.
 * (Dense layers with zero kernels; the biases carry the constants.)
 */
export function constantPolicyNet(pRetain: number, value = 0, inChannels = 1): tf.LayersModel {
  const input = tf.input({ shape: [null, null, inChannels] as unknown as number[] });
  const policyLayer = tf.layers.dense({ units: 2, activation: 'softmax' });
  const valueLayer = tf.layers.dense({ units: 1 });
  const policy = policyLayer.apply(input) as tf.SymbolicTensor;
  const v = valueLayer.apply(input) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: [policy, v] });
  const logit = Math.log(pRetain / (1 - pRetain));
  tf.tidy(() => {
    policyLayer.setWeights([tf.zeros([inChannels, 2]), tf.tensor1d([0, logit])]);
    valueLayer.setWeights([tf.zeros([inChannels, 1]), tf.tensor1d([value])]);
  });
  return model;
}
