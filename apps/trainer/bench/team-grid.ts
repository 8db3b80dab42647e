/**
 * Issue 16's team check, scripted: `mrlseg worker`s on one PostgreSQL and one Redis (throwaway
 * servers from @mrlseg/test-servers, on loopback) process a grid of 12 tiny runs.
 *
 *   node --import tsx apps/trainer/bench/team-grid.ts [--workers 3] [--skip-timing] [--json]
 *
 * 1. Timing: the grid with 1 worker, then with `--workers`, each on a fresh database and Redis
 *    database; wall time from launching the workers to the grid's report job completing, and the
 *    part after the first worker was ready (start-up of tsx, TensorFlow.js and onnxruntime left out).
 * 2. Faults: the grid again with `--workers` workers; the first worker found in the second RL
 *    epoch of an RL run (its first one checkpointed) is killed with SIGKILL. Checked: every run completes, each exactly once (one
 *    'completed' line across all workers' logs), the killed run was started again by another
 *    worker, its curves and per-case metrics equal those of the same run trained without
 *    interruption (`mrlseg train`, SQLite store; tolerance 1e-6 relative: an Adam state restored from
 *    a checkpoint agrees to float32 rounding), and `mrlseg report --store postgres://...` prints
 *    the ablation table with every variant.
 * Exits 1 when a check fails. The grid: the synthetic dataset (16 patients x 2 slices, 32 px), the
 * tests' tiny Segmentation-Net, 4 folds x {OnlySeg, RL+Seg, RL+FB+Seg}, 2 pre-training and 2 RL
 * epochs: 12 runs, 4 shared pre-trainings and a report job.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { openStore, queueStatus, type ResultsStore } from '@mrlseg/experiments';
import { postgresUnavailable, redisUnavailable, startPostgres, startRedis, type PostgresServer } from '@mrlseg/test-servers';
import { MRLSEG_BIN, startWorker, until, type WorkerProc } from '../test/worker-procs';

const { values } = parseArgs({ options: { workers: { type: 'string', default: '3' }, 'skip-timing': { type: 'boolean' }, json: { type: 'boolean' } } });
const WORKERS = Number(values.workers);
if (!Number.isInteger(WORKERS) || WORKERS < 2) throw new Error(`team-grid: --workers must be an integer >= 2 (one is killed), got '${values.workers}'`);
for (const why of [postgresUnavailable(), redisUnavailable()]) if (why) throw new Error(`team-grid: ${why}`);

const bin = MRLSEG_BIN;
const run = promisify(execFile);
const GRID = {
  name: 'team-grid',
  dataset: { format: 'synthetic', synthetic: { count: 16, slicesPerPatient: 2, size: 32, seed: 3 } },
  preprocessing: { size: 32 },
  model: { preset: 'custom', segNet: { channels: [4, 8, 8, 16], hidden: 16, layers: 1, heads: 2, mlp: 32, decoderChannels: [8, 8, 4, 4] } },
  training: { epochs: 2, rlEpochs: 2, batchSize: 4, rlBatchSize: 4, lr: 0.003 },
  folds: { k: 4 },
  variants: ['onlyseg', 'rl-seg', 'rl-fb-seg'],
  seed: 5,
};
const RUNS = 12;
const JOBS = RUNS + 4 + 1;

const dir = mkdtempSync(join(tmpdir(), 'mrlseg-team-grid-'));
const gridFile = join(dir, 'grid.json');
writeFileSync(gridFile, JSON.stringify(GRID));
const failures: string[] = [];
const check = (ok: boolean, what: string) => {
  console.error(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures.push(what);
};


interface GridRun {
  experimentId: string;
  store: string;
  artifacts: string;
  workers: WorkerProc[];
  wallS: number;
  jobsOnlyS: number;
  killedRun: string | null;
  load: number[];
}

/** Enqueues the grid on a fresh database, runs `n` workers until the report job completes, optionally SIGKILLing one mid-run. */
async function grid(pg: PostgresServer, redisUrl: string, tag: string, n: number, kill: boolean): Promise<GridRun> {
  const store = await pg.createDatabase(`grid_${tag}`);
  const artifacts = join(dir, `artifacts-${tag}`);
  const queue = redisUrl;
  const { stdout } = await run(process.execPath, [bin, 'cv', '--config', gridFile, '--store', store, '--artifacts', artifacts, '--queue', queue, '--author', 'bench']);
  const experimentId = stdout.trim();
  const t0 = performance.now();
  const workers = Array.from({ length: n }, () => startWorker(queue, store, artifacts));
  // when the first worker logged that it is taking jobs (start-up done)
  let ready = 0;
  const readyPoll = setInterval(() => {
    if (!ready && workers.some((w) => / worker \S+ on redis:/.test(w.log))) ready = performance.now();
  }, 100);
  let killedRun: string | null = null;
  let end: number | undefined;
  try {
    if (kill) {
      // 'rl epoch 1/2' is logged when the first RL epoch is done (and checkpointed): the worker is in the second.
      const victim = await until('a worker in the second RL epoch of an RL run', () => workers.find((w) => /-rl-(fb-)?seg-f\d-s5: rl epoch 1\/2/.test(w.log)), 600_000);
      killedRun = /(\S+-rl-(?:fb-)?seg-f\d-s5): rl epoch 1\/2/.exec(victim.log)![1];
      victim.child.kill('SIGKILL');
      await victim.exited;
      console.error(`killed a worker (SIGKILL) in the second RL epoch of ${killedRun}`);
    }
    await until(
      'the grid to finish',
      async () => {
        const st = (await queueStatus(queue)).experiments.find((e) => e.experimentId === experimentId);
        return st && st.completed + st.failed === JOBS ? st : undefined;
      },
      1_800_000,
    );
    end = performance.now();
  } finally {
    clearInterval(readyPoll);
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGTERM');
    await Promise.all(workers.map((w) => w.exited));
  }
  const s = (ms: number) => +(ms / 1000).toFixed(1);
  return { experimentId, store, artifacts, workers, wallS: s(end! - t0), jobsOnlyS: ready ? s(end! - ready) : NaN, killedRun, load: loadavg().map((x) => +x.toFixed(1)) };
}

/** Curves and per-case metrics of run `aId` in `a` equal those of `bId` in `b` (1e-6 relative). */
async function sameNumbers(a: ResultsStore, aId: string, b: ResultsStore, bId: string): Promise<{ same: boolean; values: number; maxRelDiff: number }> {
  const ea = await a.epochs(aId);
  const eb = await b.epochs(bId);
  const ca = await a.allCases(aId);
  const cb = await b.allCases(bId);
  if (ea.map((e) => `${e.phase}:${e.epoch}`).join() !== eb.map((e) => `${e.phase}:${e.epoch}`).join()) return { same: false, values: 0, maxRelDiff: Infinity };
  if (ca.map((c) => c.caseId).join() !== cb.map((c) => c.caseId).join()) return { same: false, values: 0, maxRelDiff: Infinity };
  const pairs: [number | null, number | null][] = [
    ...ea.flatMap((e, i) => [[e.loss, eb[i].loss], [e.reward, eb[i].reward], [e.valDice, eb[i].valDice]] as [number | null, number | null][]),
    ...ca.flatMap((c, i) => [[c.dice, cb[i].dice], [c.hd, cb[i].hd], [c.hd95, cb[i].hd95], [c.maskedFraction, cb[i].maskedFraction]] as [number | null, number | null][]),
  ];
  let max = 0;
  let same = true;
  for (const [x, y] of pairs) {
    if (x === null || y === null) {
      same &&= x === y;
      continue;
    }
    const rel = Math.abs(x - y) / Math.max(1, Math.abs(y));
    max = Math.max(max, rel);
    same &&= rel <= 1e-6;
  }
  return { same, values: pairs.length, maxRelDiff: max };
}

const pg = await startPostgres({ durable: true });
const redis = await startRedis();
const results: Record<string, unknown> = { machine: 'shared 2-core machine, other sessions training at the same time', loadBefore: loadavg().map((x) => +x.toFixed(1)) };
try {
  if (!values['skip-timing']) {
    const one = await grid(pg, `${redis.url}/1`, 'one', 1, false);
    console.error(`1 worker: ${one.wallS} s (${one.jobsOnlyS} s after the worker was ready), load ${one.load.join(' ')}`);
    const many = await grid(pg, `${redis.url}/2`, 'many', WORKERS, false);
    console.error(`${WORKERS} workers: ${many.wallS} s (${many.jobsOnlyS} s after the first worker was ready), load ${many.load.join(' ')}`);
    results.timing = {
      oneWorker: { wallS: one.wallS, jobsOnlyS: one.jobsOnlyS, load: one.load },
      [`${WORKERS}Workers`]: { wallS: many.wallS, jobsOnlyS: many.jobsOnlyS, load: many.load, startedPerWorker: many.workers.map((w) => (w.log.match(/: started \(attempt/g) ?? []).length) },
    };
  }

  const g = await grid(pg, `${redis.url}/3`, 'kill', WORKERS, true);
  console.error(`${WORKERS} workers, one SIGKILLed: ${g.wallS} s, load ${g.load.join(' ')}`);
  const store = await openStore(g.store, { readonly: true, artifacts: g.artifacts });
  const runs = await store.listRuns({ experimentId: g.experimentId });
  const logs = g.workers.map((w) => w.log).join('');
  check(runs.length === RUNS, `${RUNS} runs in the store (found ${runs.length})`);
  check(
    runs.every((r) => r.status === 'completed'),
    `every run completed (${runs.filter((r) => r.status === 'completed').length} of ${runs.length})`,
  );
  const completions = runs.map((r) => logs.split(`${r.id}: completed`).length - 1);
  check(
    completions.every((c) => c === 1),
    `each run completed exactly once across the workers' logs (counts ${completions.join(',')})`,
  );
  const killed = (await store.getRun(g.killedRun!))!;
  const restartedBy = g.workers.filter((w) => w.child.signalCode !== 'SIGKILL' && w.log.includes(`${g.killedRun}: started`)).length;
  check(restartedBy === 1, `the killed run ${g.killedRun} was started again by one surviving worker`);

  // The same run without interruption, in one process, SQLite store.
  const ref = join(dir, 'ref');
  await run(process.execPath, [bin, 'train', '--config', gridFile, '--store', ref, '--backend', 'wasm', '--no-pngs', '--fold', String(killed.fold), '--variant', `onlyseg,${killed.variant}`], {
    maxBuffer: 1 << 24,
  });
  const r = await openStore(ref, { readonly: true });
  const refRun = (await r.listRuns({ variant: killed.variant }))[0];
  const same = await sameNumbers(store, killed.id, r, refRun.id);
  check(same.same, `the killed run's ${same.values} curve and case values equal the uninterrupted run's (max relative difference ${same.maxRelDiff.toExponential(2)})`);
  await r.close();
  await store.close();

  const report = await run(process.execPath, [bin, 'report', '--store', g.store, '--experiment', g.experimentId], { maxBuffer: 1 << 24 });
  process.stderr.write(`\n$ mrlseg report --store ${g.store} --experiment ${g.experimentId}\n${report.stdout}\n`);
  check(/Ablation/.test(report.stdout) && ['OnlySeg', 'RL+Seg', 'RL+FB+Seg'].every((v) => report.stdout.includes(v)), 'mrlseg report --store postgres://... prints the ablation table with every variant');
  results.faults = {
    workers: WORKERS,
    wallS: g.wallS,
    killedRun: g.killedRun,
    runsCompleted: runs.filter((x) => x.status === 'completed').length,
    maxRelDiffToUninterrupted: same.maxRelDiff,
    valuesCompared: same.values,
    load: g.load,
  };
} finally {
  await redis.stop();
  await pg.stop();
  rmSync(dir, { recursive: true, force: true });
}
results.failures = failures;
if (values.json) console.log(JSON.stringify(results, null, 2));
if (failures.length) process.exitCode = 1;
