/**
 * The rewards of MRL-Seg (Yang et al., IEEE JBHI 2024, Sections III-B and III-C), one equation per
 * file, pure functions on B x H x W x 1 tensors.
 */
export { computePixelCrossEntropy, DEFAULT_CE_EPS } from './pixel-cross-entropy';
export { computeLocalReward } from './local-reward';
export {
  computeFbRatio,
  computeFbTerm,
  computeFbReward,
  DEFAULT_FB_EPS,
  type FbRewardOptions,
  type FbScale,
} from './fb-reward';
export { computeAdp, DEFAULT_ADP_WINDOW } from './adp';
export { createRewardFilter, applyRewardFilter, computeNStepReturns, type NStepReturnInput } from './n-step-return';
export { computeStepReward, fbOptionsFromConfig, type StepReward } from './step-reward';
export { computeStateValue, type StateValueOptions } from './state-value';
export { computeDiceStateValue, DICE_VALUE_SCALE } from './dice-state-value';
