/** Builds any of the four networks from a {@link ModelSpec} (the CLI's `models init`, checkpoints). */
import type * as tf from '@tensorflow/tfjs';
import { buildResUnet, buildUnet } from './baselines';
import type { ModelSpec } from './model-spec';
import { buildReinforcementNet } from './reinforcement-net';
import { buildSegmentationNet } from './segmentation-net';

export function buildModel(spec: ModelSpec): tf.LayersModel {
  switch (spec.kind) {
    case 'seg-net':
      return buildSegmentationNet(spec.sizes, { inputSize: spec.inputSize, seed: spec.seed });
    case 'rl-net':
      return buildReinforcementNet(spec.sizes, { inputSize: spec.inputSize, seed: spec.seed, headChannels: spec.headChannels, probabilityInput: spec.probabilityInput });
    case 'unet':
      return buildUnet({ inputSize: spec.inputSize, baseWidth: spec.baseWidth, seed: spec.seed });
    case 'resunet':
      return buildResUnet({ inputSize: spec.inputSize, baseWidth: spec.baseWidth, seed: spec.seed });
    default:
      throw new Error(`buildModel: unknown model kind '${(spec as { kind: unknown }).kind}' (known: seg-net, rl-net, unet, resunet)`);
  }
}
