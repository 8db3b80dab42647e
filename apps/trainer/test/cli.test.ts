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

  it('bench train-step --workers 2 trains data-parallel and says so', async () => {
    const { stdout } = await run(process.execPath, [bin, 'bench', 'train-step', '--size', '16', '--batch', '2', '--steps', '1', '--workers', '2', '--backend', 'wasm', '--json']);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const r = JSON.parse(lines[0]);
    expect(r).toMatchObject({ framework: 'tfjs', backend: 'wasm', size: 16, batch: 2, workers: 2 });
    expect(r.trainStepMs).toBeGreaterThan(0);
  });

  it('bench predict --engine onnxruntime prints one JSON line with the session options', async () => {
    const { stdout } = await run(process.execPath, [bin, 'bench', 'predict', '--engine', 'onnxruntime', '--size', '32', '--batch', '2', '--steps', '1', '--threads', '1', '--json']);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const r = JSON.parse(lines[0]);
    expect(r).toMatchObject({ framework: 'onnxruntime', model: 'bench-unet', size: 32, batch: 2, threads: 1, optLevel: 'all', executionMode: 'sequential' });
    expect(r.predictMs).toBeGreaterThan(0);
  });

  it('bench predict and train-step reject an unknown engine and workers off the wasm backend by name', async () => {
    await expect(run(process.execPath, [bin, 'bench', 'predict', '--engine', 'tensorrt'])).rejects.toMatchObject({ stderr: expect.stringContaining('--engine must be one of onnxruntime, tfjs') });
    await expect(run(process.execPath, [bin, 'bench', 'train-step', '--workers', '2', '--backend', 'cpu'])).rejects.toMatchObject({ stderr: expect.stringContaining('use --backend wasm') });
  });

  it.runIf(process.env.MRLSEG_LONG_TESTS === '1')('bench episode runs a full MRL-Seg episode and reports its phases', async () => {
    const { stdout } = await run(process.execPath, [bin, 'bench', 'episode', '--size', '16', '--batch', '2', '--episode-length', '2', '--steps', '1', '--json']);
    const r = JSON.parse(stdout.trim());
    expect(r).toMatchObject({ model: 'mrlseg-cpu', size: 16, batch: 2, episodeLength: 2 });
    expect(r.episodeMs).toBeGreaterThan(0);
    expect(Object.keys(r.phaseMs)).toEqual(expect.arrayContaining(['policyForwardMs', 'segForwardMs', 'backwardMs', 'segFinetuneMs']));
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
