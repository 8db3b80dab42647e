/**
 * `mrlseg --help` and the commands' own help must not load TensorFlow.js, onnxruntime, sharp,
 * SQLite or the network code: each command imports them inside its action (issue 17). The
 * child process runs with a resolve hook that lists every package it imports.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = dirname(dirname(fileURLToPath(import.meta.url)));
const bin = join(root, 'bin', 'mrlseg.mjs');
const trace = join(root, 'test', 'fixtures', 'import-trace.mjs');
const dir = mkdtempSync(join(tmpdir(), 'mrlseg-startup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Packages that only a running command may load. */
const HEAVY = [/^@tensorflow\//, /^onnxruntime-/, /^sharp$/, /^better-sqlite3$/, /^pg$/, /^kysely$/, /^bullmq$/, /^ioredis$/, /^@mrlseg\/(models|experiments|rl-core|rewards|data)$/, /^zod$/];

async function importsOf(args: string[], i: number): Promise<{ stdout: string; packages: string[] }> {
  const file = join(dir, `trace-${i}.txt`);
  const { stdout } = await run(process.execPath, ['--import', trace, bin, ...args], { env: { ...process.env, MRLSEG_IMPORT_TRACE: file } });
  return { stdout, packages: [...new Set(readFileSync(file, 'utf8').split('\n').filter(Boolean))] };
}

describe('mrlseg start-up', () => {
  it.each([[['--help']], [['predict', '--help']], [['train', '--help']], [['metrics', '--help']], [['data', 'inspect', '--help']], [['bench', 'episode', '--help']], [['report', '--help']], [['worker', '--help']], [['store', 'copy', '--help']]])(
    'mrlseg %j loads no heavy package',
    async (args) => {
      const { stdout, packages } = await importsOf(args, args.length * 10 + args[0].length);
      expect(stdout).toContain('Usage: mrlseg');
      // The hook sees the CLI's own imports (commander proves it is working)...
      expect(packages).toContain('commander');
      // ...and none of the heavy ones.
      expect(packages.filter((p) => HEAVY.some((h) => h.test(p)))).toEqual([]);
    },
  );

  it('a command that runs loads what it needs (the trace is not vacuous)', async () => {
    const missing = join(dir, 'missing.png');
    const err = await importsOf(['metrics', '--pred', missing, '--gt', missing], 99).then(
      () => null,
      (e: { stderr: string }) => e,
    );
    expect(err?.stderr).toMatch(/cannot read prediction mask/);
    const packages = readFileSync(join(dir, 'trace-99.txt'), 'utf8').split('\n');
    expect(packages).toContain('@mrlseg/metrics');
    expect(packages).toContain('@mrlseg/data');
  });
});
