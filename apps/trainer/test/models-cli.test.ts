/**
 * `mrlseg models init|summary`, `export-onnx` and `predict`: determinism by seed, the summary,
 * ONNX files the official checker accepts, and the same probability map (to 1 grey level) from
 * a checkpoint and from its ONNX export on a real CT slice of shared/data/pancreas-ct.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { decodeGrey, encodeGreyPng } from '@mrlseg/data';
import { countParams, loadCheckpoint, onnxModelInfo, usePortableBackend } from '@mrlseg/models';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportOnnxCommand, formatSummary, modelsInit, modelsSummary } from '../src/commands/models';
import { predictCommand } from '../src/commands/predict';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const bin = join(dirname(here), 'bin', 'mrlseg.mjs');
const repoRoot = join(here, '..', '..', '..');
const sharedData = process.env.MRLSEG_SHARED_DATA ?? join(repoRoot, '..', 'shared', 'data');
const ctDir = join(sharedData, 'pancreas-ct', 'images');
const ctSlice = existsSync(ctDir) ? readdirSync(ctDir).filter((f) => /\.(png|jpe?g)$/i.test(f)).sort()[0] : undefined;
const hasOnnx = spawnSync('/usr/bin/python3', ['-c', 'import onnx'], { stdio: 'ignore' }).status === 0;

const root = mkdtempSync(join(tmpdir(), 'mrlseg-models-cli-'));
const p = (f: string) => join(root, f);
beforeAll(async () => {
  await usePortableBackend('wasm');
  await modelsInit({ model: 'seg-net', preset: 'cpu', size: 64, seed: 3, out: p('seg') });
  await modelsInit({ model: 'rl-net', preset: 'cpu', size: 64, seed: 4, out: p('rl') });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('models init and summary', () => {
  it('is deterministic by seed: same seed, same weights.bin; another seed differs', async () => {
    await modelsInit({ model: 'unet', size: 32, seed: 1, baseWidth: 4, out: p('u1') });
    await modelsInit({ model: 'unet', size: 32, seed: 1, baseWidth: 4, out: p('u2') });
    await modelsInit({ model: 'unet', size: 32, seed: 2, baseWidth: 4, out: p('u3') });
    const w = (d: string) => readFileSync(join(p(d), 'weights.bin'));
    expect(w('u1').equals(w('u2'))).toBe(true);
    expect(w('u1').equals(w('u3'))).toBe(false);
    expect(JSON.parse(readFileSync(join(p('u1'), 'config.json'), 'utf8')).spec).toEqual({ kind: 'unet', baseWidth: 4, inputSize: 32, seed: 1 });
  });
  it('summary reports the checkpoint parameter count and FLOPs at its size', async () => {
    const { spec, summary } = await modelsSummary(p('seg'));
    const { model } = await loadCheckpoint(p('seg'));
    expect(summary.totalParams).toBe(countParams(model));
    model.dispose();
    // the first conv: 3x3, 1 -> 16 channels at 32 x 32 outputs
    expect(summary.layers.find((l) => l.name === 'stem_1_conv')?.flops).toBe(2 * 32 * 32 * 9 * 16);
    const text = formatSummary(spec, summary);
    expect(text).toContain(`parameters: ${summary.totalParams}`);
    expect(text).toMatch(/FLOPs per forward \(batch 1, 64 px\): \d+/);
  });
  it.each([
    [{ model: 'vit' as never, size: 64, seed: 0, out: p('x') }, /--model must be one of seg-net, rl-net, unet, resunet, got 'vit'/],
    [{ model: 'seg-net' as const, size: 40, seed: 0, out: p('x') }, /--size must be a multiple of 16/],
    [{ model: 'seg-net' as const, preset: 'gpu' as never, size: 64, seed: 0, out: p('x') }, /--preset must be cpu or paper/],
  ])('rejects bad options (%#)', async (o, msg) => {
    await expect(modelsInit(o)).rejects.toThrow(msg);
  });
});

describe('export-onnx and predict', () => {
  it('exports the Segmentation-Net and the MRL-Seg graph with named NHWC interfaces', async () => {
    expect((await exportOnnxCommand({ checkpoint: p('seg'), out: p('seg.onnx') })).outputs).toEqual(['probabilities']);
    expect((await exportOnnxCommand({ checkpoint: p('rl'), out: p('rl.onnx') })).outputs).toEqual(['policy', 'value']);
    const r = await exportOnnxCommand({ checkpoint: p('rl'), segCheckpoint: p('seg'), steps: 4, maskValue: 0, out: p('mrlseg.onnx') });
    expect(r.outputs).toEqual(['probabilities', 'actions']);
    const info = onnxModelInfo(readFileSync(p('mrlseg.onnx')));
    expect(info).toMatchObject({ irVersion: 8, opset: 17, inputs: [{ name: 'image', dims: ['batch', 64, 64, 1] }] });
    await expect(exportOnnxCommand({ checkpoint: p('seg'), segCheckpoint: p('seg'), out: p('bad.onnx') })).rejects.toThrow(/--seg-checkpoint needs --checkpoint to be an rl-net, got a 'seg-net'/);
  });

  it.runIf(hasOnnx)('the official checker (full check) accepts the exported files', () => {
    const script = 'import sys, onnx\nfor f in sys.argv[1:]:\n    onnx.checker.check_model(onnx.load(f), full_check=True)\nprint("ok")';
    expect(execFileSync('/usr/bin/python3', ['-c', script, p('seg.onnx'), p('rl.onnx'), p('mrlseg.onnx')], { encoding: 'utf8' }).trim()).toBe('ok');
  });
  it.skipIf(hasOnnx)('skipped: /usr/bin/python3 cannot import onnx, the official checker is not run', () => {});

  it.runIf(ctSlice)('checkpoint and ONNX export give the same probability map (to 1 grey level) on a real CT slice', async () => {
    const image = join(ctDir, ctSlice!);
    const a = (await predictCommand({ model: p('seg'), input: image, out: p('ckpt.png'), probabilities: true })).cases[0];
    const b = (await predictCommand({ model: p('seg.onnx'), input: image, out: p('onnx.png'), probabilities: true })).cases[0];
    const src = await decodeGrey(image);
    expect([...a.dims, ...b.dims]).toEqual([src.width, src.height, src.width, src.height]);
    const pa = await decodeGrey(p('ckpt.png'));
    const pb = await decodeGrey(p('onnx.png'));
    expect([pa.width, pa.height]).toEqual([src.width, src.height]);
    let d = 0;
    for (let i = 0; i < pa.data.length; i++) d = Math.max(d, Math.abs(pa.data[i] - pb.data[i]));
    expect(d).toBeLessThanOrEqual(1);
    expect(new Set(pa.data).size).toBeGreaterThan(10); // a real probability map, not a constant
    // the binary mask is 0/255 and counts the pixels at p >= 0.5
    const m = await predictCommand({ model: p('seg.onnx'), input: image, out: p('mask.png') });
    const mask = await decodeGrey(p('mask.png'));
    expect([...new Set(mask.data)].every((v) => v === 0 || v === 255)).toBe(true);
    expect(mask.data.filter((v) => v === 255).length).toBe(m.cases[0].foreground);
    // the whole MRL-Seg graph predicts too
    const r = await predictCommand({ model: p('mrlseg.onnx'), input: image, out: p('mrlseg.png'), probabilities: true });
    expect(r.modelSize).toEqual([64, 64]);
  });
  it.skipIf(ctSlice)(`skipped: no CT slice under ${ctDir} (set MRLSEG_SHARED_DATA)`, () => {});

  it('names what is wrong with the model or the image', async () => {
    // Without the shared data, a generated grey PNG stands in (the errors concern the model).
    let img = ctSlice ? join(ctDir, ctSlice) : p('fixture.png');
    if (!ctSlice) {
      writeFileSync(img, await encodeGreyPng(Uint8Array.from({ length: 40 * 30 }, (_, i) => (i * 37) % 256), 40, 30));
      img = p('fixture.png');
    }
    await expect(predictCommand({ model: p('rl'), input: img, out: p('o.png') })).rejects.toThrow(/is a Reinforcement-Net \(policy\/value\)/);
    await expect(predictCommand({ model: p('rl.onnx'), input: img, out: p('o.png') })).rejects.toThrow(/has no 'probabilities' output \(outputs: policy, value\)/);
    await expect(predictCommand({ model: p('missing'), input: img, out: p('o.png') })).rejects.toThrow(/predict: --model '.*missing' does not exist/);
    await expect(predictCommand({ model: p('seg'), input: p('no-such.png'), out: p('o.png') })).rejects.toThrow(/predict: --input '.*no-such.png' does not exist/);
    writeFileSync(p('broken.png'), 'not a PNG');
    await expect(predictCommand({ model: p('seg'), input: p('broken.png'), out: p('o.png') })).rejects.toThrow(/cannot decode image '.*broken.png'/);
  });
});

describe('mrlseg binary', () => {
  it('registers models init and rejects a bad --model with a clear message and a non-zero exit', async () => {
    await expect(run(process.execPath, [bin, 'models', 'init', '--model', 'vit', '--out', p('z')])).rejects.toMatchObject({ stderr: expect.stringContaining("--model must be one of seg-net, rl-net, unet, resunet, got 'vit'") });
  });
});
