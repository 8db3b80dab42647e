/**
 * Validation-based selection with training.selectMaxLesionMasked (issue 15): offers worked by hand.
 */
import { describe, expect, it } from 'vitest';
import type { RunSelection } from '@mrlseg/types';
import { lesionRuleAllows, offerToSelection, type SelectionOffer } from '../src/pipeline/selection';

/** Offers `offers` in order; returns the record after each and which offers became the kept state. */
function offerAll(offers: SelectionOffer[], maxLesionMasked: number | null) {
  let sel: RunSelection | null = null;
  const kept: string[] = [];
  for (const o of offers) {
    const { next, improved } = offerToSelection(sel, o, { maxLesionMasked, validationCases: 4 });
    if (improved) kept.push(o.tag);
    sel = next;
  }
  return { sel: sel!, kept };
}

describe('offerToSelection', () => {
  const offers: SelectionOffer[] = [
    { tag: 'pretrained', valDice: 0.5, lesionMasked: null },
    { tag: 'rl-1', valDice: 0.6, lesionMasked: 0.1 }, // best Dice, masks 10 % of the lesion pixels
    { tag: 'rl-2', valDice: 0.55, lesionMasked: 0 },
    { tag: 'rl-3', valDice: 0.55, lesionMasked: 0.01 }, // a tie keeps the earlier state
    { tag: 'rl-4', valDice: 0.58, lesionMasked: 0.02 }, // exactly at the limit: allowed
  ];

  it('without the rule: the best validation Dice, ties to the earlier state; the lesion shares are still recorded', () => {
    const { sel, kept } = offerAll(offers, null);
    expect(kept).toEqual(['pretrained', 'rl-1']);
    expect(sel.chosen).toBe('rl-1');
    expect(sel.valDice).toEqual({ pretrained: 0.5, 'rl-1': 0.6, 'rl-2': 0.55, 'rl-3': 0.55, 'rl-4': 0.58 });
    expect(sel.lesionMasked).toEqual({ 'rl-1': 0.1, 'rl-2': 0, 'rl-3': 0.01, 'rl-4': 0.02 });
    expect(sel.maxLesionMasked).toBeUndefined();
  });

  it('with the rule at 2 %: a state above it is recorded but not kept; the best allowed state is', () => {
    const { sel, kept } = offerAll(offers, 0.02);
    expect(kept).toEqual(['pretrained', 'rl-2', 'rl-4']);
    expect(sel.chosen).toBe('rl-4');
    expect(sel.valDice['rl-1']).toBe(0.6);
    expect(sel.maxLesionMasked).toBe(0.02);
    // Only the pre-trained network is allowed: it stays.
    expect(offerAll(offers.slice(0, 2), 0.02).sel.chosen).toBe('pretrained');
  });

  it('without an allowed state (no pre-trained network offered) the best ruled-out one is kept until an allowed one comes', () => {
    const { sel, kept } = offerAll(
      [
        { tag: 'rl-1', valDice: 0.3, lesionMasked: 0.5 },
        { tag: 'rl-2', valDice: 0.4, lesionMasked: 0.4 },
        { tag: 'rl-3', valDice: 0.1, lesionMasked: 0 },
        { tag: 'rl-4', valDice: 0.9, lesionMasked: 0.3 },
      ],
      0.02,
    );
    expect(kept).toEqual(['rl-1', 'rl-2', 'rl-3']);
    expect(sel.chosen).toBe('rl-3');
  });

  it('lesionRuleAllows: off, no share, at and above the limit', () => {
    expect(lesionRuleAllows(0.9, null)).toBe(true);
    expect(lesionRuleAllows(null, 0)).toBe(true);
    expect(lesionRuleAllows(undefined, 0)).toBe(true);
    expect(lesionRuleAllows(0.02, 0.02)).toBe(true);
    expect(lesionRuleAllows(0.0201, 0.02)).toBe(false);
  });
});
