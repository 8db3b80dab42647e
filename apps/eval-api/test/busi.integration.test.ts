/**
 * Integration over real data: segment a real BUSI breast-ultrasound image through the API with
 * models made by @mrlseg/models' ONNX exporter (an untrained Segmentation-Net, cpu preset, and the
 * whole MRL-Seg inference graph with its `actions` output). The mask must have the input's size
 * and equal the TensorFlow.js reference (runMrlSegInference / predict on the same preprocessed
 * input, thresholded and resized back). Skips when ../shared/data is absent (users' clones).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeGrey, resizeBilinear, resizeNearest } from '@mrlseg/data';
import { openStore } from '@mrlseg/experiments';
import { buildReinforcementNet, buildSegmentationNet, exportMrlSegOnnx, exportOnnx, initFromSegmentationNet, runMrlSegInference, usePortableBackend } from '@mrlseg/models';
import { SEG_NET_PRESETS, SegmentResultSchema } from '@mrlseg/types';
import type { RunningServer } from '../src/index';
import { decodeMaskPng } from './helpers/images';
import { startTestServer } from './helpers/server';

const DATA = process.env.MRLSEG_SHARED_DATA ?? resolve(import.meta.dirname, '..', '..', '..', '..', 'shared', 'data');
const BUSI = join(DATA, 'busi', 'benign');
const haveData = existsSync(BUSI);
if (!haveData) console.warn(`[eval-api] skipping the BUSI integration test: ${BUSI} not found (set MRLSEG_SHARED_DATA)`);

const SIZE = 64;
const STEPS = 4;

describe.runIf(haveData)('segmenting a real BUSI ultrasound image', () => {
  let tmp: string;
  let srv: RunningServer;
  let seg: tf.LayersModel;
  let rl: tf.LayersModel;
  let imageFile: string;
  const runId = 'busi-seg-net';

  beforeAll(async () => {
    await usePortableBackend('wasm');
    tmp = mkdtempSync(join(tmpdir(), 'mrlseg-api-busi-'));
    seg = buildSegmentationNet(SEG_NET_PRESETS.cpu, { inputSize: SIZE, seed: 3 });
    rl = buildReinforcementNet(SEG_NET_PRESETS.cpu, { inputSize: SIZE, seed: 3 });
    initFromSegmentationNet(rl, seg);
    const mrlseg = join(tmp, 'mrlseg.onnx');
    writeFileSync(mrlseg, exportMrlSegOnnx(rl, seg, { steps: STEPS, maskValue: 0 }));
    // A store whose run recorded the plain Segmentation-Net export.
    const storeDir = join(tmp, 'store');
    const store = await openStore(storeDir);
    await store.createExperiment({ id: 'busi', name: 'busi', dataset: 'busi', config: {}, configHash: 'h', gitCommit: null });
    await store.startRun({ id: runId, experimentId: 'busi', variant: 'onlyseg', fold: 0, seed: 3, dataset: 'busi', backend: 'cpu', gitCommit: null, config: {} });
    const segPath = join(store.runDir(runId), 'seg-net.onnx');
    writeFileSync(segPath, exportOnnx(seg));
    await store.finishRun(runId, { status: 'completed', onnxPath: segPath });
    await store.close();
    imageFile = join(BUSI, readdirSync(BUSI).filter((f) => /^benign \(\d+\)\.png$/.test(f)).sort()[0]);
    srv = await startTestServer({ store: storeDir, model: mrlseg });
  }, 120_000);

  afterAll(async () => {
    await srv?.close();
    seg?.dispose();
    rl?.dispose();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  /** The reference: same preprocessing, TensorFlow.js forward pass, threshold 0.5, nearest resize back. */
  async function reference(f: (x: tf.Tensor4D) => { probabilities: tf.Tensor; actions?: tf.Tensor }) {
    const g = await decodeGrey(imageFile);
    const x = resizeBilinear(Float32Array.from(g.data), g.width, g.height, SIZE, SIZE).map((v) => Math.min(1, Math.max(0, v / 255)));
    const input = tf.tensor4d(x, [1, SIZE, SIZE, 1]);
    const out = f(input);
    const p = out.probabilities.dataSync();
    const a = out.actions?.dataSync();
    tf.dispose([input, out.probabilities, ...(out.actions ? [out.actions] : [])]);
    const up = (m: ArrayLike<number>, pred: (v: number) => boolean) =>
      resizeNearest(Uint8Array.from(m as ArrayLike<number>, (v) => (pred(v) ? 1 : 0)), SIZE, SIZE, g.width, g.height);
    return { width: g.width, height: g.height, mask: up(p, (v) => v >= 0.5), onEdge: up(p, (v) => Math.abs(v - 0.5) < 1e-3), actions: a ? up(a, (v) => v >= 0.5) : null };
  }

  /** Pixels where `a` and `b` differ, not counting pixels whose reference probability is on the threshold. */
  const disagreements = (a: Uint8Array, b: Uint8Array, onEdge: Uint8Array) => a.reduce((n, v, i) => n + (v !== b[i] && !onEdge[i] ? 1 : 0), 0);

  it('MRL-Seg export (RL steps + Seg-Net): the mask has the input size and matches the TensorFlow.js reference', async () => {
    const bytes = readFileSync(imageFile);
    const res = await request(srv.url).post('/api/v1/segment').attach('image', bytes, 'busi.png');
    expect(res.status).toBe(200);
    const mask = await decodeMaskPng(res.body);
    const ref = await reference((x) => runMrlSegInference(rl, seg, x, { steps: STEPS, maskValue: 0 }));
    expect([mask.width, mask.height]).toEqual([ref.width, ref.height]);
    // Probabilities agree to ~1e-4 (the exporter's parity): a pixel may differ only where the
    // reference probability sits within 1e-3 of the threshold.
    expect(disagreements(mask.data, ref.mask, ref.onEdge)).toBe(0);
    expect(ref.mask.some((v) => v === 1) && ref.mask.some((v) => v === 0)).toBe(true);

    const json = await request(srv.url).post('/api/v1/segment?format=json').attach('image', bytes, 'busi.png');
    const body = SegmentResultSchema.parse(json.body);
    expect([body.width, body.height]).toEqual([ref.width, ref.height]);
    expect(body.foregroundPixels).toBe(mask.data.reduce((n, v) => n + v, 0));
    expect(body.actions).not.toBeNull();
    expect(body.actions!.masked + body.actions!.retained).toBe(ref.width * ref.height);
    expect(body.actions!.masked).toBe(ref.actions!.reduce((n, v) => n + v, 0));
  });

  it("a run's plain Segmentation-Net export from the store: mask of the input size equal to segNet.predict", async () => {
    const res = await request(srv.url).post('/api/v1/segment').field('model', runId).attach('image', readFileSync(imageFile), 'busi.png');
    expect(res.status).toBe(200);
    expect(res.headers['x-model']).toBe(runId);
    const mask = await decodeMaskPng(res.body);
    const ref = await reference((x) => ({ probabilities: seg.predict(x) as tf.Tensor }));
    expect([mask.width, mask.height]).toEqual([ref.width, ref.height]);
    expect(disagreements(mask.data, ref.mask, ref.onEdge)).toBe(0);
  });
});
