/**
 * POST /api/v1/segment against the real server with exact tiny ONNX models (probabilities =
 * grey / 255, actions = 1 where grey / 255 < 0.1), so masks are checked pixel by pixel.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SegmentResultSchema } from '@mrlseg/types';
import type { RunningServer } from '../src/index';
import { makeFixtureStore, RUN, RUN_NO_MODEL, type Fixture } from './helpers/fixture';
import { decodeMaskPng, greyPixels, jpeg, png, rgbPng } from './helpers/images';
import { startTestServer } from './helpers/server';
import { writeTinyModel } from './helpers/tiny-onnx';
import { dicomBytes, niftiBytes } from './helpers/volumes';
import { gzipSync } from 'node:zlib';

let fx: Fixture;
let srv: RunningServer;
let nchw: RunningServer;
let described: RunningServer;
let tmp: string;

beforeAll(async () => {
  fx = await makeFixtureStore();
  tmp = mkdtempSync(join(tmpdir(), 'mrlseg-api-models-'));
  const plain = writeTinyModel(join(tmp, 'plain.onnx'), { size: 32 });
  const nchwModel = writeTinyModel(join(tmp, 'nchw.onnx'), { size: 24, layout: 'NCHW' });
  srv = await startTestServer({ store: fx.dir, model: plain, maxPixels: 1_000_000 });
  nchw = await startTestServer({ model: nchwModel });
  // A model that describes itself: sliced along axis 0, no CT window, inputs = grey / 510 + 0.25.
  const meta = { 'mrlseg.slice_axis': '0', 'mrlseg.ct_window': 'none', 'mrlseg.intensity_scale': String(1 / 510), 'mrlseg.intensity_offset': '0.25' };
  described = await startTestServer({ model: writeTinyModel(join(tmp, 'described.onnx'), { size: 32, metadata: meta }) });
});

afterAll(async () => {
  await srv?.close();
  await nchw?.close();
  await described?.close();
  fx?.cleanup();
  rmSync(tmp, { recursive: true, force: true });
});

/** Column gradient: grey = 8 x, so at threshold 0.5 the columns x >= 16 are foreground. */
const gradient = greyPixels(32, 32, (x) => 8 * x);

describe('segment: masks', () => {
  it('returns the binary mask as image/png of the input size, foreground where grey/255 >= 0.5', async () => {
    const res = await request(srv.url).post('/api/v1/segment').attach('image', await png(gradient, 32, 32), 'g.png');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('image/png');
    expect(res.headers['x-model']).toBe('default');
    const m = await decodeMaskPng(res.body);
    expect([m.width, m.height]).toEqual([32, 32]);
    expect(m.data).toEqual(greyPixels(32, 32, (x) => (x >= 16 ? 1 : 0)));
  });

  it.each([
    [0.25, 32 * 24], // 8x >= 63.75  -> x >= 8
    [0.5, 32 * 16], // 8x >= 127.5 -> x >= 16
    [0.9, 32 * 3], // 8x >= 229.5 -> x >= 29
  ])('threshold %s gives %i foreground pixels (JSON summary with fbRatio)', async (threshold, fg) => {
    const res = await request(srv.url).post(`/api/v1/segment?format=json&threshold=${threshold}`).attach('image', await png(gradient, 32, 32), 'g.png');
    expect(res.status).toBe(200);
    const body = SegmentResultSchema.parse(res.body);
    expect(body.foregroundPixels).toBe(fg);
    expect(body.backgroundPixels).toBe(1024 - fg);
    expect(body.fbRatio).toBeCloseTo(fg / (1024 - fg), 12);
    expect(body.foregroundFraction).toBeCloseTo(fg / 1024, 12);
    expect(body.actions).toBeNull();
    expect(body.modelInput).toEqual({ width: 32, height: 32, layout: 'NHWC' });
    expect(body.timings.totalMs).toBeGreaterThanOrEqual(body.timings.inferenceMs);
  });

  it('resizes to the model input and back: a 64 x 48 image with a bright right half gives exactly that half', async () => {
    const img = greyPixels(64, 48, (x) => (x < 32 ? 0 : 255));
    const res = await request(srv.url).post('/api/v1/segment').attach('image', await png(img, 64, 48), 'half.png');
    expect(res.status).toBe(200);
    const m = await decodeMaskPng(res.body);
    expect([m.width, m.height]).toEqual([64, 48]);
    expect(m.data).toEqual(greyPixels(64, 48, (x) => (x >= 32 ? 1 : 0)));
  });

  it('accepts JPEG and RGB PNG (converted to grey) and keeps their sizes', async () => {
    const img = greyPixels(40, 30, (x) => (x < 20 ? 10 : 240));
    const j = await request(srv.url).post('/api/v1/segment').attach('image', await jpeg(img, 40, 30), 'a.jpg');
    expect(j.status).toBe(200);
    const m = await decodeMaskPng(j.body);
    expect([m.width, m.height]).toEqual([40, 30]);
    // Away from the edge (JPEG ringing), the halves are clean.
    for (const y of [0, 15, 29]) {
      expect(m.data[y * 40 + 5]).toBe(0);
      expect(m.data[y * 40 + 35]).toBe(1);
    }
    const bright = await request(srv.url).post('/api/v1/segment?format=json').attach('image', await rgbPng(20, 10, [250, 250, 250]), 'rgb.png');
    expect(bright.body).toMatchObject({ width: 20, height: 10, foregroundPixels: 200, backgroundPixels: 0 });
    const dark = await request(srv.url).post('/api/v1/segment?format=json').attach('image', await rgbPng(20, 10, [200, 50, 50]), 'rgb.png');
    // Rec. 601 luma of (200, 50, 50) is about 95 < 127.5.
    expect(dark.body).toMatchObject({ foregroundPixels: 0, fbRatio: 0 });
  });

  it("uses a run's ONNX export from the store and reports the RL action mask (white = masked)", async () => {
    const res = await request(srv.url).post(`/api/v1/segment?format=json&includeMask=true`).field('model', RUN).attach('image', await png(gradient, 32, 32), 'g.png');
    expect(res.status).toBe(200);
    const body = SegmentResultSchema.parse(res.body);
    expect(body.model).toBe(RUN);
    // Masked where 8x / 255 < 0.1, i.e. x <= 3: 4 columns.
    expect(body.actions).toMatchObject({ masked: 4 * 32, retained: 28 * 32, steps: 1 });
    const a = await decodeMaskPng(Buffer.from(body.actions!.png, 'base64'));
    expect(a.data).toEqual(greyPixels(32, 32, (x) => (x <= 3 ? 1 : 0)));
    const m = await decodeMaskPng(Buffer.from(body.mask!, 'base64'));
    expect(m.data).toEqual(greyPixels(32, 32, (x) => (x >= 16 ? 1 : 0)));
  });

  it('reads NCHW models (N x 1 x H x W) too', async () => {
    const img = greyPixels(48, 48, (_x, y) => (y < 24 ? 255 : 0));
    const res = await request(nchw.url).post('/api/v1/segment?format=json&includeMask=1').attach('image', await png(img, 48, 48), 'v.png');
    expect(res.status).toBe(200);
    expect(res.body.modelInput).toEqual({ width: 24, height: 24, layout: 'NCHW' });
    const m = await decodeMaskPng(Buffer.from(res.body.mask, 'base64'));
    expect(m.data).toEqual(greyPixels(48, 48, (_x, y) => (y < 24 ? 1 : 0)));
  });

  it('creates one session per model file and reuses it', async () => {
    const before = (await request(srv.url).get('/health')).body.models;
    for (let i = 0; i < 3; i++) await request(srv.url).post('/api/v1/segment').attach('image', await png(gradient, 32, 32), 'g.png');
    expect((await request(srv.url).get('/health')).body.models).toBe(before);
    expect(before).toBeGreaterThanOrEqual(1);
  });

  it('lists the models a request may name', async () => {
    const res = await request(srv.url).get('/api/v1/models');
    expect(res.body.items.map((m: { key: string }) => m.key)).toEqual(['default', RUN]);
  });
});

describe('segment: DICOM and NIfTI uploads (decoded by @mrlseg/data)', () => {
  // HU 304 and above -> grey 255 (the paper's window [-79, 304]); -79 and below -> 0.
  it('segments a DICOM CT image through the CT window at its own size', async () => {
    const dcm = dicomBytes(40, 20, (x) => (x < 10 ? -500 : 400));
    const res = await request(srv.url).post('/api/v1/segment?format=json&includeMask=true').attach('image', dcm, 'ct.dcm');
    expect(res.status).toBe(200);
    expect(res.body.source).toEqual({ kind: 'dicom', slice: null });
    const m = await decodeMaskPng(Buffer.from(res.body.mask, 'base64'));
    expect([m.width, m.height]).toEqual([40, 20]);
    expect(m.data).toEqual(greyPixels(40, 20, (x) => (x < 10 ? 0 : 1)));
  });

  it.each([false, true])('segments the chosen slice of a NIfTI volume (gzip %s), default the middle one', async (gz) => {
    // Slice k has its bright (HU 1000) region in columns x < 4 (k + 1).
    const vol = niftiBytes([32, 24, 5], (i, _j, k) => (i < 4 * (k + 1) ? 1000 : -1000), gz);
    for (const [query, k] of [['', 2], ['&slice=0', 0], ['&slice=4', 4]] as const) {
      const res = await request(srv.url).post(`/api/v1/segment?format=json${query}`).attach('image', vol, gz ? 'v.nii.gz' : 'v.nii');
      expect(res.status).toBe(200);
      expect(res.body.source).toEqual({ kind: 'nifti', slice: k });
      expect([res.body.width, res.body.height]).toEqual([32, 24]);
      expect(res.body.foregroundPixels).toBe(4 * (k + 1) * 24);
    }
    const out = await request(srv.url).post('/api/v1/segment?slice=5').attach('image', vol, 'v.nii');
    expect(out.status).toBe(400);
    expect(out.body.error.message).toMatch(/slice 5 outside 0\.\.4/);
  });

  it.each([
    ['a gzip stream that is not NIfTI', () => gzipSync(Buffer.from('just some text, gzipped'))],
    ['a DICOM preamble without pixel data', () => Buffer.concat([Buffer.alloc(128), Buffer.from('DICM'), Buffer.alloc(32)])],
    ['a truncated NIfTI', () => niftiBytes([32, 24, 5], () => 0).subarray(0, 2000)],
  ])('%s -> 400, never a 500', async (_what, bytes) => {
    const res = await request(srv.url).post('/api/v1/segment').attach('image', bytes(), 'x.bin');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('bad_image');
  });
});

describe('segment: the model\'s metadata decides slicing, window and scaling', () => {
  // Voxel (i, j, k) = 10 i + j: along axis 0 (the model's), slice i holds 10 i .. 10 i + 23; with
  // no CT window each slice is scaled to its own min..max, so grey = 255 j / 23.
  const vol = niftiBytes([5, 24, 16], (i, j) => 10 * i + j, false);

  it('cuts a NIfTI along the model\'s axis without a CT window; an explicit query still wins', async () => {
    const res = await request(described.url).post('/api/v1/segment?format=json&includeMask=true').attach('image', vol, 'v.nii');
    expect(res.status).toBe(200);
    expect(res.body.source).toEqual({ kind: 'nifti', slice: 2 }); // the middle of 5 slices along axis 0
    expect([res.body.width, res.body.height]).toEqual([16, 24]);
    // Input = grey / 510 + 0.25 >= 0.5  <=>  grey >= 127.5  <=>  255 j / 23 >= 127.5 (resized 24 -> 32 -> 24 rows).
    const m = await decodeMaskPng(Buffer.from(res.body.mask, 'base64'));
    const rows = Array.from({ length: 24 }, (_, y) => m.data[y * 16]);
    expect(rows).toEqual(Array.from({ length: 24 }, (_, j) => (j >= 12 ? 1 : 0)));
    const other = await request(described.url).post('/api/v1/segment?format=json&axis=2').attach('image', vol, 'v.nii');
    expect(other.body.source).toEqual({ kind: 'nifti', slice: 8 });
    expect([other.body.width, other.body.height]).toEqual([5, 24]);
  });

  it('scales 2-D images with the metadata too', async () => {
    // grey 8 x: input 8 x / 510 + 0.25 >= 0.5  <=>  x >= 15.94 -> columns 16..31.
    const res = await request(described.url).post('/api/v1/segment').attach('image', await png(gradient, 32, 32), 'g.png');
    const m = await decodeMaskPng(res.body);
    expect(m.data).toEqual(greyPixels(32, 32, (x) => (x >= 16 ? 1 : 0)));
    const half = await request(described.url).post('/api/v1/segment?threshold=0.3').attach('image', await png(gradient, 32, 32), 'g.png');
    // 8 x / 510 + 0.25 >= 0.3  <=>  x >= 3.19 -> columns 4..31 (a model without metadata: x >= 9.6).
    expect((await decodeMaskPng(half.body)).data).toEqual(greyPixels(32, 32, (x) => (x >= 4 ? 1 : 0)));
  });
});

describe('segment: hostile and bad input never gives a 500', () => {
  const call = () => request(srv.url).post('/api/v1/segment');
  it.each([
    ['a text file', () => call().attach('image', Buffer.from('hello, not an image'), 'x.png'), 415, 'unsupported_media_type'],
    ['an ELF/zip-like binary', () => call().attach('image', Buffer.from([0x50, 0x4b, 3, 4, 0, 0, 0, 0]), 'x.zip'), 415, 'unsupported_media_type'],
    ['a PNG signature followed by garbage', () => call().attach('image', Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(64, 7)]), 'x.png'), 400, 'bad_image'],
    ['an empty file', () => call().attach('image', Buffer.alloc(0), 'x.png'), 400, 'bad_image'],
    ['a JSON body', () => call().send({ image: 'x' }), 415, 'unsupported_media_type'],
    ['no image field', () => call().field('model', 'default'), 400, 'missing_field'],
    ['a file in another field', () => call().attach('picture', Buffer.from('x'), 'x.png'), 400, 'unexpected_field'],
    ['a model given as a path', () => call().field('model', '../../../etc/passwd').attach('image', Buffer.from('x'), 'x.png'), 400, 'invalid_request'],
    ['an absolute model path in the query', () => call().query({ model: '/etc/passwd' }).attach('image', Buffer.from('x'), 'x.png'), 400, 'invalid_request'],
    ['a threshold out of range', () => call().query({ threshold: '2' }).attach('image', Buffer.from('x'), 'x.png'), 400, 'invalid_request'],
    ['an unknown format', () => call().query({ format: 'xml' }).attach('image', Buffer.from('x'), 'x.png'), 400, 'invalid_request'],
  ])('%s -> %i', async (_what, send, status, code) => {
    const res = await send();
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body.error).toMatchObject({ status, code });
  });

  it('a truncated PNG -> 400 naming the field', async () => {
    const full = await png(greyPixels(64, 64, (x, y) => (x * 7 + y * 13) % 256), 64, 64);
    const res = await call().attach('image', full.subarray(0, Math.floor(full.length / 2)), 't.png');
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/image/);
  });

  it('an image with more pixels than allowed (decompression bomb) -> 413 before decoding', async () => {
    const big = await png(new Uint8Array(1200 * 1000), 1200, 1000);
    expect(big.length).toBeLessThan(50_000);
    const res = await call().attach('image', big, 'bomb.png');
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('image_too_large');
  });

  it('an upload over the size limit (20 MB default) -> 413', async () => {
    const res = await call().attach('image', Buffer.alloc(21 * 1024 * 1024, 1), 'big.png');
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('payload_too_large');
  });

  it.each([
    ['a body without the closing boundary', 'multipart/form-data; boundary=XyZ', '--XyZ\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n\r\nabc'],
    ['a content type without boundary', 'multipart/form-data', 'whatever'],
    ['a broken part header', 'multipart/form-data; boundary=XyZ', '--XyZ\r\nnot a header\r\n\r\n--XyZ--\r\n'],
  ])('malformed multipart: %s -> 400', async (_what, type, body) => {
    const res = await call().set('Content-Type', type).send(body);
    expect(res.status).toBe(400);
    expect(res.body.error.status).toBe(400);
  });

  it('unknown or model-less runs named as model -> 404', async () => {
    const img = await png(gradient, 32, 32);
    for (const model of ['no-such-run', RUN_NO_MODEL]) {
      const res = await call().field('model', model).attach('image', img, 'g.png');
      expect(res.status).toBe(404);
    }
  });

  it('32 concurrent segment requests all succeed with correct masks, and the server stays up', async () => {
    const img = await png(gradient, 32, 32);
    const results = await Promise.all(Array.from({ length: 32 }, () => request(srv.url).post('/api/v1/segment?format=json').attach('image', img, 'g.png')));
    expect(results.map((r) => r.status)).toEqual(Array(32).fill(200));
    expect(new Set(results.map((r) => r.body.foregroundPixels))).toEqual(new Set([512]));
    // The queue bounded the parallelism (never more than its 2 slots; how many waited depends
    // on timing, see queue.test.ts for the exact behaviour) and is empty again.
    const health = await request(srv.url).get('/health');
    expect(health.status).toBe(200);
    expect(health.body.queue).toMatchObject({ running: 0, waiting: 0, concurrency: 2 });
    expect(health.body.queue.peakRunning).toBeGreaterThanOrEqual(1);
    expect(health.body.queue.peakRunning).toBeLessThanOrEqual(2);
  });
});
