/**
 * Write throughput of the results store: case-metric rows per second, SQLite vs PostgreSQL.
 *
 *   node --import tsx packages/experiments/bench/store-throughput.ts [--runs 8] [--cases 2000] [--batch 500] [--writers 4] [--json]
 *
 * For each backend: a fresh store (SQLite in a temporary folder; PostgreSQL on a throwaway
 * server from @mrlseg/test-servers with its durable settings: fsync, synchronous_commit and
 * full_page_writes on, as a deployment runs), then `--writers` concurrent writers (async, one
 * store each, as separate workers would be) each record their share of `--runs` runs x
 * `--cases` cases through ResultsStore.recordCases in transactions of `--batch` rows. Reports
 * rows/s over the whole wall time, plus the one-row-per-transaction rate (batch 1, 200 rows).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { CaseMetricRecordInput } from '@mrlseg/types';
import { postgresUnavailable, startPostgres } from '@mrlseg/test-servers';
import { openStore, type ResultsStore } from '../src/index';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '8' }, cases: { type: 'string', default: '2000' }, batch: { type: 'string', default: '500' }, writers: { type: 'string', default: '4' }, json: { type: 'boolean' } },
});
const R = Number(values.runs);
const C = Number(values.cases);
const B = Number(values.batch);
const W = Number(values.writers);
for (const [k, v] of Object.entries({ runs: R, cases: C, batch: B, writers: W })) if (!Number.isInteger(v) || v < 1) throw new Error(`store-throughput: --${k} must be a positive integer`);

const kase = (runId: string, i: number): CaseMetricRecordInput => ({
  runId, caseId: `case_${String(i).padStart(6, '0')}`, patient: `p${i % 97}`, fbRatio: (i % 100) / 1000, foregroundFraction: (i % 100) / 1100, interval: '0-2%',
  dice: (i % 10) / 10, iou: (i % 10) / 20, precision: 0.5, recall: 0.5, hd: i % 50, hd95: i % 40, assd: 1.5, nsd: null, emptyGt: false, emptyPred: false, maskedFraction: 0.25, lesionMaskedFraction: 0.5,
});

async function prepare(open: () => Promise<ResultsStore>, runs: string[]): Promise<void> {
  const s = await open();
  await s.createExperiment({ id: 'bench', name: 'bench', dataset: 'synthetic', config: {}, configHash: 'b', gitCommit: null });
  for (const id of runs) await s.startRun({ id, experimentId: 'bench', variant: 'onlyseg', fold: 0, seed: 0, dataset: 'synthetic', backend: 'cpu', gitCommit: null, config: {} });
  await s.close();
}

async function measure(name: string, open: () => Promise<ResultsStore>) {
  const runs = Array.from({ length: R }, (_, i) => `run${i}`);
  await prepare(open, [...runs, 'single']);
  const writers = await Promise.all(Array.from({ length: W }, () => open()));
  const t0 = performance.now();
  await Promise.all(
    writers.map(async (s, w) => {
      for (const id of runs.filter((_, i) => i % W === w)) {
        for (let start = 0; start < C; start += B) {
          const batch = [];
          for (let i = start; i < Math.min(C, start + B); i++) batch.push(kase(id, i));
          await s.recordCases(batch);
        }
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const s = writers[0];
  const single = 200;
  const t1 = performance.now();
  for (let i = 0; i < single; i++) await s.recordCases([kase('single', i)]);
  const singleSeconds = (performance.now() - t1) / 1000;
  let total = 0;
  for (const id of runs) total += (await s.listCases(id)).total;
  for (const x of writers) await x.close();
  if (total !== R * C) throw new Error(`${name}: expected ${R * C} rows, found ${total}`);
  return { backend: name, rows: total, seconds: +seconds.toFixed(3), rowsPerSecond: Math.round(total / seconds), singleRowTransactionsPerSecond: Math.round(single / singleSeconds) };
}

const results = [];
const dir = mkdtempSync(join(tmpdir(), 'mrlseg-bench-store-'));
try {
  results.push(await measure('sqlite', () => openStore(join(dir, 'sqlite'))));
  const why = postgresUnavailable();
  if (why) console.error(why);
  else {
    const pg = await startPostgres({ durable: true });
    try {
      const url = await pg.createDatabase('bench');
      results.push(await measure('postgres', () => openStore(url, { artifacts: join(dir, 'pg-artifacts') })));
    } finally {
      await pg.stop();
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const setup = { runs: R, casesPerRun: C, batch: B, writers: W };
if (values.json) console.log(JSON.stringify({ setup, results }, null, 2));
else {
  console.log(`${R} runs x ${C} cases, ${W} writers, ${B} rows per transaction`);
  for (const r of results) console.log(`${r.backend.padEnd(9)} ${String(r.rowsPerSecond).padStart(8)} rows/s (${r.rows} rows in ${r.seconds} s); one row per transaction: ${r.singleRowTransactionsPerSecond}/s`);
}
