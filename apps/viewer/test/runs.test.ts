import { describe, expect, it } from 'vitest';
import type { RunRecord, RunSummary } from '@mrlseg/types';
import { bestRun, latestExperiment, orderRuns, selectionStates } from '../src/lib/runs';
import { EXPERIMENT, makeRun } from './fixtures';

const summary = (meanDice: number | null, meanHd: number | null, maskedFraction: number | null = null): RunSummary => ({
  cases: 4,
  meanDice,
  diceCases: meanDice === null ? 0 : 4,
  meanHd,
  hdCases: meanHd === null ? 0 : 4,
  maskedFraction,
  maskedCases: maskedFraction === null ? 0 : 4,
});
const older = { ...EXPERIMENT, id: 'exp0', createdAt: '2026-11-01T00:00:00.000Z' };
const newer = { ...EXPERIMENT, id: 'exp2', createdAt: '2026-12-01T00:00:00.000Z' };
const run = (id: string, exp: string, s: RunSummary | null, variant: RunRecord['variant'] = 'onlyseg') => makeRun(id, variant, { experimentId: exp, summary: s });

describe('runs the viewer leads with', () => {
  const runs = [
    run('a', 'exp0', summary(0.9, 2)),
    run('b', 'exp2', summary(0.6, 5, 0.2)),
    run('c', 'exp2', null),
    run('d', 'exp2', summary(0.8, 7, 0.1)),
    run('e', 'exp2', summary(0.7, 3)),
  ];

  it('picks the experiment created last, wherever it is in the list', () => {
    expect(latestExperiment([older, newer, EXPERIMENT])?.id).toBe('exp2');
    expect(latestExperiment([])).toBeUndefined();
  });

  it('orders the newest experiment first, then by mean Dice best first, runs without a summary last', () => {
    expect(orderRuns(runs, [older, newer]).map((r) => r.id)).toEqual(['d', 'e', 'b', 'c', 'a']);
  });

  it('sorts by HD ascending or masked fraction descending within each experiment, missing values last in store order', () => {
    expect(orderRuns(runs, [older, newer], { key: 'hd', order: 'asc' }).map((r) => r.id)).toEqual(['e', 'b', 'd', 'c', 'a']);
    expect(orderRuns(runs, [older, newer], { key: 'masked', order: 'desc' }).map((r) => r.id)).toEqual(['b', 'd', 'c', 'e', 'a']);
    expect(orderRuns(runs, [older, newer], { key: 'dice', order: 'asc' }).map((r) => r.id)).toEqual(['b', 'e', 'd', 'c', 'a']);
  });

  it("best run: the experiment's highest mean Dice; a run without results only when no run has any", () => {
    expect(bestRun(runs.filter((r) => r.experimentId === 'exp2'))?.id).toBe('d');
    expect(bestRun([run('x', 'exp2', null), run('y', 'exp2', null)])?.id).toBe('x');
    expect(bestRun([])).toBeUndefined();
  });
});

describe('selectionStates', () => {
  it('lists each state with its validation Dice, and agent states with the lesion share they mask, marked when ruled out', () => {
    expect(selectionStates({ chosen: 'rl-1', valDice: { pretrained: 0.5, 'rl-1': 0.6234 }, validationCases: 4 })).toBe('pretrained 50.0 %, rl-1 62.3 %');
    expect(
      selectionStates({ chosen: 'pretrained', valDice: { pretrained: 0.5, 'rl-1': 0.6, 'rl-2': null }, validationCases: 4, lesionMasked: { 'rl-1': 0.186, 'rl-2': 0.02 }, maxLesionMasked: 0.02 }),
    ).toBe('pretrained 50.0 %, rl-1 60.0 % (masks 18.6 % of the lesion pixels: above 2.0 %, ruled out), rl-2 n/a (masks 2.0 % of the lesion pixels)');
  });
});
