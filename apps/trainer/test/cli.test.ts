import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Command } from 'commander';
import { describe, expect, it, vi } from 'vitest';
import { register as registerBench } from '../src/commands/bench';
import { parseConvEngine, selectBackend } from '../src/backend';

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
    // onnxruntime-node is installed with the workspace, so the convolutions run there by default.
    expect(r).toMatchObject({ convEngine: 'onnxruntime', convThreads: expect.any(Number) });
    expect(r.trainStepMs).toBeGreaterThan(0);
    expect(r.predictMs).toBeGreaterThan(0);
  });

  it.runIf(process.env.MRLSEG_LONG_TESTS === '1')('bench train-step --workers 2 trains data-parallel and says so', async () => {
    const { stdout } = await run(process.execPath, [bin, 'bench', 'train-step', '--size', '16', '--batch', '2', '--steps', '1', '--workers', '2', '--backend', 'wasm', '--json']);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const r = JSON.parse(lines[0]);
    expect(r).toMatchObject({ framework: 'tfjs', backend: 'wasm', size: 16, batch: 2, workers: 2 });
    expect(r.trainStepMs).toBeGreaterThan(0);
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

/** Runs `mrlseg bench ...` in this process (no process start-up) and returns what it printed. */
async function benchInProcess(args: string[]): Promise<string[]> {
  const program = new Command().exitOverride();
  registerBench(program);
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => {
    lines.push(a.join(' '));
  });
  try {
    await program.parseAsync(['node', 'mrlseg', 'bench', ...args]);
  } finally {
    spy.mockRestore();
  }
  return lines;
}

describe('mrlseg bench predict (in process)', () => {
  it('--engine onnxruntime prints one JSON line with the session options', async () => {
    const lines = await benchInProcess(['predict', '--engine', 'onnxruntime', '--size', '32', '--batch', '2', '--steps', '1', '--threads', '1', '--json']);
    expect(lines).toHaveLength(1);
    const r = JSON.parse(lines[0]);
    expect(r).toMatchObject({ framework: 'onnxruntime', model: 'bench-unet', size: 32, batch: 2, threads: 1, optLevel: 'all', executionMode: 'sequential' });
    expect(r.predictMs).toBeGreaterThan(0);
  });
  it('rejects an unknown engine, an unknown model and --workers off the wasm backend by name', async () => {
    await expect(benchInProcess(['predict', '--engine', 'tensorrt'])).rejects.toThrow('--engine must be one of onnxruntime, tfjs');
    await expect(benchInProcess(['predict', '--model', 'vgg'])).rejects.toThrow('--model must be one of bench-unet, seg-net-cpu');
    await expect(benchInProcess(['train-step', '--workers', '2', '--backend', 'cpu', '--json'])).rejects.toThrow('use --backend wasm');
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
  it('wasm names its convolution engine: onnxruntime by default, the wasm kernels on request', async () => {
    const ort = await selectBackend('wasm', { threads: 1 });
    expect(ort).toMatchObject({ backend: 'wasm', label: 'wasm+onnxruntime', convEngine: 'onnxruntime' });
    expect(ort.reason).toMatch(/convolutions on onnxruntime-node \S+, 1 thread$/);
    const plain = await selectBackend('wasm', { convEngine: 'wasm' });
    expect(plain).toMatchObject({ backend: 'wasm', label: 'wasm', convEngine: 'wasm' });
    expect((await selectBackend('cpu')).label).toBe('cpu');
  });
  it.each([
    [undefined, undefined],
    ['onnxruntime', 'onnxruntime'],
    ['wasm', 'wasm'],
  ])('--conv-engine %s is accepted as %s', (v, want) => {
    expect(parseConvEngine(v)).toBe(want);
  });
  it('--conv-engine with an unknown engine names the flag and the choices', () => {
    expect(() => parseConvEngine('cuda')).toThrow("--conv-engine must be one of onnxruntime, wasm, got 'cuda'");
  });
});
