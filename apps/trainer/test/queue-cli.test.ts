/**
 * The grid as BullMQ jobs against a real Redis and (where one can be started: always in CI) a real
 * PostgreSQL store, as a team runs it: `mrlseg cv --queue` twice (nothing duplicated),
 * worker processes taking the jobs, one killed with SIGKILL in the middle of a run (the run is
 * finished by another worker from its last epoch checkpoint, exactly once, with the numbers of an
 * uninterrupted run), a failing job retried then recorded as failed, `mrlseg queue status`.
 * Default: 4 runs (2 folds x 2 variants, one shared pre-training per fold) on 2 workers;
 * MRLSEG_LONG_TESTS=1: 12 runs (4 folds x 3 variants) on 3 workers with a Redis restart in the
 * middle of the grid.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueGrid, gridExperimentId, loadExperimentConfig, openStore, parseQueueUrl, planGrid, queueStatus, renderQueueStatus, type ResultsStore } from '@mrlseg/experiments';
import { postgresUnavailable, redisUnavailable, startPostgres, startRedis, type PostgresServer, type RedisServer } from '@mrlseg/test-servers';
import { TINY_CONFIG } from './train-fixtures';
import { MRLSEG_BIN, startWorker, until, type WorkerProc } from './worker-procs';

const run = promisify(execFile);
const bin = MRLSEG_BIN;
const LONG = process.env.MRLSEG_LONG_TESTS === '1';
const FOLDS = LONG ? 4 : 2;
const WORKERS = LONG ? 3 : 2;
const VARIANTS = LONG ? ['onlyseg', 'rl-seg', 'rl-fb-seg'] : ['onlyseg', 'rl-seg'];
const RUNS = FOLDS * VARIANTS.length;
const dir = mkdtempSync(join(tmpdir(), 'mrlseg-queue-'));
/** Null, or the one line saying what to install (with MRLSEG_REQUIRE_SERVERS=1, as in CI, a missing redis-server throws). */
const redisMissing = redisUnavailable();
if (redisMissing) console.warn(redisMissing);
/** The grid's store is PostgreSQL, as in a team, where a server can be started here; else a SQLite folder. */
const pgMissing = postgresUnavailable();
if (pgMissing) console.warn(`${pgMissing}: the queue test uses a SQLite store instead`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const GRID = { ...TINY_CONFIG, name: 'qgrid', variants: VARIANTS, folds: { k: FOLDS }, training: { ...TINY_CONFIG.training, epochs: 1, rlEpochs: 2 } };
const FAILING = { ...TINY_CONFIG, name: 'qfail', variant: 'rl-seg', folds: { k: 2, only: [0] }, rl: { maskHistory: true } };

describe('queue planning (no Redis)', () => {
  it('one job per run, one shared pre-training per fold and seed, a report; ids from the config', () => {
    const cfgFile = join(dir, 'plan.json');
    writeFileSync(cfgFile, JSON.stringify({ ...GRID, folds: { k: 2 }, variants: ['onlyseg', 'rl-seg', 'unet'], seeds: [1, 2] }));
    const config = loadExperimentConfig(cfgFile);
    const g = planGrid(config);
    expect(g.experimentId).toBe(gridExperimentId(config));
    expect(g.experimentId).toMatch(/^qgrid-[0-9a-f]{12}$/);
    expect(g.runs).toHaveLength(12); // 2 folds x 2 seeds x 3 variants
    // OnlySeg and RL+Seg share a pre-training per (fold, seed); U-Net trains its own network.
    expect(g.pretrain).toHaveLength(4);
    expect(g.pretrain.map((p) => p.data.dependents.map((d) => d.slice(g.experimentId.length + 1)))).toEqual([
      ['onlyseg-f0-s1', 'rl-seg-f0-s1'],
      ['onlyseg-f0-s2', 'rl-seg-f0-s2'],
      ['onlyseg-f1-s1', 'rl-seg-f1-s1'],
      ['onlyseg-f1-s2', 'rl-seg-f1-s2'],
    ]);
    const byId = new Map(g.runs.map((r) => [r.id, r.data]));
    expect(byId.get(`${g.experimentId}-unet-f1-s2`)?.pretrainJobId).toBeNull();
    expect(byId.get(`${g.experimentId}-rl-seg-f1-s2`)?.pretrainJobId).toBe(g.pretrain[3].id);
    expect(g.report.id).toBe(`${g.experimentId}-report`);
    expect(planGrid(config).runs.map((r) => r.id)).toEqual(g.runs.map((r) => r.id));
    expect(gridExperimentId({ ...config, seed: 9 })).not.toBe(g.experimentId);
  });

  it('parses queue URLs and names the argument on bad ones', () => {
    expect(parseQueueUrl('redis://127.0.0.1:6380/2')).toMatchObject({ host: '127.0.0.1', port: 6380, db: 2, tls: false });
    expect(parseQueueUrl('rediss://u:secret@h')).toMatchObject({ host: 'h', port: 6379, db: 0, username: 'u', password: 'secret', tls: true, display: 'rediss://u:***@h' });
    expect(() => parseQueueUrl('http://h:1')).toThrow(/--queue: 'http:' is not supported; expected redis:\/\/host:port/);
    expect(() => parseQueueUrl('redis://h:1/x')).toThrow(/database 'x'/);
    expect(() => parseQueueUrl('h:1')).toThrow(/--queue/);
  });
});


/**
 * A run's numbers: curve and case metrics. Resuming restores Adam's bias-correction powers as
 * beta^t (tfjs' setWeights) where the uninterrupted run multiplied them up step by step, so losses
 * after a resume agree to float32 rounding (~1e-7 relative), not bit for bit: compared to 1e-6.
 */
async function expectSameNumbers(a: ResultsStore, aId: string, b: ResultsStore, bId: string): Promise<void> {
  const ea = await a.epochs(aId);
  const eb = await b.epochs(bId);
  expect(ea.map((e) => `${e.phase}:${e.epoch}`)).toEqual(eb.map((e) => `${e.phase}:${e.epoch}`));
  const close = (x: number | null, y: number | null) => (x === null || y === null ? expect(x).toBe(y) : expect(Math.abs(x - y)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(y))));
  ea.forEach((e, i) => [e.loss, e.reward, e.valDice].forEach((v, j) => close(v, [eb[i].loss, eb[i].reward, eb[i].valDice][j])));
  const ca = await a.allCases(aId);
  const cb = await b.allCases(bId);
  expect(ca.map((c) => c.caseId)).toEqual(cb.map((c) => c.caseId));
  ca.forEach((c, i) => [c.dice, c.hd, c.hd95, c.maskedFraction].forEach((v, j) => close(v, [cb[i].dice, cb[i].hd, cb[i].hd95, cb[i].maskedFraction][j])));
}

describe.skipIf(redisMissing)('the grid on BullMQ workers (real redis-server)', () => {
  let redis: RedisServer;
  let pg: PostgresServer | undefined;
  let store = join(dir, 'store');
  const artifacts = join(dir, 'artifacts');
  const open = (o: { readonly?: boolean } = {}) => openStore(store, { artifacts, ...o });
  const gridFile = join(dir, 'grid.json');
  const failFile = join(dir, 'fail.json');
  writeFileSync(gridFile, JSON.stringify(GRID));
  writeFileSync(failFile, JSON.stringify(FAILING));
  const workers: WorkerProc[] = [];
  let experimentId = '';

  beforeAll(async () => {
    redis = await startRedis({ persistent: LONG });
    if (!pgMissing) {
      pg = await startPostgres();
      store = await pg.createDatabase('queue_grid');
    }
  }, 120_000);
  afterAll(async () => {
    for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
    await redis?.stop();
    await pg?.stop();
  });

  it('enqueues the grid once however often it is enqueued, and returns at once with the experiment id', async () => {
    const a = await run(process.execPath, [bin, 'cv', '--config', gridFile, '--store', store, '--artifacts', artifacts, '--queue', redis.url, '--author', 'ada']);
    experimentId = a.stdout.trim();
    expect(experimentId).toBe(gridExperimentId(loadExperimentConfig(gridFile)));
    expect(a.stderr).toMatch(new RegExp(`queued experiment ${experimentId}: ${RUNS} run\\(s\\), ${FOLDS} shared pre-training job\\(s\\) and a report job`));
    // Again (in-process, to keep the suite short): the same experiment, nothing added.
    let s = await open();
    const again = await enqueueGrid(loadExperimentConfig(gridFile), { store: s, queue: redis.url });
    expect(again).toMatchObject({ experimentId, createdExperiment: false, addedJobs: false, runs: RUNS });
    const f = await enqueueGrid(loadExperimentConfig(failFile), { store: s, queue: redis.url, attempts: 2, retryDelayMs: 100 });
    expect(f).toMatchObject({ runs: 1, pretrainJobs: 0, addedJobs: true });
    await s.close();

    const st = await queueStatus(redis.url);
    const grid = st.experiments.find((e) => e.experimentId === experimentId)!;
    expect(grid).toMatchObject({ waiting: RUNS + FOLDS + 1, active: 0, completed: 0, failed: 0 });
    s = await open({ readonly: true });
    expect(await s.getExperiment(experimentId)).toMatchObject({ author: 'ada', name: 'qgrid' });
    const runs = await s.listRuns({ experimentId });
    expect(runs).toHaveLength(RUNS);
    expect(new Set(runs.map((r) => r.status))).toEqual(new Set(['pending']));
    await s.close();
  }, 120_000);

  it('workers finish every run exactly once; a SIGKILLed worker\'s run ends with the numbers of an uninterrupted run', async () => {
    try {
      await gridWithKill();
    } catch (e) {
      for (const [i, w] of workers.entries()) console.log(`--- worker ${i + 1} (exit ${w.child.exitCode ?? w.child.signalCode ?? 'running'}):\n${w.log.slice(-6000)}`);
      throw e;
    }
  }, 600_000);

  async function gridWithKill() {
    for (let i = 0; i < WORKERS; i++) workers.push(startWorker(redis.url, store, artifacts));
    // Kill the worker that is inside the second RL epoch of an RL run (its first one is checkpointed).
    const victim = await until(
      'a worker in the middle of an RL run',
      () => workers.find((w) => /-rl-(fb-)?seg-f\d-s5: rl epoch 1\/2/.test(w.log)),
      240_000,
    );
    const killedRun = /(\S+-rl-(?:fb-)?seg-f\d-s5): rl epoch 1\/2/.exec(victim.log)![1];
    victim.child.kill('SIGKILL');
    expect(await victim.exited).toBeNull();
    if (LONG) {
      await redis.down(); // mid-grid: the workers reconnect
      await new Promise((r) => setTimeout(r, 1500));
      await redis.up();
    }
    const live = workers.filter((w) => w !== victim);
    await until(
      'the grid and the failing experiment to finish',
      async () => {
        const st = await queueStatus(redis.url);
        return st.experiments.every((e) => e.waiting === 0 && e.active === 0) && st.experiments.length === 2 ? st : undefined;
      },
      300_000,
    );
    const st = await queueStatus(redis.url);
    expect(st.experiments.find((e) => e.experimentId === experimentId)).toMatchObject({ completed: RUNS + FOLDS + 1, failed: 0 });

    const s = await open({ readonly: true });
    const runs = await s.listRuns({ experimentId });
    expect(runs.map((r) => r.status)).toEqual(runs.map(() => 'completed'));
    const allLogs = workers.map((w) => w.log).join('');
    for (const r of runs) {
      // one completion across all workers (a duplicate would log it twice, or 'skipped')
      expect(allLogs.split(`${r.id}: completed`).length - 1).toBe(1);
      // OnlySeg fine-tunes for as many epochs as the RL variants train their agent (budget-fair, issue 15)
      expect((await s.epochs(r.id)).map((e) => `${e.phase}:${e.epoch}`)).toEqual(['pretrain:0', ...(r.variant === 'onlyseg' ? ['finetune:0', 'finetune:1'] : ['rl:0', 'rl:1'])]);
      expect((await s.allCases(r.id)).length).toBeGreaterThan(0);
    }
    expect(live.some((w) => w.log.includes(`${killedRun}: started`))).toBe(true);
    expect(existsSync(join(artifacts, experimentId, 'report.md'))).toBe(true);
    expect(readFileSync(join(artifacts, experimentId, 'report.md'), 'utf8')).toMatch(/Ablation analysis/);

    // The same run trained without interruption, in one process (`mrlseg train`), gives the same numbers.
    const killed = (await s.getRun(killedRun))!;
    const ref = join(dir, 'ref');
    await run(process.execPath, [bin, 'train', '--config', gridFile, '--store', ref, '--backend', 'wasm', '--no-pngs', '--fold', String(killed.fold), '--variant', `onlyseg,${killed.variant}`], { maxBuffer: 1 << 24 });
    const r = await openStore(ref, { readonly: true });
    const refRun = (await r.listRuns({ variant: killed.variant }))[0];
    await expectSameNumbers(s, killedRun, r, refRun.id);
    await r.close();
    await s.close();
  }

  it('a failing job is retried, then recorded as failed with its error; the report still runs', async () => {
    const st = await queueStatus(redis.url);
    const fail = st.experiments.find((e) => e.experimentId.startsWith('qfail-'))!;
    expect(fail).toMatchObject({ failed: 1, completed: 1 }); // the run failed, the report completed
    expect(fail.failedJobs[0]).toMatchObject({ kind: 'run', attempts: 2, reason: expect.stringMatching(/maskHistory/) });
    const s = await open({ readonly: true });
    const [r] = await s.listRuns({ experimentId: fail.experimentId });
    expect(r.status).toBe('failed');
    expect(r.error).toMatch(/rl\.maskHistory = true .*\(failed 2 of 2 attempts\)/);
    await s.close();
    const allLogs = workers.map((w) => w.log).join('');
    expect(allLogs).toMatch(/attempt 1 of 2 failed: .*maskHistory.*; retrying/);

    const text = { stdout: renderQueueStatus(st) };
    expect(text.stdout).toMatch(new RegExp(`${experimentId}\\s+0\\s+0\\s+${RUNS + FOLDS + 1}\\s+0`));
    expect(text.stdout).toMatch(/failed\s+qfail-\S+-rl-seg-f0-s5 after 2 attempt\(s\): .*maskHistory/);
  }, 120_000);

  it('SIGTERM stops a worker cleanly (exit 0)', async () => {
    const live = workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
    for (const w of live) w.child.kill('SIGTERM');
    for (const w of live) expect(await w.exited).toBe(0);
  }, 60_000);

  it('one clear line when the store or Redis is not there', async () => {
    const noStore = await run(process.execPath, [bin, 'worker', '--queue', redis.url, '--store', join(dir, 'nowhere')]).catch((e: { code: number; stderr: string }) => e);
    expect(noStore.stderr.trim()).toMatch(/^mrlseg: results store \S+nowhere has no mrlseg\.sqlite: point --store at the store the grid was enqueued with/);
    expect(noStore.stderr.trim().split('\n')).toHaveLength(1);
    await expect(queueStatus('redis://127.0.0.1:1')).rejects.toThrow(/^cannot reach Redis at redis:\/\/127\.0\.0\.1:1 \(.*\); start redis-server there or check --queue$/);
  }, 120_000);
});

