import { describe, expect, it } from 'vitest';
import { CaseAgentFractionsSchema, CaseMetricRecordSchema, EvaluateResultSchema } from '../src/index';

const base = {
  runId: 'r1',
  caseId: 'p1_0',
  patient: 'p1',
  fbRatio: 0.02,
  foregroundFraction: 0.02 / 1.02,
  interval: '2-4%',
  dice: 0.8,
  iou: 0.8 / 1.2,
  precision: 0.8,
  recall: 0.8,
  hd: 3,
  hd95: 2,
  assd: 1,
  nsd: 0.9,
  emptyGt: false,
  emptyPred: false,
};

describe('the agent fractions of a case record', () => {
  it('default to null when left out (records written before they existed, runs without an agent)', () => {
    expect(CaseMetricRecordSchema.parse(base)).toMatchObject({ maskedFraction: null, lesionMaskedFraction: null });
  });

  it('keep recorded values, a null lesion fraction (no lesion) included', () => {
    expect(CaseMetricRecordSchema.parse({ ...base, maskedFraction: 0.25, lesionMaskedFraction: null })).toMatchObject({ maskedFraction: 0.25, lesionMaskedFraction: null });
  });

  it.each([
    ['maskedFraction', 1.5],
    ['maskedFraction', -0.1],
    ['lesionMaskedFraction', 2],
  ])('reject %s = %d (a fraction lies in [0, 1]), naming the field', (field, v) => {
    const r = CaseAgentFractionsSchema.safeParse({ [field]: v });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0].path).toEqual([field]);
  });

  it('are not part of the two-mask evaluation response (no agent there)', () => {
    expect(Object.keys(EvaluateResultSchema.shape)).not.toContain('maskedFraction');
    expect(Object.keys(EvaluateResultSchema.shape)).not.toContain('lesionMaskedFraction');
  });
});
