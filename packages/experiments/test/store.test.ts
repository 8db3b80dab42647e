import { spawn } from 'node:child_process';
import { existsSync, renameSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CaseAgentFractions, CaseMetricRecord } from '@mrlseg/types';
import { DB_FILE, MIGRATIONS, READ_ONLY_MIN_VERSION, SCHEMA_VERSION, buildReport, openStore, renderReport, type ResultsStore } from '../src/index';
import { pgMissing, postgresBackend, removeScratch, scratch, sqliteBackend, type TestBackend, type TestStoreLocation } from './helpers';

const here = fileURLToPath(new URL('.', import.meta.url));
let dir: string;
beforeEach(() => {
  dir = scratch();
});
afterEach(() => removeScratch());

async function seedRun(s: ResultsStore, id = 'r1', exp = 'e1'): Promise<void> {
  if (!(await s.getExperiment(exp))) await s.createExperiment({ id: exp, name: 'test', dataset: 'synthetic', config: { a: 1 }, configHash: 'abc', gitCommit: 'deadbeef' });
  await s.startRun({ id, experimentId: exp, variant: 'rl-fb-adp-seg', fold: 0, seed: 7, dataset: 'synthetic', backend: 'cpu', gitCommit: 'deadbeef', config: { a: 1 }, packageVersions: { '@mrlseg/experiments': '0.1.0' } });
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

/** Applies migrations up to `version` to a raw SQLite database, as the toolkit of that version did. */
function migrateRawTo(db: Database.Database, version: number, at: string): void {
  db.transaction(() => {
    for (const m of MIGRATIONS.filter((x) => x.version <= version)) for (const st of m.statements({ dialect: 'sqlite', storeDir: at })) db.prepare(st).run();
    db.pragma(`user_version = ${version}`);
  })();
}

/**
 * A store as the toolkit wrote it at schema version 1 (before the agent fractions): the version-1
 * migration's tables, one completed RL run and two cases inserted with version-1 columns only.
 */
function writeVersion1Store(at: string): void {
  const db = new Database(join(at, DB_FILE));
  migrateRawTo(db, 1, at);
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

/** Runs a fixture script under tsx; resolves with its stdout when it exits 0. */
function runFixture(name: string, args: string[]): Promise<string> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'fixtures', name), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (err += String(d)));
    child.on('exit', (code) => (code === 0 ? res(out) : rej(new Error(`${name} exited ${code}: ${err}`))));
  });
}

describe('results store schema and migrations', async () => {
  it('creates a fresh store at the current schema version with WAL journaling', async () => {
    const s = await openStore(dir);
    expect(s.schemaVersion).toBe(SCHEMA_VERSION);
    await s.close();
    const db = new Database(join(dir, DB_FILE), { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
    expect(tables).toEqual(['api_tokens', 'cases', 'checkpoints', 'epochs', 'experiments', 'runs']);
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    db.close();
    expect(existsSync(join(dir, 'artifacts'))).toBe(true);
  });

  it('migrates a version-0 database in place and reopens without re-applying', async () => {
    new Database(join(dir, DB_FILE)).close();
    const s = await openStore(dir);
    expect(s.schemaVersion).toBe(SCHEMA_VERSION);
    await seedRun(s);
    await s.close();
    const again = await openStore(dir);
    expect((await again.listRuns())).toHaveLength(1);
    await again.close();
  });

  it('upgrades a version-1 store in place: every row survives and the new case columns are NULL', async () => {
    writeVersion1Store(dir);
    const s = await openStore(dir);
    expect(s.schemaVersion).toBe(SCHEMA_VERSION);
    expect((await s.getRun('r1'))).toMatchObject({ status: 'completed', variant: 'rl-seg' });
    expect((await s.allCases('r1'))).toEqual([kase('r1', 'p1_0', 0.8, 4, 0.01, '0-2%'), kase('r1', 'p2_0', 0.6, 6, 0.03, '2-4%')]);
    await s.close();
    const db = new Database(join(dir, DB_FILE), { readonly: true });
    const cols = (db.prepare('PRAGMA table_info(cases)').all() as { name: string; type: string }[]).map((c) => `${c.name} ${c.type}`);
    expect(cols.slice(-2)).toEqual(['masked_fraction REAL', 'lesion_masked_fraction REAL']);
    expect(db.prepare('SELECT COUNT(*) AS n FROM cases WHERE masked_fraction IS NULL AND lesion_masked_fraction IS NULL').get()).toEqual({ n: 2 });
    db.close();
    // the migrated store takes the new fields; a re-evaluation (replaceCases) backfills them
    const again = await openStore(dir);
    await again.replaceCases('r1', [kase('r1', 'p1_0', 0.8, 4, 0.01, '0-2%', { maskedFraction: 0.25, lesionMaskedFraction: 0.5 }), kase('r1', 'p2_0', 0.6, 6, 0.03, '2-4%', { maskedFraction: 0.125, lesionMaskedFraction: null })]);
    expect((await again.allCases('r1')).map((c) => [c.maskedFraction, c.lesionMaskedFraction])).toEqual([
      [0.25, 0.5],
      [0.125, null],
    ]);
    // a record written without the fields (as callers of schema 1 did) stores NULL
    const { maskedFraction: _m, lesionMaskedFraction: _l, ...plain } = kase('r1', 'p3_0', 0.7, 5, 0.02, '2-4%');
    void _m;
    void _l;
    await again.recordCases([plain]);
    expect((await again.getCase('r1', 'p3_0'))).toMatchObject({ dice: 0.7, maskedFraction: null, lesionMaskedFraction: null });
    await again.close();
  });

  it('reads a version-1 store read-only without migrating it, the agent fractions null and reported n/a', async () => {
    writeVersion1Store(dir);
    expect(READ_ONLY_MIN_VERSION).toBe(1);
    const ro = await openStore(dir, { readonly: true });
    expect(ro.schemaVersion).toBe(1);
    expect((await ro.listCases('r1', { sort: 'dice' })).items.map((c) => [c.caseId, c.maskedFraction, c.lesionMaskedFraction])).toEqual([
      ['p2_0', null, null],
      ['p1_0', null, null],
    ]);
    // the run summary reads the version-1 columns only: no masked fraction
    expect((await ro.getRun('r1'))?.summary).toEqual({ cases: 2, meanDice: 0.7, diceCases: 2, meanHd: 5, hdCases: 2, maskedFraction: null, maskedCases: 0 });
    const report = await buildReport(ro);
    expect(report.variants[0].agent).toEqual({ maskedFraction: null, lesionMaskedFraction: null, cases: 2, recorded: 0, withLesion: 0 });
    expect(renderReport(report, 'md')).toMatch(/Masked by the agent .*: RL\+Seg n\/a \(not recorded/);
    await ro.close();
    const db = new Database(join(dir, DB_FILE), { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(1);
    db.close();
  });

  it('reads experiments of an older schema without an author as null', async () => {
    writeVersion1Store(dir);
    const s = await openStore(dir, { readonly: true });
    expect((await s.getExperiment('e1'))?.author).toBeNull();
    await s.close();
  });

  it('refuses a store from a newer toolkit and a missing or old store read-only, naming the folder', async () => {
    await expect(openStore(join(dir, 'nope'), { readonly: true })).rejects.toThrow(/no mrlseg\.sqlite there/);
    const db = new Database(join(dir, DB_FILE));
    db.pragma('user_version = 0');
    db.close();
    await expect(openStore(dir, { readonly: true })).rejects.toThrow(/schema version 0, this toolkit reads/);
    const db2 = new Database(join(dir, DB_FILE));
    db2.pragma(`user_version = ${SCHEMA_VERSION + 5}`);
    db2.close();
    await expect(openStore(dir)).rejects.toThrow(new RegExp(`schema version ${SCHEMA_VERSION + 5}, newer than`));
  });
  it('moves stored artifact paths to the artifacts folder (schema 6), and a store below 6 read-only resolves them as before', async () => {
    const db = new Database(join(dir, DB_FILE));
    migrateRawTo(db, 5, dir);
    db.prepare("INSERT INTO experiments (id, name, dataset, config, config_hash, created_at) VALUES ('e1', 'old', 'synthetic', '{}', 'h', '2024-01-01T00:00:00Z')").run();
    db.prepare(
      `INSERT INTO runs (id, experiment_id, variant, fold, seed, status, dataset, backend, config, started_at, checkpoint_path, onnx_path)
       VALUES ('r1', 'e1', 'onlyseg', 0, 1, 'completed', 'synthetic', 'cpu', '{}', '2024-01-01T00:00:00Z', 'artifacts/r1/checkpoints/pretrain-0', 'exports/model.onnx')`,
    ).run();
    db.prepare("INSERT INTO checkpoints (run_id, phase, epoch, path, created_at) VALUES ('r1', 'pretrain', 0, 'artifacts/r1/checkpoints/pretrain-0', '2024-01-01T00:00:00Z')").run();
    db.close();
    const expected = { checkpointPath: join(dir, 'artifacts', 'r1', 'checkpoints', 'pretrain-0'), onnxPath: join(dir, 'exports', 'model.onnx') };
    const ro = await openStore(dir, { readonly: true });
    expect(ro.schemaVersion).toBe(5);
    expect(await ro.getRun('r1')).toMatchObject(expected);
    await ro.close();
    const rw = await openStore(dir);
    expect(rw.schemaVersion).toBe(SCHEMA_VERSION);
    expect(await rw.getRun('r1')).toMatchObject(expected);
    expect((await rw.lastCheckpoint('r1'))?.path).toBe(expected.checkpointPath);
    await rw.close();
    const raw = new Database(join(dir, DB_FILE), { readonly: true });
    expect(raw.prepare('SELECT checkpoint_path, onnx_path FROM runs').get()).toEqual({ checkpoint_path: 'r1/checkpoints/pretrain-0', onnx_path: `${dir}/exports/model.onnx` });
    expect(raw.prepare('SELECT path FROM checkpoints').get()).toEqual({ path: 'r1/checkpoints/pretrain-0' });
    raw.close();
    // the artifacts folder moved elsewhere: paths follow it
    renameSync(join(dir, 'artifacts'), join(dir, 'moved'));
    const moved = await openStore(dir, { readonly: true, artifacts: join(dir, 'moved') });
    expect((await moved.getRun('r1'))?.checkpointPath).toBe(join(dir, 'moved', 'r1', 'checkpoints', 'pretrain-0'));
    await moved.close();
  });

  it('creates a new SQLite store folder whose artifacts folder lives elsewhere (--artifacts)', async () => {
    const at = join(dir, 'new', 'store');
    const art = join(dir, 'shared', 'artifacts');
    const s = await openStore(at, { artifacts: art });
    expect(s.artifactsDir).toBe(art);
    expect(s.runDir('r1', 'x').startsWith(art + sep)).toBe(true);
    await s.close();
    expect([existsSync(join(at, DB_FILE)), existsSync(join(at, 'artifacts'))]).toEqual([true, false]);
  });

  it('refuses a location that is neither a folder nor a postgres:// URL, and an empty one', async () => {
    await expect(openStore('mysql://u@h/db')).rejects.toThrow(/unsupported URL scheme/);
    await expect(openStore('postgres://u@127.0.0.1:5432/')).rejects.toThrow(/names no database/);
    await expect(openStore(' ')).rejects.toThrow(/openStore: location must be a folder or a postgres:\/\/ URL/);
  });

  it('a PostgreSQL server that is not there: one line naming the URL (password hidden) and what to check', async () => {
    // Port 1 (tcpmux): nothing listens there. A port from freePort() could be taken meanwhile by a
    // server another test file starts (seen in a full run: 'Connection terminated unexpectedly').
    const port = 1;
    const err = await openStore(`postgres://u:secret@127.0.0.1:${port}/db`, { artifacts: dir }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(new RegExp(`^results store postgres://u:\\*\\*\\*@127\\.0\\.0\\.1:${port}/db: cannot connect to PostgreSQL: .*ECONNREFUSED.*is PostgreSQL running`));
    expect((err as Error).message).not.toMatch(/secret|\n/);
    await expect(openStore(`postgres://u@127.0.0.1:${port}/db`)).rejects.toThrow(/needs --artifacts <dir>/);
  });
});


/** What both backends must do the same way. */
function recordTests(backend: TestBackend): void {
  let loc: TestStoreLocation;
  const open = (o: { readonly?: boolean } = {}) => openStore(loc.location, { artifacts: loc.artifacts, ...o });
  beforeEach(async () => {
    loc = await backend.fresh();
  });

  it("summarises each run's cases: means over the defined values only, with their counts", async () => {
    const s = await open();
    await seedRun(s, 'r1');
    await seedRun(s, 'r2');
    await seedRun(s, 'r3');
    const a = (m: number) => ({ maskedFraction: m, lesionMaskedFraction: null });
    // r1: Dice 0.9, 0.6, undefined (both masks empty) and 0 -> 0.5 over 3; HD 2, 4 and two undefined -> 3 over 2;
    // masked 0.1, 0.2, 0.3 (one case not recorded) -> 0.2 over 3.
    await s.recordCases([
      kase('r1', 'p1_0', 0.9, 2, 0.01, '0-2%', a(0.1)),
      kase('r1', 'p1_1', 0.6, 4, 0.01, '0-2%', a(0.2)),
      kase('r1', 'p2_0', null, null, 0.05, '4-6%', a(0.3)),
      kase('r1', 'p2_1', 0, null, 0.05, '4-6%'),
    ]);
    // r2: one case, no agent.
    await s.recordCases([kase('r2', 'p1_0', 0.5, 8, 0.01, '0-2%')]);
    const byId = Object.fromEntries((await s.listRuns()).map((r) => [r.id, r.summary]));
    // numbers, not PostgreSQL's bigint strings
    expect(byId.r1).toEqual({ cases: 4, meanDice: expect.closeTo(0.5, 12), diceCases: 3, meanHd: 3, hdCases: 2, maskedFraction: expect.closeTo(0.2, 12), maskedCases: 3 });
    expect(byId.r2).toEqual({ cases: 1, meanDice: 0.5, diceCases: 1, meanHd: 8, hdCases: 1, maskedFraction: null, maskedCases: 0 });
    // r3 has no evaluated case yet
    expect(byId.r3).toBeNull();
    expect((await s.getRun('r1'))?.summary).toEqual(byId.r1);
    expect((await s.listRuns({ experimentId: 'e1', status: 'running' })).map((r) => r.id)).toEqual(['r1', 'r2', 'r3']);
    expect((await s.listRuns({ experimentId: 'e1', variant: 'rl-fb-adp-seg', fold: 0, seed: 7 })).map((r) => r.id)).toEqual(['r1', 'r2', 'r3']);
    await s.close();
  });

  it('round-trips runs, epochs, checkpoints and timings through the zod records', async () => {
    const s = await open();
    expect(s.schemaVersion).toBe(SCHEMA_VERSION);
    expect(s.backend).toBe(backend.name);
    await seedRun(s);
    const ck = s.runDir('r1', 'checkpoints', 'pretrain-0');
    await s.recordEpochCheckpoint({ runId: 'r1', phase: 'pretrain', epoch: 0, loss: 0.7, reward: null, valDice: 0.2, lr: 1e-3, durationMs: 12 }, ck);
    await s.recordEpoch({ runId: 'r1', phase: 'rl', epoch: 0, loss: 0.1, reward: 0.03, valDice: null, lr: 1e-3, durationMs: 30 });
    // a second attempt at an epoch replaces the first
    await s.recordEpoch({ runId: 'r1', phase: 'rl', epoch: 0, loss: 0.125, reward: 0.0625, valDice: null, lr: 1e-3, durationMs: 31 });
    await s.addTimings('r1', { pretrain: 100 });
    const done = await s.finishRun('r1', { status: 'completed', timings: { rl: 50, eval: 25 } });
    expect(done).toMatchObject({ status: 'completed', durationMs: 175, timings: { pretrain: 100, rl: 50, eval: 25 }, seed: 7, fold: 0, gitCommit: 'deadbeef', checkpointPath: ck });
    expect(done.packageVersions).toEqual({ '@mrlseg/experiments': '0.1.0' });
    expect((await s.epochs('r1')).map((e) => `${e.phase}:${e.epoch}:${e.loss}:${e.reward}`)).toEqual(['pretrain:0:0.7:null', 'rl:0:0.125:0.0625']);
    expect(await s.lastCheckpoint('r1')).toMatchObject({ phase: 'pretrain', epoch: 0, path: ck });
    expect((await s.listExperiments())[0]).toMatchObject({ id: 'e1', config: { a: 1 }, configHash: 'abc' });
    expect((await s.latestExperimentByHash('abc'))?.id).toBe('e1');
    expect(await s.latestExperimentByHash('nope')).toBeUndefined();
    await s.close();
  });

  it('stores artifact paths relative to the artifacts folder, and paths outside it absolute', async () => {
    const s = await open();
    await seedRun(s);
    const ck = s.runDir('r1', 'checkpoints', 'pretrain-0');
    await s.recordEpochCheckpoint({ runId: 'r1', phase: 'pretrain', epoch: 0, loss: 0.7, reward: null, valDice: null, lr: 1e-3, durationMs: 1 }, ck);
    const outside = join(loc.scratch, 'elsewhere', 'model.onnx');
    await s.setOnnxPath('r1', outside);
    expect(await s.getRun('r1')).toMatchObject({ checkpointPath: ck, onnxPath: outside });
    await s.close();
    const raw = await rawRows(backend, loc, 'SELECT checkpoint_path, onnx_path FROM runs');
    expect(raw).toEqual([{ checkpoint_path: 'r1/checkpoints/pretrain-0', onnx_path: outside }]);
  });

  it('lists cases by page, sorts with undefined metrics last (bytewise case ids) and filters by interval', async () => {
    const s = await open();
    await seedRun(s);
    await s.recordCases([
      kase('r1', 'p1_0', 0.9, 3, 0.01, '0-2%'),
      kase('r1', 'p1_1', null, null, 0, '0-2%'),
      kase('r1', 'p2_0', 0.5, 9, 0.03, '2-4%'),
      kase('r1', 'p2_1', 0.7, 4, 0.05, '4-6%'),
      kase('r1', 'P3_0', 0.7, 5, 0.05, '4-6%'),
      kase('r1', 'p 4_0', 0.6, 5, 0.05, '4-6%'),
    ]);
    expect((await s.listCases('r1', { sort: 'dice', order: 'desc' })).items.map((c) => c.caseId)).toEqual(['p1_0', 'P3_0', 'p2_1', 'p 4_0', 'p2_0', 'p1_1']);
    expect((await s.listCases('r1', { sort: 'dice', order: 'asc' })).items.map((c) => c.caseId)).toEqual(['p2_0', 'p 4_0', 'P3_0', 'p2_1', 'p1_0', 'p1_1']);
    // bytewise: ' ' < 'P' < 'p' (SQLite's order; PostgreSQL columns are COLLATE "C")
    expect((await s.allCases('r1')).map((c) => c.caseId)).toEqual(['P3_0', 'p 4_0', 'p1_0', 'p1_1', 'p2_0', 'p2_1']);
    const page2 = await s.listCases('r1', { pageSize: 4, page: 2 });
    expect(page2).toMatchObject({ total: 6, page: 2, pageSize: 4 });
    expect(page2.items.map((c) => c.caseId)).toEqual(['p2_0', 'p2_1']);
    expect((await s.listCases('r1', { interval: '0-2%' })).total).toBe(2);
    expect(await s.getCase('r1', 'p1_1')).toMatchObject({ dice: null, hd: null, emptyGt: true });
    expect(await s.getCase('r1', 'nope')).toBeUndefined();
    // replaceCases: all or nothing
    await s.replaceCases('r1', [kase('r1', 'p9_0', 0.25, 1, 0.5, '0-2%', { maskedFraction: 0.5, lesionMaskedFraction: null })]);
    expect(await s.allCases('r1')).toEqual([kase('r1', 'p9_0', 0.25, 1, 0.5, '0-2%', { maskedFraction: 0.5, lesionMaskedFraction: null })]);
    await expect(s.replaceCases('r1', [kase('r2', 'x', 0.1, 1, 0.1, null)])).rejects.toThrow(/got a case of run r2/);
    await s.close();
  });

  it('copies a shared pre-training curve to another run (durations 0)', async () => {
    const s = await open();
    await seedRun(s, 'a');
    await seedRun(s, 'b');
    for (const e of [0, 1]) await s.recordEpoch({ runId: 'a', phase: 'pretrain', epoch: e, loss: 1 - e / 4, reward: null, valDice: null, lr: 0.5, durationMs: 9 });
    await s.copyEpochs('a', 'b', 'pretrain');
    expect((await s.epochs('b')).map((e) => [e.epoch, e.loss, e.durationMs])).toEqual([
      [0, 1, 0],
      [1, 0.75, 0],
    ]);
    await s.close();
  });

  it('writes case PNGs under <artifacts>/<run>/cases/<case>/<kind>.png', async () => {
    const s = await open();
    const p = s.writeCaseArtifact('r1', 'benign (31)_0', 'actions', new Uint8Array([1, 2, 3]));
    expect(p).toBe(join(loc.artifacts, 'r1', 'cases', 'benign (31)_0', 'actions.png'));
    expect(p.startsWith(s.artifactsDir + sep)).toBe(true);
    expect(existsSync(p)).toBe(true);
    await s.close();
  });

  it('read-only stores refuse writes', async () => {
    await (await open()).close();
    const ro = await open({ readonly: true });
    await expect(seedRun(ro)).rejects.toThrow(/opened read-only/);
    await ro.close();
  });

  it('records the author, queues a run once, hands it to a worker and puts it back', async () => {
    const newRun = (id: string) => ({ id, experimentId: 'e1', variant: 'onlyseg' as const, fold: 1, seed: 2, dataset: 'synthetic', backend: 'queued', gitCommit: null, config: {} });
    const s = await open();
    await s.createExperiment({ id: 'e1', name: 'grid', dataset: 'synthetic', config: {}, configHash: 'h', gitCommit: null, author: 'ada' });
    expect((await s.getExperiment('e1'))?.author).toBe('ada');
    expect(await s.queueRun(newRun('q1'))).toBe(true);
    expect(await s.queueRun({ ...newRun('q1'), seed: 9 })).toBe(false); // enqueued again: unchanged
    expect(await s.getRun('q1')).toMatchObject({ status: 'pending', seed: 2, host: null, lastEpoch: null, backend: 'queued' });

    await s.startRun({ ...newRun('q1'), backend: 'wasm' });
    await s.recordEpoch({ runId: 'q1', phase: 'pretrain', epoch: 0, loss: 1, reward: null, valDice: null, lr: 0.1, durationMs: 5 });
    await s.recordEpoch({ runId: 'q1', phase: 'rl', epoch: 0, loss: 1, reward: 0, valDice: null, lr: 0.1, durationMs: 5 });
    await s.recordEpoch({ runId: 'q1', phase: 'pretrain', epoch: 1, loss: 1, reward: null, valDice: null, lr: 0.1, durationMs: 5 });
    // the phase in training order wins over the order of writing
    expect(await s.getRun('q1')).toMatchObject({ status: 'running', backend: 'wasm', host: hostname(), lastEpoch: { phase: 'rl', epoch: 0 } });
    expect((await s.listRuns({ experimentId: 'e1' }))[0].lastEpoch).toEqual({ phase: 'rl', epoch: 0 });

    // a live owner: requeue leaves it alone, a second start is refused; with takeover (a queue
    // worker handed the job) SQLite hands it over, PostgreSQL never displaces a live lock holder
    await s.requeueRun('q1', 'x');
    expect((await s.getRun('q1'))?.status).toBe('running');
    const other = await open();
    await expect(other.startRun(newRun('q1'))).rejects.toThrow(/being trained by another live process/);
    if (backend.name === 'sqlite') expect((await other.startRun(newRun('q1'), { takeover: true })).status).toBe('running');
    else await expect(other.startRun(newRun('q1'), { takeover: true })).rejects.toThrow(/live owner is not taken over/);
    await other.close();

    await s.finishRun('q1', { status: 'failed', error: 'boom' });
    await s.requeueRun('q1', 'attempt 1 of 3 failed: boom; retrying');
    expect(await s.getRun('q1')).toMatchObject({ status: 'pending', error: 'attempt 1 of 3 failed: boom; retrying' });
    // a pending run whose previous owner is gone is taken by the next worker
    const next = await open();
    expect((await next.startRun(newRun('q1'), { takeover: true })).status).toBe('running');
    await next.finishRun('q1', { status: 'completed' });
    await next.close();
    await s.requeueRun('q1', null);
    expect((await s.getRun('q1'))?.status).toBe('completed');
    await s.close();
  });

  it('a writer killed mid-transaction leaves a readable store with its run incomplete and no partial rows', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'fixtures', 'killed-writer.ts'), loc.location, loc.artifacts], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += String(d)));
    await new Promise<void>((res, rej) => {
      child.stdout.on('data', (d) => {
        if (String(d).includes('in-transaction')) res();
      });
      child.on('exit', (code) => rej(new Error(`child exited early (${code}): ${err}`)));
    });
    // while it lives, its run is running
    const before = await open({ readonly: true });
    expect((await before.getRun('run1'))?.status).toBe('running');
    await before.close();
    child.removeAllListeners('exit');
    const exited = new Promise((res) => child.on('exit', res));
    child.kill('SIGKILL');
    await exited;
    // PostgreSQL notices the dropped session (and its lock) within moments
    const deadline = Date.now() + 10_000;
    let ro = await open({ readonly: true });
    while ((await ro.getRun('run1'))?.status === 'running' && Date.now() < deadline) {
      await ro.close();
      await new Promise((r) => setTimeout(r, 100));
      ro = await open({ readonly: true });
    }
    expect((await ro.getRun('run1'))?.status).toBe('incomplete');
    expect(await ro.epochs('run1')).toHaveLength(1);
    expect((await ro.listCases('run1')).total).toBe(0);
    await ro.close();
    const rw = await open();
    expect(await rw.getRun('run1')).toMatchObject({ status: 'incomplete', error: expect.stringMatching(/--resume/) });
    // and it can be taken over (resumed)
    await rw.startRun({ id: 'run1', experimentId: 'exp1', variant: 'onlyseg', fold: 0, seed: 1, dataset: 'synthetic', backend: 'cpu', gitCommit: null, config: {} });
    expect((await rw.getRun('run1'))?.status).toBe('running');
    await rw.close();
  }, 60_000);

  it('a run owned by a live process stays running, and no one else can start it', async () => {
    const s = await open();
    await seedRun(s);
    const again = await open();
    expect((await again.getRun('r1'))?.status).toBe('running');
    await expect(seedRun(again)).rejects.toThrow(/another live process/);
    await again.close();
    await s.close();
  });

  it('several processes writing runs into one store at once lose nothing', async () => {
    const s = await open();
    await s.createExperiment({ id: 'shared', name: 'many', dataset: 'synthetic', config: {}, configHash: 'm', gitCommit: null });
    const W = 4;
    const E = 6;
    const C = 300;
    const writers = Array.from({ length: W }, (_, w) => runFixture('concurrent-writer.ts', [loc.location, loc.artifacts, String(w), String(E), String(C)]));
    // a reader (the API) reading meanwhile always sees whole transactions
    let reads = 0;
    let done = false;
    const reader = (async () => {
      while (!done) {
        for (const r of await s.listRuns({ experimentId: 'shared' })) {
          const n = (await s.listCases(r.id)).total;
          expect(n % 50 === 0 || n === C).toBe(true);
        }
        reads++;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    await Promise.all(writers);
    done = true;
    await reader;
    expect(reads).toBeGreaterThan(0);
    const runs = await s.listRuns({ experimentId: 'shared' });
    expect(runs.map((r) => [r.id, r.status, r.timings.pretrain]).sort()).toEqual(Array.from({ length: W }, (_, w) => [`run${w}`, 'completed', w]));
    for (const r of runs) {
      expect((await s.epochs(r.id)).map((e) => e.epoch)).toEqual([0, 1, 2, 3, 4, 5]);
      const cases = await s.allCases(r.id);
      expect(cases).toHaveLength(C);
      expect(cases[123]).toMatchObject({ caseId: 'c0123', hd: 123, dice: 0.3 });
      expect((await s.lastCheckpoint(r.id))?.epoch).toBe(E - 1);
    }
    await s.close();
  }, 120_000);
}

/** Rows of a raw query, for checking what is stored. */
async function rawRows(backend: TestBackend, loc: TestStoreLocation, query: string): Promise<unknown[]> {
  if (backend.name === 'sqlite') {
    const db = new Database(join(loc.location, DB_FILE), { readonly: true });
    try {
      return db.prepare(query).all();
    } finally {
      db.close();
    }
  }
  const c = new pg.Client({ connectionString: loc.location });
  await c.connect();
  try {
    return (await c.query(query)).rows;
  } finally {
    await c.end();
  }
}

describe('results store records (SQLite)', () => {
  recordTests(sqliteBackend);

  it('several stores of one process writing at once take turns instead of blocking each other', async () => {
    const first = await openStore(dir);
    await first.createExperiment({ id: 'e', name: 'n', dataset: 'synthetic', config: {}, configHash: 'h', gitCommit: null });
    const stores = [first, await openStore(dir), await openStore(dir)];
    await Promise.all(
      stores.map(async (s, w) => {
        await s.startRun({ id: `r${w}`, experimentId: 'e', variant: 'onlyseg', fold: w, seed: 0, dataset: 'synthetic', backend: 'cpu', gitCommit: null, config: {} });
        for (let b = 0; b < 5; b++) await s.recordCases(Array.from({ length: 20 }, (_, i) => kase(`r${w}`, `c${b}_${i}`, 0.5, 1, 0.01, '0-2%')));
        await s.finishRun(`r${w}`, { status: 'completed' });
      }),
    );
    for (let w = 0; w < 3; w++) expect((await first.listCases(`r${w}`)).total).toBe(100);
    for (const s of stores) await s.close();
  });

  it.each([
    ['../r1', 'c1', 'image', /run id/],
    ['r1', '../../etc', 'image', /case id/],
    ['r1', 'a/b', 'image', /case id/],
    ['r1', '.hidden', 'image', /case id/],
    ['r1', 'c1', 'secret', /artifact kind 'secret'/],
  ])('caseArtifactPath(%j, %j, %j) is rejected', async (run, kaseId, kind, msg) => {
    const s = await openStore(dir);
    expect(() => s.caseArtifactPath(run, kaseId, kind as 'image')).toThrow(msg);
    await s.close();
  });
});

describe.skipIf(pgMissing)('results store records (PostgreSQL)', () => {
  const pgb = postgresBackend();
  beforeAll(() => pgb.start(), 60_000);
  afterAll(() => pgb.stop(), 30_000);
  recordTests(pgb);

  it('workers opening a fresh database at the same moment migrate it once', async () => {
    const url = await pgb.server().createDatabase('racing');
    const art = scratch();
    const stores = await Promise.all(Array.from({ length: 4 }, () => openStore(url, { artifacts: art })));
    expect(stores.map((s) => s.schemaVersion)).toEqual([SCHEMA_VERSION, SCHEMA_VERSION, SCHEMA_VERSION, SCHEMA_VERSION]);
    for (const s of stores) await s.close();
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    expect((await c.query('SELECT version FROM mrlseg_schema')).rows).toEqual([{ version: SCHEMA_VERSION }]);
    await c.end();
  });

  it('a read-only opening of a database without a store says so; one from a newer toolkit is refused', async () => {
    const url = await pgb.server().createDatabase('empty');
    await expect(openStore(url, { readonly: true })).rejects.toThrow(/holds no results store yet/);
    const art = scratch();
    await (await openStore(url, { artifacts: art })).close();
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query(`UPDATE mrlseg_schema SET version = ${SCHEMA_VERSION + 1}`);
    await c.end();
    await expect(openStore(url, { artifacts: art })).rejects.toThrow(new RegExp(`schema version ${SCHEMA_VERSION + 1}, newer than`));
    await expect(openStore(url.replace(/\/empty$/, '/missing'), { artifacts: art })).rejects.toThrow(/cannot connect to PostgreSQL: database "missing" does not exist; create it first/);
  });
});
