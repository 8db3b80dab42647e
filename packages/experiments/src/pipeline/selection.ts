/**
 * Validation-based selection (training.select 'validation', issue 15): which of a run's states
 * (its pre-trained network with the agent off, each RL or fine-tuning epoch) it keeps. A state is
 * offered once, after it is validated; the kept one is the best by validation Dice among the states
 * that training.selectMaxLesionMasked allows (agent states whose greedy policy masks at most that
 * share of the validation lesion pixels; states without an agent, or without lesion pixels to
 * mask, always pass). A state that the rule rules out is kept only while no allowed state has been
 * offered (so a run always keeps something), and ties keep the earlier state.
 */
import type { RunSelection } from '@mrlseg/types';

/** Does training.selectMaxLesionMasked (`max`, null = off) allow a state whose agent masks `lesionMasked` of the validation lesion pixels? */
export function lesionRuleAllows(lesionMasked: number | null | undefined, max: number | null): boolean {
  return max === null || lesionMasked == null || lesionMasked <= max;
}

export interface SelectionOffer {
  /** 'pretrained' or '<phase>-<epoch>' (1-based epoch). */
  tag: string;
  valDice: number;
  /** Share (0-1) of the validation lesion pixels the state's greedy policy masks; null: no agent, or no lesion pixel. */
  lesionMasked: number | null;
}

/**
 * The selection after one more state is offered.
 * @returns the next record and whether the offered state is now the kept one (its networks must be saved).
 */
export function offerToSelection(selection: RunSelection | null, offer: SelectionOffer, o: { maxLesionMasked: number | null; validationCases: number }): { next: RunSelection; improved: boolean } {
  const max = o.maxLesionMasked;
  const allowed = lesionRuleAllows(offer.lesionMasked, max);
  const chosenAllowed = selection !== null && lesionRuleAllows(selection.lesionMasked?.[selection.chosen], max);
  const best = selection ? (selection.valDice[selection.chosen] ?? -Infinity) : -Infinity;
  const improved = selection === null || (allowed ? !chosenAllowed || offer.valDice > best : !chosenAllowed && offer.valDice > best);
  const lesionMasked = { ...(selection?.lesionMasked ?? {}), ...(offer.lesionMasked !== null ? { [offer.tag]: offer.lesionMasked } : {}) };
  return {
    improved,
    next: {
      chosen: improved ? offer.tag : selection!.chosen,
      valDice: { ...(selection?.valDice ?? {}), [offer.tag]: offer.valDice },
      validationCases: o.validationCases,
      ...(Object.keys(lesionMasked).length ? { lesionMasked } : {}),
      ...(max !== null ? { maxLesionMasked: max } : {}),
    },
  };
}
