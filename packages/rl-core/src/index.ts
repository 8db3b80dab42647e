/**
 * rl-core: the Representation-Net environment and the pixel-wise A2C trainer of MRL-Seg
 * (Yang et al., IEEE JBHI 2024, Section III). Networks come in as tf.LayersModel (see networks.ts
 * for the I/O contract); @mrlseg/experiments wires the real ones from @mrlseg/models.
 */
export { forwardPolicy, forwardSegmentation, policyVariables, trainableVariables, type PolicyOutput } from './networks';
export {
  ACTION_MASK,
  ACTION_RETAIN,
  representState,
  applyActions,
  policyInput,
  agentProbabilities,
  agentToPixels,
  pixelsToAgents,
  chooseActions,
} from './environment';
export { collectEpisode, zeroTimings, type Episode, type CollectEpisodeOptions, type PhaseTimings } from './rollout';
export { computeActorCriticLoss, stopGradient, PROB_EPS, ADVANTAGE_EPS, type ActorCriticLoss } from './loss';
export {
  createA2CTrainer,
  meanPixelCrossEntropy,
  type A2CTrainer,
  type A2CTrainerOptions,
  type TrainStepResult,
  type SegLossFn,
} from './trainer';
export { runEpisodeDeterministic, representGreedy, type DeterministicEpisode } from './inference';
export { createAgentTrainer, effectiveRl } from './agent';
export { patchUnits, candidateUnits, superpixelPartition, partitionUnits, foregroundUnits, type UnitMap } from './units';
export { isUnitCredit, plainUnitMaps, retainedOfUnits, unitGreedy, unitMapsOf, unitPolicyInput, type UnitGreedy } from './unit-policy';
export { computeCounterfactualCredit } from './counterfactual-credit';
export { combineCommitteeCredits, computeCommitteeCredit } from './committee-credit';
export { computeSafeCredit } from './safe-credit';
export { createUnitTrainer, creditTargets, labelOptionsOf, unitLabels, unitLogisticLoss, unitMeanLogisticLoss, type LabelOptions, type UnitLabels } from './unit-trainer';
