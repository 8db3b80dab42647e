/**
 * `mrlseg worker`: takes jobs from the grid queue (`mrlseg cv --queue`) until SIGINT/SIGTERM, then
 * stops after the current training step (the job goes back to the queue, continuing from its last
 * finished epoch) and exits; a second signal exits at once. Run one per GPU machine, all with the
 * same --queue and --store. One line per job event goes to stderr.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { DB_FILE, isPostgresUrl } from '@mrlseg/experiments/constants';
import { BACKEND_CHOICES, CONV_ENGINES, parseConvEngine, selectBackend, type BackendChoice } from '../backend';
import { addStoreFlags, openStoreFromFlags, type StoreFlags } from '../store-flags';

interface WorkerFlags extends StoreFlags {
  queue: string;
  backend: BackendChoice;
  convEngine?: string;
  concurrency: number;
  lockMs: number;
  pngs?: boolean;
}

const intArg = (name: string, min: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got '${v}'`);
  return n;
};

export function register(program: Command): void {
  addStoreFlags(
    program
      .command('worker')
      .description('take experiment jobs from the queue (mrlseg cv --queue) until stopped; SIGINT/SIGTERM stop after the current step and requeue the job (--store: the one the grid was enqueued with)'),
  )
    .requiredOption('--queue <url>', 'the grid queue: redis://host:port[/db]')
    .option('--backend <name>', `TensorFlow.js backend (${BACKEND_CHOICES.join('|')})`, 'auto')
    .option('--conv-engine <name>', `convolutions on the wasm backend (${CONV_ENGINES.join('|')}; default onnxruntime when it loads)`)
    .option('--concurrency <n>', 'jobs at once in this process', intArg('concurrency', 1), 1)
    .option('--lock-ms <ms>', "a job's lock lifetime: a dead worker's job is handed to another within about 2x this (it must exceed the longest training step)", intArg('lock-ms', 1000), 60_000)
    .option('--no-pngs', 'do not write per-case PNGs')
    .action(async (o: WorkerFlags) => {
      if (!BACKEND_CHOICES.includes(o.backend)) throw new Error(`--backend must be one of ${BACKEND_CHOICES.join(', ')}, got '${o.backend}'`);
      if (!isPostgresUrl(o.store) && !existsSync(join(resolve(o.store), DB_FILE))) {
        throw new Error(`results store ${resolve(o.store)} has no ${DB_FILE}: point --store at the store the grid was enqueued with (mrlseg cv --queue ... --store ...)`);
      }
      const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);
      const sel = await selectBackend(o.backend, { convEngine: parseConvEngine(o.convEngine) });
      const { startGridWorker } = await import('@mrlseg/experiments');
      const store = await openStoreFromFlags(o, { needsArtifacts: true });
      let worker;
      try {
        worker = await startGridWorker({ queue: o.queue, store, backend: sel.label, concurrency: o.concurrency, lockMs: o.lockMs, writePngs: o.pngs !== false, log });
      } catch (e) {
        await store.close();
        throw e;
      }
      log(`worker ${worker.name} on ${o.queue}, store ${store.location}, backend ${sel.label} (${sel.reason}), concurrency ${o.concurrency}`);
      const w = worker;
      await new Promise<void>((done) => {
        const second = () => {
          log('stopping again: exiting now');
          process.exit(130);
        };
        const first = (sig: string) => {
          log(`${sig}: stopping after the current step; its job goes back to the queue (${sig} again to quit now)`);
          process.on('SIGINT', second);
          process.on('SIGTERM', second);
          w.stop().then(done, (e: unknown) => {
            log(`stopping: ${e instanceof Error ? e.message : String(e)}`);
            done();
          });
        };
        process.once('SIGINT', () => first('SIGINT'));
        process.once('SIGTERM', () => first('SIGTERM'));
      });
      await store.close();
      log(`worker ${w.name} stopped`);
      // Connections that could not close (Redis away) would keep the process alive.
      process.exit(0);
    });
}
