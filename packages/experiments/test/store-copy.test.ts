import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { copyStore, openStore, type ResultsStore } from '../src/index';
import { pgMissing, postgresBackend, removeScratch, scratch } from './helpers';

afterEach(() => removeScratch());

/** A small store: two experiments, an RL run with a curve, a checkpoint, cases and PNGs, a failed run, and a run still 'running'. */
async function fill(s: ResultsStore): Promise<void> {
  for (const e of ['e1', 'e2']) await s.createExperiment({ id: e, name: `exp ${e}`, dataset: 'synthetic', config: { k: e }, configHash: `h-${e}`, gitCommit: 'abc1234', author: e === 'e1' ? 'ada' : null });
  await s.startRun({ id: 'e1-rl', experimentId: 'e1', variant: 'rl-fb-adp-seg', fold: 1, seed: 3, dataset: 'synthetic', backend: 'wasm', gitCommit: 'abc1234', config: { lr: 0.25 }, packageVersions: { x: '1.0.0' } });
  for (const e of [0, 1]) await s.recordEpoch({ runId: 'e1-rl', phase: 'pretrain', epoch: e, loss: 0.5 / (e + 1), reward: null, valDice: 0.125 * e, lr: 0.001, durationMs: 10 + e });
  await s.recordEpochCheckpoint({ runId: 'e1-rl', phase: 'rl', epoch: 0, loss: 0.75, reward: 0.0625, valDice: 0.5, lr: 0.001, durationMs: 20 }, s.runDir('e1-rl', 'checkpoints', 'rl-0'));
  await s.recordCases(
    ['a_0', 'b_1', 'c_2'].map((caseId, i) => ({
      runId: 'e1-rl', caseId, patient: caseId[0], fbRatio: 0.01 * (i + 1), foregroundFraction: 0.01, interval: '0-2%', dice: i === 2 ? null : 0.5 + i / 8, iou: null, precision: 0.5, recall: 0.25,
      hd: i === 2 ? null : 3 + i, hd95: 2, assd: 1, nsd: null, emptyGt: i === 2, emptyPred: false, maskedFraction: 0.125 * i, lesionMaskedFraction: i === 1 ? null : 0.5,
    })),
  );
  s.writeCaseArtifact('e1-rl', 'a_0', 'image', new Uint8Array([137, 80, 78, 71, 1, 2, 3]));
  await s.finishRun('e1-rl', { status: 'completed', timings: { pretrain: 21, rl: 20 } });
  await s.startRun({ id: 'e2-bad', experimentId: 'e2', variant: 'onlyseg', fold: 0, seed: 0, dataset: 'synthetic', backend: 'cpu', gitCommit: null, config: {} });
  await s.finishRun('e2-bad', { status: 'failed', error: 'out of memory' });
  await s.startRun({ id: 'e2-live', experimentId: 'e2', variant: 'onlyseg', fold: 1, seed: 0, dataset: 'synthetic', backend: 'cpu', gitCommit: null, config: {} });
}

/** Everything a reader sees, with artifact paths relative to the store's artifacts folder. */
async function snapshot(s: ResultsStore) {
  const rel = (p: string | null) => (p === null ? null : p.startsWith(`${s.artifactsDir}/`) ? p.slice(s.artifactsDir!.length + 1) : p);
  const runs = await s.listRuns();
  return {
    experiments: await s.listExperiments(),
    runs: runs.map((r) => ({ ...r, checkpointPath: rel(r.checkpointPath), onnxPath: rel(r.onnxPath) })),
    epochs: await Promise.all(runs.map((r) => s.epochs(r.id))),
    checkpoints: (await Promise.all(runs.map((r) => s.checkpoints(r.id)))).map((cs) => cs.map((c) => ({ ...c, path: rel(c.path) }))),
    cases: await Promise.all(runs.map((r) => s.allCases(r.id))),
  };
}

describe.skipIf(pgMissing)('store copy between SQLite and PostgreSQL', () => {
  const pgb = postgresBackend();
  beforeAll(() => pgb.start(), 60_000);
  afterAll(() => pgb.stop(), 30_000);

  it('SQLite -> PostgreSQL -> SQLite keeps every record and file; a repeated copy skips what is there', async () => {
    const a = scratch();
    const s = await openStore(a);
    await fill(s);
    const before = await snapshot(s);
    // the run still running in another process is copied as incomplete (the copy cannot know its owner)
    const expected = { ...before, runs: before.runs.map((r) => (r.id === 'e2-live' ? { ...r, status: 'incomplete' as const, error: expect.stringMatching(/copied from .* while running/) } : r)) };
    const pgLoc = await pgb.fresh();
    const r1 = await copyStore(a, pgLoc.location, { toArtifacts: pgLoc.artifacts });
    expect(r1).toMatchObject({ experiments: ['e1', 'e2'], skipped: [], runs: 3, epochs: 3, cases: 3, filesCopied: true });
    expect(existsSync(join(pgLoc.artifacts, 'e1-rl', 'cases', 'a_0', 'image.png'))).toBe(true);
    await s.close();

    const p = await openStore(pgLoc.location, { readonly: true, artifacts: pgLoc.artifacts });
    expect(await snapshot(p)).toEqual(expected);
    expect(readFileSync(p.caseArtifactPath('e1-rl', 'a_0', 'image'))).toEqual(Buffer.from([137, 80, 78, 71, 1, 2, 3]));
    expect((await p.lastCheckpoint('e1-rl'))?.path).toBe(join(pgLoc.artifacts, 'e1-rl', 'checkpoints', 'rl-0'));
    await p.close();

    const b = scratch();
    const r2 = await copyStore(pgLoc.location, b, { fromArtifacts: pgLoc.artifacts });
    expect(r2).toMatchObject({ experiments: ['e1', 'e2'], runs: 3, cases: 3, filesCopied: true });
    const back = await openStore(b, { readonly: true });
    expect(await snapshot(back)).toEqual(expected);
    expect(existsSync(join(b, 'artifacts', 'e1-rl', 'checkpoints', 'rl-0'))).toBe(true);
    await back.close();

    const again = await copyStore(a, pgLoc.location, { toArtifacts: pgLoc.artifacts });
    expect(again).toMatchObject({ experiments: [], skipped: ['e1', 'e2'], runs: 0 });
  }, 60_000);

  it('refuses a PostgreSQL destination without an artifacts folder, and copying a store onto itself', async () => {
    const a = scratch();
    await (await openStore(a)).close();
    const pgLoc = await pgb.fresh();
    await expect(copyStore(a, pgLoc.location)).rejects.toThrow(/needs --artifacts/);
    await expect(copyStore(a, a)).rejects.toThrow(/same store/);
  });
});
