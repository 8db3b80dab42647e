/**
 * A real results store for the API tests, written through @mrlseg/experiments' store API: one
 * experiment, a completed run with an ONNX export (the tiny exact model) and six cases with PNG
 * artifacts and training curves, and a second (baseline) run over the same cases without a model.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '@mrlseg/experiments';
import { encodeGreyPng } from '@mrlseg/data';
import type { CaseMetricRecordInput } from '@mrlseg/types';
import { writeTinyModel } from './tiny-onnx';

export const EXPERIMENT = 'exp-demo';
export const RUN = 'exp-demo_onlyseg_f0';
export const RUN_NO_MODEL = 'exp-demo_unet_f0';
export const MODEL_SIZE = 32;

/** Six cases: dice, hd and fbRatio chosen so every sort order is distinct and checkable. */
export const CASES: Omit<CaseMetricRecordInput, 'runId'>[] = [
  { caseId: 'c01', patient: 'p1', fbRatio: 0.01, foregroundFraction: 0.0099, interval: '0-2%', dice: 0.5, iou: 0.33, precision: 0.5, recall: 0.5, hd: 9, hd95: 8, assd: 2, nsd: 0.4, emptyGt: false, emptyPred: false },
  { caseId: 'c02', patient: 'p1', fbRatio: 0.03, foregroundFraction: 0.029, interval: '2-4%', dice: 0.9, iou: 0.82, precision: 0.9, recall: 0.9, hd: 2, hd95: 1.5, assd: 0.5, nsd: 0.95, emptyGt: false, emptyPred: false },
  { caseId: 'c03', patient: 'p2', fbRatio: 0.015, foregroundFraction: 0.0148, interval: '0-2%', dice: 0.7, iou: 0.54, precision: 0.7, recall: 0.7, hd: 5, hd95: 4, assd: 1, nsd: 0.7, emptyGt: false, emptyPred: false },
  { caseId: 'c04', patient: 'p2', fbRatio: 0.05, foregroundFraction: 0.048, interval: '4-6%', dice: 0.8, iou: 0.67, precision: 0.8, recall: 0.8, hd: 3, hd95: 2.5, assd: 0.8, nsd: 0.9, emptyGt: false, emptyPred: false },
  { caseId: 'c05', patient: 'p3', fbRatio: 0.005, foregroundFraction: 0.005, interval: '0-2%', dice: 0, iou: 0, precision: null, recall: 0, hd: null, hd95: null, assd: null, nsd: 0, emptyGt: false, emptyPred: true },
  { caseId: 'c06', patient: 'p3', fbRatio: 0.025, foregroundFraction: 0.024, interval: '2-4%', dice: 0.6, iou: 0.43, precision: 0.6, recall: 0.6, hd: 7, hd95: 6, assd: 1.5, nsd: 0.6, emptyGt: false, emptyPred: false },
];

export interface Fixture {
  dir: string;
  modelPath: string;
  /** PNG bytes written for c01, by kind. */
  artifacts: Record<'image' | 'prediction' | 'groundTruth' | 'actions', Buffer>;
  cleanup(): void;
}

export async function makeFixtureStore(): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'mrlseg-api-store-'));
  const store = await openStore(dir);
  try {
    await store.createExperiment({ id: EXPERIMENT, name: 'demo', dataset: 'synthetic', config: { data: { size: MODEL_SIZE } }, configHash: 'h1', gitCommit: null });
    for (const [id, variant] of [[RUN, 'onlyseg'], [RUN_NO_MODEL, 'unet']] as const) {
      await store.startRun({ id, experimentId: EXPERIMENT, variant, fold: 0, seed: 1, dataset: 'synthetic', backend: 'cpu', gitCommit: null, config: {} });
    }
    const modelPath = writeTinyModel(join(store.runDir(RUN), 'model.onnx'), { size: MODEL_SIZE, actions: true });
    await store.recordCases(CASES.map((c) => ({ ...c, runId: RUN })));
    // The baseline run: the same held-out cases, each Dice 0.05 lower (so the report pairs them).
    await store.recordCases(CASES.map((c) => ({ ...c, runId: RUN_NO_MODEL, dice: c.dice === null ? null : Math.max(0, c.dice - 0.05) })));
    const img = new Uint8Array(16 * 16).map((_, i) => i % 256);
    const gt = new Uint8Array(16 * 16).map((_, i) => (i % 16 < 8 ? 1 : 0));
    const pred = new Uint8Array(16 * 16).map((_, i) => (i % 16 < 6 ? 1 : 0));
    const act = new Uint8Array(16 * 16).map((_, i) => (i < 64 ? 1 : 0));
    const artifacts = {
      image: await encodeGreyPng(img, 16, 16),
      prediction: await encodeGreyPng(pred, 16, 16, { binary: true }),
      groundTruth: await encodeGreyPng(gt, 16, 16, { binary: true }),
      actions: await encodeGreyPng(act, 16, 16, { binary: true }),
    };
    for (const [kind, png] of Object.entries(artifacts)) store.writeCaseArtifact(RUN, 'c01', kind as keyof typeof artifacts, png);
    for (let e = 0; e < 3; e++) (await store.recordEpoch({ runId: RUN, phase: 'pretrain', epoch: e, loss: 1 / (e + 1), reward: null, valDice: 0.2 * e, lr: 0.01, durationMs: 10 }));
    await store.finishRun(RUN, { status: 'completed', timings: { pretrain: 30 }, onnxPath: modelPath });
    await store.finishRun(RUN_NO_MODEL, { status: 'completed', timings: { pretrain: 20 } });
    return { dir, modelPath, artifacts, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
  } finally {
    await store.close();
  }
}
