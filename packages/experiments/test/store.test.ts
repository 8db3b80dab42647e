import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CaseMetricRecord } from '@mrlseg/types';
import { DB_FILE, SCHEMA_VERSION, openStore, type ResultsStore } from '../src/index';

const here = dirname(fileURLToPath(import.meta.url));
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mrlseg-store-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function seedRun(s: ResultsStore, id = 'r1', exp = 'e1'): void {
  if (!s.getExperiment(exp)) s.createExperiment({ id: exp, name: 'test', dataset: 'synthetic', config: { a: 1 }, configHash: 'abc', gitCommit: 'deadbeef' });
  s.startRun({ id, experimentId: exp, variant: 'rl-fb-adp-seg', fold: 0, seed: 7, dataset: 'synthetic', backend: 'cpu', gitCommit: 'deadbeef', config: { a: 1 }, packageVersions: { '@mrlseg/experiments': '0.1.0' } });
}

const kase = (runId: string, caseId: string, dice: number | null, hd: number | null, fbRatio: number, interval: string | null): CaseMetricRecord => ({
  runId,
  caseId,
  patient: caseId.split('_')[0],
  fbRatio,
  foregroundFraction: fbRatio / (1 + fbRatio),
  interval,
  dice,
  iou: dice === null ? null : dice / (2 - dice),
  precision: dice,
  recall: dice,
  hd,
  hd95: hd,
  assd: hd,
  nsd: null,
  emptyGt: dice === null,
  emptyPred: false,
});

describe('results store schema and migrations', () => {
  it('creates a fresh store at the current schema version with WAL journaling', () => {
    const s = openStore(dir);
    expect(s.schemaVersion).toBe(SCHEMA_VERSION);
    s.close();
    const db = new Database(join(dir, DB_FILE), { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
    expect(tables).toEqual(['cases', 'checkpoints', 'epochs', 'experiments', 'runs']);
    db.close();
    expect(existsSync(join(dir, 'artifacts'))).toBe(true);
  });

  it('migrates a version-0 database in place and reopens without re-applying', () => {
    new Database(join(dir, DB_FILE)).close();
    const s = openStore(dir);
    expect(s.schemaVersion).toBe(SCHEMA_VERSION);
    seedRun(s);
    s.close();
    const again = openStore(dir);
    expect(again.listRuns()).toHaveLength(1);
    again.close();
  });

  it('refuses a store from a newer toolkit and a missing or old store read-only, naming the folder', () => {
    expect(() => openStore(join(dir, 'nope'), { readonly: true })).toThrow(/no mrlseg\.sqlite there/);
    const db = new Database(join(dir, DB_FILE));
    db.pragma('user_version = 0');
    db.close();
    expect(() => openStore(dir, { readonly: true })).toThrow(/schema version 0, this toolkit reads/);
    const db2 = new Database(join(dir, DB_FILE));
    db2.pragma(`user_version = ${SCHEMA_VERSION + 5}`);
    db2.close();
    expect(() => openStore(dir)).toThrow(new RegExp(`schema version ${SCHEMA_VERSION + 5}, newer than`));
  });
});

describe('results store records', () => {
  it('round-trips runs, epochs, checkpoints and timings through the zod records', () => {
    const s = openStore(dir);
    seedRun(s);
    const ck = s.runDir('r1', 'checkpoints', 'pretrain-0');
    s.recordEpochCheckpoint({ runId: 'r1', phase: 'pretrain', epoch: 0, loss: 0.7, reward: null, valDice: 0.2, lr: 1e-3, durationMs: 12 }, ck);
    s.recordEpoch({ runId: 'r1', phase: 'rl', epoch: 0, loss: 0.1, reward: 0.03, valDice: null, lr: 1e-3, durationMs: 30 });
    s.addTimings('r1', { pretrain: 100 });
    const done = s.finishRun('r1', { status: 'completed', timings: { rl: 50, eval: 25 } });
    expect(done).toMatchObject({ status: 'completed', durationMs: 175, timings: { pretrain: 100, rl: 50, eval: 25 }, seed: 7, gitCommit: 'deadbeef', checkpointPath: ck });
    expect(done.packageVersions).toEqual({ '@mrlseg/experiments': '0.1.0' });
    expect(s.epochs('r1').map((e) => `${e.phase}:${e.epoch}`)).toEqual(['pretrain:0', 'rl:0']);
    expect(s.lastCheckpoint('r1')).toMatchObject({ phase: 'pretrain', epoch: 0, path: ck });
    expect(s.listExperiments()[0]).toMatchObject({ id: 'e1', config: { a: 1 }, configHash: 'abc' });
    expect(s.latestExperimentByHash('abc')?.id).toBe('e1');
    s.close();
  });

  it('lists cases by page, sorts with undefined metrics last and filters by interval', () => {
    const s = openStore(dir);
    seedRun(s);
    s.recordCases([
      kase('r1', 'p1_0', 0.9, 3, 0.01, '0-2%'),
      kase('r1', 'p1_1', null, null, 0, '0-2%'),
      kase('r1', 'p2_0', 0.5, 9, 0.03, '2-4%'),
      kase('r1', 'p2_1', 0.7, 4, 0.05, '4-6%'),
    ]);
    expect(s.listCases('r1', { sort: 'dice', order: 'desc' }).items.map((c) => c.caseId)).toEqual(['p1_0', 'p2_1', 'p2_0', 'p1_1']);
    expect(s.listCases('r1', { sort: 'dice', order: 'asc' }).items.map((c) => c.caseId)).toEqual(['p2_0', 'p2_1', 'p1_0', 'p1_1']);
    const page2 = s.listCases('r1', { pageSize: 3, page: 2 });
    expect(page2).toMatchObject({ total: 4, page: 2, pageSize: 3 });
    expect(page2.items.map((c) => c.caseId)).toEqual(['p2_1']);
    expect(s.listCases('r1', { interval: '0-2%' }).total).toBe(2);
    expect(s.getCase('r1', 'p1_1')).toMatchObject({ dice: null, hd: null, emptyGt: true });
    expect(s.getCase('r1', 'nope')).toBeUndefined();
    s.close();
  });

  it.each([
    ['../r1', 'c1', 'image', /run id/],
    ['r1', '../../etc', 'image', /case id/],
    ['r1', 'a/b', 'image', /case id/],
    ['r1', '.hidden', 'image', /case id/],
    ['r1', 'c1', 'secret', /artifact kind 'secret'/],
  ])('caseArtifactPath(%j, %j, %j) is rejected', (run, kaseId, kind, msg) => {
    const s = openStore(dir);
    expect(() => s.caseArtifactPath(run, kaseId, kind as 'image')).toThrow(msg);
    s.close();
  });

  it('writes case PNGs under artifacts/<run>/cases/<case>/<kind>.png', () => {
    const s = openStore(dir);
    const p = s.writeCaseArtifact('r1', 'benign (31)_0', 'actions', new Uint8Array([1, 2, 3]));
    expect(p).toBe(join(dir, 'artifacts', 'r1', 'cases', 'benign (31)_0', 'actions.png'));
    expect(p.startsWith(s.artifactsDir + sep)).toBe(true);
    expect(existsSync(p)).toBe(true);
    s.close();
  });

  it('read-only stores refuse writes', () => {
    openStore(dir).close();
    const ro = openStore(dir, { readonly: true });
    expect(() => seedRun(ro)).toThrow(/opened read-only/);
    ro.close();
  });
});

describe('crash safety', () => {
  it('a writer killed mid-transaction leaves a readable store with its run incomplete and no partial rows', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'fixtures', 'killed-writer.ts'), dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += String(d)));
    await new Promise<void>((res, rej) => {
      child.stdout.on('data', (d) => {
        if (String(d).includes('in-transaction')) res();
      });
      child.on('exit', (code) => rej(new Error(`child exited early (${code}): ${err}`)));
    });
    child.removeAllListeners('exit');
    const exited = new Promise((res) => child.on('exit', res));
    child.kill('SIGKILL');
    await exited;

    const ro = openStore(dir, { readonly: true });
    expect(ro.getRun('run1')?.status).toBe('incomplete');
    expect(ro.epochs('run1')).toHaveLength(1);
    expect(ro.listCases('run1').total).toBe(0);
    ro.close();
    const rw = openStore(dir);
    expect(rw.getRun('run1')).toMatchObject({ status: 'incomplete', error: expect.stringMatching(/--resume/) });
    rw.close();
  });

  it('a run owned by this live process stays running', () => {
    const s = openStore(dir);
    seedRun(s);
    s.close();
    const again = openStore(dir);
    expect(again.getRun('r1')?.status).toBe('running');
    expect(() => seedRun(again)).toThrow(/another live process/);
    again.close();
  });
});
