import type { CaseAgentFractions, CaseMetricRecord, EpochRecord, ExperimentRecord, RunRecord } from '@mrlseg/types';

export const EXPERIMENT: ExperimentRecord = {
  id: 'exp1',
  name: 'demo ablation',
  dataset: 'synthetic',
  config: {},
  configHash: 'abc',
  createdAt: '2026-11-29T10:00:00.000Z',
  gitCommit: '0123456789abcdef',
  author: 'ada',
};

export function makeRun(id: string, variant: RunRecord['variant'], patch: Partial<RunRecord> = {}): RunRecord {
  return {
    id,
    experimentId: 'exp1',
    variant,
    fold: 0,
    seed: 1,
    status: 'completed',
    dataset: 'synthetic',
    backend: 'wasm',
    gitCommit: null,
    config: { dataset: { intervals: 'ct', format: 'synthetic' }, preprocessing: { size: 32 }, rl: { useFb: variant.includes('fb'), useAdp: variant.includes('adp'), pretrain: true } },
    startedAt: '2026-11-29T10:00:00.000Z',
    finishedAt: '2026-11-29T10:01:05.000Z',
    durationMs: 65_000,
    timings: {},
    checkpointPath: null,
    onnxPath: `/store/${id}.onnx`,
    packageVersions: {},
    error: null,
    selection: null,
    host: 'gpu-1',
    lastEpoch: null,
    ...patch,
  };
}

/** fbRatio is a fraction (0.01 = 1 %, interval 0-2%). */
export function makeCase(runId: string, caseId: string, fbRatio: number, dice: number | null, hd: number | null, agent: CaseAgentFractions = { maskedFraction: null, lesionMaskedFraction: null }): CaseMetricRecord {
  return {
    runId,
    caseId,
    patient: caseId.split('-')[0],
    fbRatio,
    foregroundFraction: fbRatio / (1 + fbRatio),
    interval: null,
    dice,
    iou: dice === null ? null : dice / (2 - dice),
    precision: null,
    recall: null,
    hd,
    hd95: hd,
    assd: null,
    nsd: null,
    emptyGt: false,
    emptyPred: dice === null,
    ...agent,
  };
}

export function makeEpoch(runId: string, phase: EpochRecord['phase'], epoch: number, loss: number, valDice: number | null, reward: number | null = null): EpochRecord {
  return { runId, phase, epoch, loss, reward, valDice, lr: 0.001, durationMs: 1000, stats: null };
}
