/**
 * ONNX export: onnxruntime-node against TensorFlow.js (max abs difference <= 1e-4) on random
 * inputs at two sizes for every network and for the unrolled MRL-Seg graph; the file's header
 * (opset 17, IR 8, dynamic batch, names); the official checker when /usr/bin/python3 has onnx.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModel, buildReinforcementNet, buildSegmentationNet, exportMrlSegOnnx, exportOnnx, onnxModelInfo, runMrlSegInference, usePortableBackend, type ModelSpec } from '../src/index';
import { maxAbsDiff, randomiseBatchNorm, seeded, TINY } from './helpers';

const root = mkdtempSync(join(tmpdir(), 'mrlseg-onnx-'));
const written: string[] = [];
afterAll(() => rmSync(root, { recursive: true, force: true }));
beforeAll(async () => {
  await usePortableBackend('wasm');
});

async function runOrt(bytes: Uint8Array, x: tf.Tensor): Promise<Record<string, Float32Array>> {
  const sess = await ort.InferenceSession.create(bytes);
  const r = await sess.run({ image: new ort.Tensor('float32', x.dataSync() as Float32Array, x.shape) });
  const out: Record<string, Float32Array> = {};
  for (const k of sess.outputNames) out[k] = r[k].data as Float32Array;
  await sess.release();
  return out;
}

const specs = (size: number): ModelSpec[] => [
  { kind: 'seg-net', sizes: TINY, inputSize: size, seed: 1 },
  { kind: 'rl-net', sizes: TINY, inputSize: size, seed: 1, headChannels: 4 },
  { kind: 'unet', baseWidth: 4, inputSize: size, seed: 1 },
  { kind: 'resunet', baseWidth: 4, inputSize: size, seed: 1 },
];

describe('exportOnnx parity with onnxruntime-node', () => {
  it.each([32, 48].flatMap((s) => specs(s).map((spec) => [spec.kind, s, spec] as const)))('%s at %i px (batch 2 and batch 1)', async (kind, size, spec) => {
    const m = buildModel(spec);
    randomiseBatchNorm(m, 4);
    const before = tf.memory().numTensors;
    const bytes = exportOnnx(m);
    expect(tf.memory().numTensors).toBe(before);
    const file = join(root, `${kind}-${size}.onnx`);
    writeFileSync(file, bytes);
    written.push(file);
    for (const batch of [2, 1]) {
      const x = tf.tensor4d(seeded(batch * size * size, 17 + batch), [batch, size, size, 1]);
      const ys = [m.predict(x)].flat() as tf.Tensor[];
      const got = await runOrt(bytes, x);
      const names = kind === 'rl-net' ? ['policy', 'value'] : ['probabilities'];
      expect(Object.keys(got).sort()).toEqual([...names].sort());
      names.forEach((n, i) => expect(maxAbsDiff(got[n], ys[i].dataSync())).toBeLessThanOrEqual(1e-4));
      tf.dispose([x, ...ys]);
    }
    m.dispose();
  });

  it('writes opset 17, IR version 8, input image [batch, H, W, 1] and named outputs', () => {
    const m = buildModel(specs(32)[1]);
    const model = onnxProto.onnx.ModelProto.decode(exportOnnx(m));
    m.dispose();
    expect(Number(model.irVersion)).toBe(8);
    expect(model.opsetImport.map((o) => [o.domain, Number(o.version)])).toEqual([['', 17]]);
    const g = model.graph!;
    type VI = onnxProto.onnx.IValueInfoProto;
    const dims = (v: VI) => v.type!.tensorType!.shape!.dim!.map((d) => d.dimParam || Number(d.dimValue));
    expect(g.input!.map((i) => i.name)).toEqual(['image']);
    expect(dims(g.input![0])).toEqual(['batch', 32, 32, 1]);
    expect(g.output!.map((o) => [o.name, dims(o)])).toEqual([
      ['policy', ['batch', 32, 32, 2]],
      ['value', ['batch', 32, 32, 1]],
    ]);
  });

  it('carries metadata_props when given, none otherwise; onnxModelInfo reads them back', () => {
    const m = buildModel(specs(32)[0]);
    const props = { 'mrlseg.slice_axis': '2', 'mrlseg.ct_window': '-79,304' };
    const withMeta = exportOnnx(m, { metadata: props });
    const without = exportOnnx(m);
    m.dispose();
    const decoded = onnxProto.onnx.ModelProto.decode(withMeta);
    expect(decoded.metadataProps.map((e) => [e.key, e.value])).toEqual([
      ['mrlseg.slice_axis', '2'],
      ['mrlseg.ct_window', '-79,304'],
    ]);
    expect(onnxModelInfo(withMeta).metadata).toEqual(props);
    expect(onnxModelInfo(without).metadata).toEqual({});
  });
});

describe('exportMrlSegOnnx', () => {
  it('refuses a two-input Reinforcement-Net (rl.policyInput image+probability) and says what to export instead', () => {
    const seg = buildSegmentationNet(TINY, { inputSize: 32, seed: 1 });
    const rl = buildReinforcementNet(TINY, { inputSize: 32, seed: 2, probabilityInput: true });
    expect(() => exportMrlSegOnnx(rl, seg, { steps: 1, maskValue: 0 })).toThrow(/exportMrlSegOnnx: rlNet takes 2 inputs.*export the Segmentation-Net alone/);
    [seg, rl].forEach((m) => m.dispose());
  });
  it.each([32, 48])('matches runMrlSegInference at %i px (4 steps, mask value 0)', async (size) => {
    const seg = buildSegmentationNet(TINY, { inputSize: size, seed: 2 });
    const rl = buildReinforcementNet(TINY, { inputSize: size, seed: 3, retainBias: null }); // random policy: exercises masking
    randomiseBatchNorm(seg, 1);
    randomiseBatchNorm(rl, 2);
    const bytes = exportMrlSegOnnx(rl, seg, { steps: 4, maskValue: 0 });
    const file = join(root, `mrlseg-${size}.onnx`);
    writeFileSync(file, bytes);
    written.push(file);
    const x = tf.tensor4d(seeded(2 * size * size, 23), [2, size, size, 1]);
    const ref = runMrlSegInference(rl, seg, x, { steps: 4, maskValue: 0 });
    const got = await runOrt(bytes, x);
    const actions = ref.actions.dataSync();
    const masked = Array.from(actions).reduce((a, b) => a + b, 0);
    expect(masked).toBeGreaterThan(0); // the test must exercise masking
    expect(masked).toBeLessThan(actions.length);
    expect(maxAbsDiff(got.actions, actions)).toBe(0);
    expect(maxAbsDiff(got.probabilities, ref.probabilities.dataSync())).toBeLessThanOrEqual(1e-4);
    tf.dispose([x, ref.probabilities, ref.actions]);
    seg.dispose();
    rl.dispose();
  });
  it('masked pixels take the mask value and stay masked (one step vs two steps)', () => {
    const seg = buildSegmentationNet(TINY, { inputSize: 32, seed: 2 });
    const rl = buildReinforcementNet(TINY, { inputSize: 32, seed: 3, retainBias: null });
    const x = tf.tensor4d(seeded(32 * 32, 29), [1, 32, 32, 1]);
    const one = runMrlSegInference(rl, seg, x, { steps: 1, maskValue: 0 });
    const two = runMrlSegInference(rl, seg, x, { steps: 2, maskValue: 0 });
    const a1 = one.actions.dataSync();
    const a2 = two.actions.dataSync();
    for (let i = 0; i < a1.length; i++) if (a1[i] === 1) expect(a2[i]).toBe(1);
    tf.dispose([x, one.probabilities, one.actions, two.probabilities, two.actions]);
    seg.dispose();
    rl.dispose();
  });
  it('rejects bad options and mismatched networks', () => {
    const seg = buildSegmentationNet(TINY, { inputSize: 32 });
    const rl = buildReinforcementNet(TINY, { inputSize: 48 });
    expect(() => exportMrlSegOnnx(rl, seg, { steps: 0, maskValue: 0 })).toThrow(/exportMrlSegOnnx: steps must be an integer in \[1, 16\], got 0/);
    expect(() => exportMrlSegOnnx(rl, seg, { steps: 2, maskValue: 0 })).toThrow(/rlNet input \[.*48.*\] differs from segNet input/);
    expect(() => exportMrlSegOnnx(seg, seg, { steps: 2, maskValue: 0 })).toThrow(/rlNet must output \[policy/);
    seg.dispose();
    rl.dispose();
  });
});

const hasOnnx = spawnSync('/usr/bin/python3', ['-c', 'import onnx'], { stdio: 'ignore' }).status === 0;

describe('official ONNX checker', () => {
  it.runIf(hasOnnx)('onnx.checker.check_model(full_check=True) accepts every exported file', () => {
    expect(written.length).toBe(10);
    const script = 'import sys, onnx\nfor f in sys.argv[1:]:\n    onnx.checker.check_model(onnx.load(f), full_check=True)\nprint("ok", len(sys.argv) - 1)';
    expect(execFileSync('/usr/bin/python3', ['-c', script, ...written], { encoding: 'utf8' }).trim()).toBe(`ok ${written.length}`);
  });
  it.skipIf(hasOnnx)('skipped: /usr/bin/python3 cannot import onnx, so the official checker is not run', () => {});
});
