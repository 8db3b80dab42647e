import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Command } from 'commander';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { register } from '../src/commands/data';

const run = promisify(execFile);
const bin = join(dirname(dirname(fileURLToPath(import.meta.url))), 'bin', 'mrlseg.mjs');

/**
 * Runs `mrlseg <args>` in-process on a program holding only the data commands (a subprocess pays
 * the whole CLI's start-up each time); throws like a failed process, with code and stderr.
 */
async function mrlseg(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  const program = new Command('mrlseg').exitOverride().configureOutput({ writeErr: (t) => void err.push(t), writeOut: (t) => void out.push(t) });
  register(program);
  const before = process.exitCode;
  try {
    await program.parseAsync(['node', 'mrlseg', ...args]);
  } catch (e) {
    err.push(e instanceof Error ? e.message : String(e));
    throw Object.assign(new Error(err.join('\n')), { code: 1, stderr: err.join('\n') });
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
  const code = process.exitCode;
  process.exitCode = before;
  const res = { stdout: out.join('\n'), stderr: err.join('\n') };
  if (code) throw Object.assign(new Error(res.stderr), { code, ...res });
  return res;
}

describe('mrlseg data', () => {
  const root = mkdtempSync(join(tmpdir(), 'mrlseg-data-cli-'));
  const ds = join(root, 'synth');

  beforeAll(async () => {
    const { stdout } = await mrlseg('data', 'synth', '--out', ds, '--count', '12', '--size', '32', '--seed', '5', '--slices-per-patient', '2');
    expect(stdout).toContain('wrote 12 slices');
  }, 120_000);

  it('synth writes images/, masks/ and synthetic.json', () => {
    expect(readdirSync(join(ds, 'images'))).toHaveLength(12);
    expect(readdirSync(join(ds, 'masks'))).toHaveLength(12);
    expect(JSON.parse(readFileSync(join(ds, 'synthetic.json'), 'utf8'))).toMatchObject({ count: 12, size: 32, seed: 5 });
  });

  it('inspect --json prints one object per slice with fbRatio = foreground / background', async () => {
    const { stdout } = await mrlseg('data', 'inspect', ds, '--format', 'synthetic', '--json');
    const rows = JSON.parse(stdout) as { id: string; patient: string; width: number; height: number; fbRatio: number; foregroundPixels: number }[];
    expect(rows).toHaveLength(12);
    expect(new Set(rows.map((r) => r.patient)).size).toBe(6);
    for (const r of rows) {
      expect(r).toMatchObject({ width: 32, height: 32 });
      expect(r.fbRatio).toBeCloseTo(r.foregroundPixels / (1024 - r.foregroundPixels), 12);
    }
  });

  it('inspect without --json prints the count per fbRatio interval', async () => {
    const { stdout } = await mrlseg('data', 'inspect', ds, '--format', 'folder');
    expect(stdout).toMatch(/12 2-D samples from 6 patients, 0 problem\(s\)/);
    const counts = [...stdout.matchAll(/^(?:no foreground|\d+-\d+%|above last edge)\s+(\d+)$/gm)].map((m) => Number(m[1]));
    expect(counts).toHaveLength(7);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(12);
  });

  it('split writes k patient-level folds', async () => {
    const out = join(root, 'split.json');
    await mrlseg('data', 'split', ds, '--format', 'synthetic', '--folds', '3', '--seed', '1', '--out', out);
    const split = JSON.parse(readFileSync(out, 'utf8')) as { k: number; folds: { patients: string[]; samples: string[] }[] };
    expect(split.k).toBe(3);
    const patients = split.folds.flatMap((f) => f.patients);
    expect(new Set(patients).size).toBe(6);
    expect(patients).toHaveLength(6);
    expect(split.folds.flatMap((f) => f.samples)).toHaveLength(12);
  });

  it('a truncated image is named; inspect carries on and fails only with --strict', async () => {
    const bad = join(root, 'bad');
    await mrlseg('data', 'synth', '--out', bad, '--count', '4', '--size', '32', '--seed', '2');
    const file = join(bad, 'images', readdirSync(join(bad, 'images'))[1]);
    const bytes = readFileSync(file);
    writeFileSync(file, bytes.subarray(0, bytes.length >> 1));
    const ok = await mrlseg('data', 'inspect', bad, '--format', 'synthetic', '--json');
    expect(JSON.parse(ok.stdout)).toHaveLength(3);
    expect(ok.stderr).toContain(file);
    await expect(mrlseg('data', 'inspect', bad, '--format', 'synthetic', '--strict')).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining(file) });
  });

  it('end to end through bin/mrlseg.mjs: --strict exits 2 and names the truncated file', async () => {
    const bad = join(root, 'bad-e2e');
    await mrlseg('data', 'synth', '--out', bad, '--count', '2', '--size', '32', '--seed', '3');
    const file = join(bad, 'images', readdirSync(join(bad, 'images'))[0]);
    writeFileSync(file, readFileSync(file).subarray(0, 60));
    await expect(run(process.execPath, [bin, 'data', 'inspect', bad, '--format', 'synthetic', '--strict'])).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining(`problem: ${file}`),
    });
  });

  it('rejects an unknown format with the allowed list', async () => {
    await expect(mrlseg('data', 'inspect', ds, '--format', 'dicom')).rejects.toMatchObject({ stderr: expect.stringContaining('--format must be one of') });
  });
});
