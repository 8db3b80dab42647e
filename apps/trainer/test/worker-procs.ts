/**
 * `mrlseg worker` child processes for the queue test and the team-grid bench: start one against a
 * queue and a store, collect its stderr, and wait for a condition with a deadline.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The trainer's CLI entry point. */
export const MRLSEG_BIN = join(dirname(dirname(fileURLToPath(import.meta.url))), 'bin', 'mrlseg.mjs');

export interface WorkerProc {
  child: ChildProcess;
  /** Everything the worker wrote to stderr so far. */
  log: string;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
}

/** Starts `mrlseg worker` on the wasm backend with a 15 s job lock (stalls are detected in about 30 s). */
export function startWorker(queue: string, store: string, artifacts: string): WorkerProc {
  const child = spawn(process.execPath, [MRLSEG_BIN, 'worker', '--queue', queue, '--store', store, '--artifacts', artifacts, '--backend', 'wasm', '--no-pngs', '--lock-ms', '15000'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const w: WorkerProc = { child, log: '', exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))) };
  child.stderr!.on('data', (d) => (w.log += String(d)));
  return w;
}

/** Polls `fn` every 250 ms until it returns something other than undefined; throws after `timeoutMs`. */
export async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs: number): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
