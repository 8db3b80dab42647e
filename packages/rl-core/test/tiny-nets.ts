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
