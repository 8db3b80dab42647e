import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CaseAgentFractions, CaseMetricRecord } from '@mrlseg/types';
import { DB_FILE, MIGRATIONS, READ_ONLY_MIN_VERSION, SCHEMA_VERSION, buildReport, openStore, renderReport, type ResultsStore } from '../src/index';

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

const NO_AGENT: CaseAgentFractions = { maskedFraction: null, lesionMaskedFraction: null };
const kase = (runId: string, caseId: string, dice: number | null, hd: number | null, fbRatio: number, interval: string | null, agent = NO_AGENT): CaseMetricRecord => ({
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
  ...agent,
});

/**
 * A store as the toolkit wrote it at schema version 1 (before the agent fractions): the version-1
 * migration's tables, one completed RL run and two cases inserted with version-1 columns only.
 */
function writeVersion1Store(at: string): void {
  const db = new Database(join(at, DB_FILE));
  db.transaction(() => {
    MIGRATIONS.find((m) => m.version === 1)!.up(db);
    db.pragma('user_version = 1');
  })();
  db.prepare("INSERT INTO experiments (id, name, dataset, config, config_hash, created_at, git_commit) VALUES ('e1', 'old', 'synthetic', '{}', 'h', '2024-01-01T00:00:00Z', NULL)").run();
  db.prepare(
    `INSERT INTO runs (id, experiment_id, variant, fold, seed, status, dataset, backend, config, started_at, finished_at)
     VALUES ('r1', 'e1', 'rl-seg', 0, 1, 'completed', 'synthetic', 'cpu', '{}', '2024-01-01T00:00:00Z', '2024-01-01T00:01:00Z')`,
  ).run();
  const ins = db.prepare(
    `INSERT INTO cases (run_id, case_id, patient, fb_ratio, foreground_fraction, interval, dice, iou, precision, recall, hd, hd95, assd, nsd, empty_gt, empty_pred)
     VALUES ('r1', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  for (const c of [kase('r1', 'p1_0', 0.8, 4, 0.01, '0-2%'), kase('r1', 'p2_0', 0.6, 6, 0.03, '2-4%')]) {
    ins.run(c.caseId, c.patient, c.fbRatio, c.foregroundFraction, c.interval, c.dice, c.iou, c.precision, c.recall, c.hd, c.hd95, c.assd, c.nsd, 0, 0);
  }
  db.close();
}

describe('results store schema and migrations', () => {
  it('creates a fresh store at the current schema version with WAL journaling', () => {
    const s = openStore(dir);
    expect(s.schemaVersion).toBe(SCHEMA_VERSION);
    s.close();
    const db = new Database(join(dir, DB_FILE), { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
    expect(tables).toEqual(['api_tokens', 'cases', 'checkpoints', 'epochs', 'experiments', 'runs']);
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

  it('upgrades a version-1 store in place: every row survives and the new case columns are NULL', () => {
    writeVersion1Store(dir);
    const s = openStore(dir);
    expect(s.schemaVersion).toBe(SCHEMA_VERSION);
    expect(s.getRun('r1')).toMatchObject({ status: 'completed', variant: 'rl-seg' });
    expect(s.allCases('r1')).toEqual([kase('r1', 'p1_0', 0.8, 4, 0.01, '0-2%'), kase('r1', 'p2_0', 0.6, 6, 0.03, '2-4%')]);
    s.close();
    const db = new Database(join(dir, DB_FILE), { readonly: true });
    const cols = (db.prepare('PRAGMA table_info(cases)').all() as { name: string; type: string }[]).map((c) => `${c.name} ${c.type}`);
    expect(cols.slice(-2)).toEqual(['masked_fraction REAL', 'lesion_masked_fraction REAL']);
    expect(db.prepare('SELECT COUNT(*) AS n FROM cases WHERE masked_fraction IS NULL AND lesion_masked_fraction IS NULL').get()).toEqual({ n: 2 });
    db.close();
    // the migrated store takes the new fields; a re-evaluation (replaceCases) backfills them
    const again = openStore(dir);
    again.replaceCases('r1', [kase('r1', 'p1_0', 0.8, 4, 0.01, '0-2%', { maskedFraction: 0.25, lesionMaskedFraction: 0.5 }), kase('r1', 'p2_0', 0.6, 6, 0.03, '2-4%', { maskedFraction: 0.125, lesionMaskedFraction: null })]);
    expect(again.allCases('r1').map((c) => [c.maskedFraction, c.lesionMaskedFraction])).toEqual([
      [0.25, 0.5],
      [0.125, null],
    ]);
    // a record written without the fields (as callers of schema 1 did) stores NULL
    const { maskedFraction: _m, lesionMaskedFraction: _l, ...plain } = kase('r1', 'p3_0', 0.7, 5, 0.02, '2-4%');
    void _m;
    void _l;
    again.recordCases([plain]);
    expect(again.getCase('r1', 'p3_0')).toMatchObject({ dice: 0.7, maskedFraction: null, lesionMaskedFraction: null });
    again.close();
  });

  it('reads a version-1 store read-only without migrating it, the agent fractions null and reported n/a', () => {
    writeVersion1Store(dir);
    expect(READ_ONLY_MIN_VERSION).toBe(1);
    const ro = openStore(dir, { readonly: true });
    expect(ro.schemaVersion).toBe(1);
    expect(ro.listCases('r1', { sort: 'dice' }).items.map((c) => [c.caseId, c.maskedFraction, c.lesionMaskedFraction])).toEqual([
      ['p2_0', null, null],
      ['p1_0', null, null],
    ]);
    // the run summary reads the version-1 columns only: no masked fraction
    expect(ro.getRun('r1')?.summary).toEqual({ cases: 2, meanDice: 0.7, diceCases: 2, meanHd: 5, hdCases: 2, maskedFraction: null, maskedCases: 0 });
    const report = buildReport(ro);
    expect(report.variants[0].agent).toEqual({ maskedFraction: null, lesionMaskedFraction: null, cases: 2, recorded: 0, withLesion: 0 });
    expect(renderReport(report, 'md')).toMatch(/Masked by the agent .*: RL\+Seg n\/a \(not recorded/);
    ro.close();
    const db = new Database(join(dir, DB_FILE), { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(1);
    db.close();
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
  it("summarises each run's cases: means over the defined values only, with their counts", () => {
    const s = openStore(dir);
    seedRun(s, 'r1');
    seedRun(s, 'r2');
    seedRun(s, 'r3');
    const a = (m: number) => ({ maskedFraction: m, lesionMaskedFraction: null });
    // r1: Dice 0.9, 0.6, undefined (both masks empty) and 0 -> 0.5 over 3; HD 2, 4 and two undefined -> 3 over 2;
    // masked 0.1, 0.2, 0.3 (one case not recorded) -> 0.2 over 3.
    s.recordCases([
      kase('r1', 'p1_0', 0.9, 2, 0.01, '0-2%', a(0.1)),
      kase('r1', 'p1_1', 0.6, 4, 0.01, '0-2%', a(0.2)),
      kase('r1', 'p2_0', null, null, 0.05, '4-6%', a(0.3)),
      kase('r1', 'p2_1', 0, null, 0.05, '4-6%'),
    ]);
    // r2: one case, no agent.
    s.recordCases([kase('r2', 'p1_0', 0.5, 8, 0.01, '0-2%')]);
    const byId = Object.fromEntries(s.listRuns().map((r) => [r.id, r.summary]));
    expect(byId.r1).toEqual({ cases: 4, meanDice: 0.5, diceCases: 3, meanHd: 3, hdCases: 2, maskedFraction: expect.closeTo(0.2, 12), maskedCases: 3 });
    expect(byId.r2).toEqual({ cases: 1, meanDice: 0.5, diceCases: 1, meanHd: 8, hdCases: 1, maskedFraction: null, maskedCases: 0 });
    // r3 has no evaluated case yet
    expect(byId.r3).toBeNull();
    expect(s.getRun('r1')?.summary).toEqual(byId.r1);
    expect(s.listRuns({ experimentId: 'e1', status: 'running' }).map((r) => r.id)).toEqual(['r1', 'r2', 'r3']);
    s.close();
  });

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

describe('queued runs (mrlseg cv --queue)', () => {
  const newRun = (id: string) => ({ id, experimentId: 'e1', variant: 'onlyseg' as const, fold: 1, seed: 2, dataset: 'synthetic', backend: 'queued', gitCommit: null, config: {} });

  it('records the author, queues a run once, hands it to a worker and puts it back', () => {
    const s = openStore(dir);
    s.createExperiment({ id: 'e1', name: 'grid', dataset: 'synthetic', config: {}, configHash: 'h', gitCommit: null, author: 'ada' });
    expect(s.getExperiment('e1')?.author).toBe('ada');
    expect(s.queueRun(newRun('q1'))).toBe(true);
    expect(s.queueRun({ ...newRun('q1'), seed: 9 })).toBe(false); // enqueued again: unchanged
    expect(s.getRun('q1')).toMatchObject({ status: 'pending', seed: 2, host: null, lastEpoch: null, backend: 'queued' });

    s.startRun({ ...newRun('q1'), backend: 'wasm' });
    s.recordEpoch({ runId: 'q1', phase: 'pretrain', epoch: 0, loss: 1, reward: null, valDice: null, lr: 0.1, durationMs: 5 });
    s.recordEpoch({ runId: 'q1', phase: 'rl', epoch: 0, loss: 1, reward: 0, valDice: null, lr: 0.1, durationMs: 5 });
    s.recordEpoch({ runId: 'q1', phase: 'pretrain', epoch: 1, loss: 1, reward: null, valDice: null, lr: 0.1, durationMs: 5 });
    // the phase in training order wins over the order of writing
    expect(s.getRun('q1')).toMatchObject({ status: 'running', backend: 'wasm', host: hostname(), lastEpoch: { phase: 'rl', epoch: 0 } });
    expect(s.listRuns({ experimentId: 'e1' })[0].lastEpoch).toEqual({ phase: 'rl', epoch: 0 });

    // a live owner: requeue leaves it alone, a second start is refused unless the queue hands it over
    s.requeueRun('q1', 'x');
    expect(s.getRun('q1')?.status).toBe('running');
    expect(() => s.startRun(newRun('q1'))).toThrow(/being trained by another live process/);
    expect(s.startRun(newRun('q1'), { takeover: true }).status).toBe('running');

    s.finishRun('q1', { status: 'failed', error: 'boom' });
    s.requeueRun('q1', 'attempt 1 of 3 failed: boom; retrying');
    expect(s.getRun('q1')).toMatchObject({ status: 'pending', error: 'attempt 1 of 3 failed: boom; retrying' });
    s.finishRun('q1', { status: 'completed' });
    s.requeueRun('q1', null);
    expect(s.getRun('q1')?.status).toBe('completed');
    s.close();
  });

  it('reads experiments of an older schema without an author as null', () => {
    writeVersion1Store(dir);
    const s = openStore(dir, { readonly: true });
    expect(s.getExperiment('e1')?.author).toBeNull();
    s.close();
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
