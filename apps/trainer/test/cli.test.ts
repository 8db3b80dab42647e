import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { selectBackend } from '../src/backend';

const run = promisify(execFile);
const bin = join(dirname(dirname(fileURLToPath(import.meta.url))), 'bin', 'mrlseg.mjs');

describe('mrlseg CLI', () => {
  it('prints help listing the bench command', async () => {
    const { stdout } = await run(process.execPath, [bin, '--help']);
    expect(stdout).toContain('Usage: mrlseg');
    expect(stdout).toContain('bench');
  });

  it('bench train-step prints exactly one JSON line with the bench-unet fields', async () => {
    const { stdout } = await run(process.execPath, [bin, 'bench', 'train-step', '--model', 'bench-unet', '--size', '32', '--batch', '2', '--steps', '1', '--backend', 'wasm', '--json']);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const r = JSON.parse(lines[0]);
    expect(r).toMatchObject({ framework: 'tfjs', backend: 'wasm', size: 32, batch: 2 });
    expect(r.trainStepMs).toBeGreaterThan(0);
    expect(r.predictMs).toBeGreaterThan(0);
  });

  it('rejects a bad --size and an unknown backend with a non-zero exit and a clear message', async () => {
    await expect(run(process.execPath, [bin, 'bench', 'train-step', '--size', 'abc'])).rejects.toMatchObject({ stderr: expect.stringContaining('--size must be a positive integer') });
    await expect(run(process.execPath, [bin, 'bench', 'train-step', '--backend', 'metal'])).rejects.toMatchObject({ stderr: expect.stringContaining('--backend must be one of') });
  });
});

describe('selectBackend', () => {
  it('auto falls back past the native backends and says why', async () => {
    const sel = await selectBackend('auto');
    // On machines without native TensorFlow (CI here), auto lands on wasm and names what it skipped.
    if (sel.choice === 'wasm') {
      expect(sel.reason).toMatch(/tensorflow-gpu unavailable/);
      expect(sel.reason).toMatch(/tensorflow unavailable/);
    }
    expect(['tensorflow-gpu', 'tensorflow', 'wasm']).toContain(sel.choice);
  });
  it('an explicit native backend that cannot load fails with its name', async () => {
    let native = true;
    try {
      await import(['@tensorflow', 'tfjs-node'].join('/'));
    } catch {
      native = false;
    }
    if (native) return; // a machine with tfjs-node installed: nothing to show here
    await expect(selectBackend('tensorflow')).rejects.toThrow(/--backend tensorflow/);
  });
  it('cpu is selectable', async () => {
    expect((await selectBackend('cpu')).backend).toBe('cpu');
  });
});
