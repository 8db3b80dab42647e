/**
 * The demo's experiment (`mrlseg demo`): the five ablation variants of Table V on fold 0 of 4 of
 * the synthetic imbalanced dataset, sized to finish well within 15 minutes on 2 cores with the
 * wasm backend. `configs/synthetic-demo.json` is the same config as a file (a test keeps them equal).
 * The agent is the 'candidates' formulation (issue 15, docs/rl-formulations.md): one decision per
 * candidate structure of the pre-trained Segmentation-Net and per 16 x 16 patch of the rest, with
 * counterfactual credit, trained with Adam 1e-3; the synthetic slices carry two unlabelled
 * lesion-like distractors each. The paper's pixel-wise A2C stays selectable (rl.credit 'pixel',
 * with Adam 1e-4 and an entropy bonus of 5e-4: at PixelRL's 1e-3 / 0.01 its noise-dominated policy
 * gradient drifts to "mask everything", docs/results.md).
 */
import { ABLATION_VARIANTS, ExperimentConfigSchema, type ExperimentConfig, type ExperimentConfigInput } from '@mrlseg/types';

export const DEMO_CONFIG_INPUT: ExperimentConfigInput = {
  name: 'demo',
  dataset: { format: 'synthetic', intervals: 'ct', synthetic: { count: 160, slicesPerPatient: 8, size: 64, seed: 7, distractors: 2 } },
  preprocessing: { size: 64, augmentation: { enabled: true, flip: true, rot90: true, rotateDegrees: 0, intensityJitter: 0.05 } },
  model: { preset: 'custom', segNet: { channels: [8, 16, 32, 64], hidden: 64, layers: 1, heads: 2, mlp: 128, decoderChannels: [32, 16, 8, 8] } },
  rl: { episodeLength: 4, rewardFilterSize: 5, entropyCoef: 0.0005, credit: 'candidates', unitSize: 16 },
  training: {
    epochs: 12,
    batchSize: 8,
    lr: 0.003,
    lrSchedule: { type: 'step', stepSize: 8, factor: 0.3 },
    rlEpochs: 3,
    rlBatchSize: 8,
    rlLr: 0.001,
    validateEvery: 4,
    // 4 of the 15 training patients: with the default 0.15 (2 patients) the validation Dice that
    // selects each run's kept state was decided by two patients (docs/results.md, section 4).
    validationFraction: 0.25,
  },
  folds: { k: 4, only: [0] },
  seed: 0,
  variants: [...ABLATION_VARIANTS],
};

/** The parsed demo config. */
export function demoConfig(): ExperimentConfig {
  return ExperimentConfigSchema.parse(DEMO_CONFIG_INPUT);
}
