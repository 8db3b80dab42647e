/**
 * The seam between the agent formulations (rl.credit; issue 15, docs/rl-formulations.md) and their
 * callers: one factory for the trainer and one function for the greedy episode, whatever the
 * formulation.
 * - 'pixel': the paper's pixel-wise A2C (trainer.ts), agents of rl.patchSize (1 = per pixel).
 * - 'patch': the same A2C with one agent per rl.unitSize x rl.unitSize patch.
 * - 'counterfactual' / 'candidates': unit decisions with counterfactual credit (unit-trainer.ts).
 */
import type { RlConfig } from '@mrlseg/types';
import { createA2CTrainer, type A2CTrainer, type A2CTrainerOptions } from './trainer';
import { createUnitTrainer } from './unit-trainer';
import { isUnitCredit } from './unit-policy';

/** The RL config an A2C formulation runs with: 'patch' uses agents of rl.unitSize. */
export function effectiveRl(rl: RlConfig): RlConfig {
  return rl.credit === 'patch' ? { ...rl, patchSize: rl.unitSize } : rl;
}

/** The trainer of the config's formulation (same interface for all). */
export function createAgentTrainer(o: A2CTrainerOptions): A2CTrainer {
  if (!o || typeof o !== 'object' || !o.rl) throw new TypeError('createAgentTrainer: options {policyNet, segNet, rl, optimizer} are required');
  return isUnitCredit(o.rl) ? createUnitTrainer(o) : createA2CTrainer({ ...o, rl: effectiveRl(o.rl) });
}
