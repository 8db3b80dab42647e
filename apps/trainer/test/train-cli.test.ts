import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '@mrlseg/experiments';
import { configFromFlags } from '../src/commands/train';
import { TINY_CONFIG } from './train-fixtures';

const run = promisify(execFile);
const bin = join(dirname(dirname(fileURLToPath(import.meta.url))), 'bin', 'mrlseg.mjs');
const dir = mkdtempSync(join(tmpdir(), 'mrlseg-cli-'));
const store = join(dir, 'store');
const cfgFile = join(dir, 'tiny.json');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('mrlseg train from a config with flag overrides, then mrlseg report', () => {
  let out: { experimentId: string; runs: { runId: string; status: string; cases: number; plan: { variant: string } }[]; onnx: { path: string } | null };
  let stderr: string;
  beforeAll(async () => {
    writeFileSync(cfgFile, JSON.stringify(TINY_CONFIG));
    const r = await run(process.execPath, [bin, 'train', '--config', cfgFile, '--variant', 'onlyseg,rl-fb-adp-seg', '--epochs', '2', '--store', store, '--backend', 'wasm', '--export-onnx', join(dir, 'best.onnx'), '--json'], { maxBuffer: 1 << 24 });
    out = JSON.parse(r.stdout);
    stderr = r.stderr;
  }, 120_000);

  it('prints the backend, JSON progress lines on a pipe and the result as JSON', async () => {
    expect(stderr).toMatch(/"text":"backend: wasm\+onnxruntime \(requested wasm; convolutions on onnxruntime-node [0-9.]+, \d threads?\)"/);
    expect(stderr).toMatch(/"type":"epoch"/);
    expect(out.runs.map((r) => [r.plan.variant, r.status, r.cases])).toEqual([
      ['onlyseg', 'completed', 4],
      ['rl-fb-adp-seg', 'completed', 4],
    ]);
    expect(existsSync(out.onnx!.path)).toBe(true);
  });

  it('stores the runs with the flags applied over the file', async () => {
    const s = await openStore(store, { readonly: true });
    try {
      const runs = (await s.listRuns({ experimentId: out.experimentId }));
      expect(runs).toHaveLength(2);
      const cfg = runs[1].config as { training: { epochs: number; rlEpochs: number }; seed: number };
      expect(cfg.training).toMatchObject({ epochs: 2, rlEpochs: 1 });
      expect((await s.epochs(runs[1].id)).map((e) => `${e.phase}:${e.epoch}`)).toEqual(['pretrain:0', 'pretrain:1', 'rl:0']);
      expect(runs[0].gitCommit === null || /^[0-9a-f]{40}/.test(runs[0].gitCommit)).toBe(true);
      // The backend recorded with its convolution engine, so the run says what computed it.
      expect(runs.map((r) => r.backend)).toEqual(['wasm+onnxruntime', 'wasm+onnxruntime']);
    } finally {
      await s.close();
    }
  });

  it('report --format json lists both variants with per-interval Dice; md prints the ablation table (csv, latex: experiments report tests)', async () => {
    const j = JSON.parse((await run(process.execPath, [bin, 'report', '--store', store, '--format', 'json'])).stdout);
    expect(j.variants.map((v: { variant: string }) => v.variant)).toEqual(['onlyseg', 'rl-fb-adp-seg']);
    expect(Object.keys(j.byVariant['rl-fb-adp-seg'].dice)).toEqual(['0-2%', '2-4%', '4-6%', '6-8%', '8-10%', 'Avg']);
    const md = (await run(process.execPath, [bin, 'report', '--store', store, '--experiment', out.experimentId])).stdout;
    expect(md).toContain('Ablation analysis of key components (Table V)');
    expect(md).toMatch(/\| RL\+FB\+ADP\+Seg \|/);
  }, 60_000);
});

describe('clear errors', () => {
  it.each([
    [{ config: join(dir, 'missing.json') }, /config file .*missing\.json not found/],
    [{ dataset: join(dir, 'nowhere'), format: 'busi' }, /dataset\.root: dataset folder .*nowhere does not exist/],
    [{ dataset: dir }, /--dataset needs --format <loader>/],
    [{ variant: 'rl-only' }, /--variant: unknown variant 'rl-only'/],
    [{ format: 'dicomdir' }, /--format must be one of kits19/],
    [{ size: 50 }, /experiment config from flags: preprocessing\.size: must be a multiple of 16/],
    [{ folds: 1 }, /folds\.k: must be 0 \(train on everything, no held-out fold\) or at least 2/],
  ])('flags %j', async (flags, msg) => {
    await expect(configFromFlags({ store, backend: 'wasm', ...flags })).rejects.toThrow(msg);
  });

  it('flags override the file field by field', async () => {
    const c = await configFromFlags({ store, backend: 'wasm', config: cfgFile, variant: 'unet', size: 64, rlEpochs: 3, folds: 0, seed: 9 });
    expect(c).toMatchObject({ variant: 'unet', variants: [], seed: 9, preprocessing: { size: 64 }, training: { epochs: 1, rlEpochs: 3 }, folds: { k: 0 } });
    expect(c.dataset.synthetic.count).toBe(16);
  });

  it.each([
    [['train', '--config', join(dir, 'missing.json')], /^mrlseg: config file .*missing\.json not found/m],
    [['report', '--store', join(dir, 'empty')], /no mrlseg\.sqlite there/],
  ])('mrlseg %j exits non-zero with the message', async (args, msg) => {
    await expect(run(process.execPath, [bin, ...args])).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(msg) });
  }, 60_000);
});
