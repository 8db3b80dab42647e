/** POST /api/v1/evaluate: metrics of packages/metrics for uploaded masks, hand-worked values. */
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeSegmentationMetrics } from '@mrlseg/metrics';
import { EvaluateResultSchema } from '@mrlseg/types';
import type { RunningServer } from '../src/index';
import { greyPixels, png } from './helpers/images';
import { startTestServer } from './helpers/server';

let srv: RunningServer;
beforeAll(async () => {
  srv = await startTestServer();
});
afterAll(async () => {
  await srv?.close();
});

const mask = (w: number, h: number, f: (x: number, y: number) => boolean) => greyPixels(w, h, (x, y) => (f(x, y) ? 255 : 0));
const bits = (m: Uint8Array) => Uint8Array.from(m, (v) => (v > 127 ? 1 : 0));

describe('POST /api/v1/evaluate', () => {
  // 8 x 8 masks; prediction = columns < pc, ground truth = columns < gc (full height).
  it.each([
    // pc, gc, dice, iou, precision, recall
    [4, 2, 2 / 3, 0.5, 0.5, 1],
    [2, 4, 2 / 3, 0.5, 1, 0.5],
    [4, 4, 1, 1, 1, 1],
    [6, 2, 0.5, 1 / 3, 1 / 3, 1],
  ])('prediction columns < %i vs ground truth columns < %i: Dice %f, IoU %f', async (pc, gc, dice, iou, precision, recall) => {
    const res = await request(srv.url)
      .post('/api/v1/evaluate')
      .attach('prediction', await png(mask(8, 8, (x) => x < pc), 8, 8), 'p.png')
      .attach('groundTruth', await png(mask(8, 8, (x) => x < gc), 8, 8), 'g.png');
    expect(res.status).toBe(200);
    const m = EvaluateResultSchema.parse(res.body);
    expect(m.dice).toBeCloseTo(dice, 12);
    expect(m.iou).toBeCloseTo(iou, 12);
    expect(m.precision).toBeCloseTo(precision, 12);
    expect(m.recall).toBeCloseTo(recall, 12);
    expect(m.fbRatio).toBeCloseTo(gc / (8 - gc), 12);
    expect([m.width, m.height]).toEqual([8, 8]);
  });

  it('returns exactly what computeSegmentationMetrics gives, with spacing and intervals passed through', async () => {
    const p = mask(16, 12, (x, y) => (x - 6) ** 2 + (y - 6) ** 2 < 16);
    const g = mask(16, 12, (x, y) => (x - 8) ** 2 + (y - 5) ** 2 < 12);
    const res = await request(srv.url)
      .post('/api/v1/evaluate?spacingX=0.5&spacingY=2&nsdTolerance=1.5&intervals=busi')
      .attach('prediction', await png(p, 16, 12), 'p.png')
      .attach('groundTruth', await png(g, 16, 12), 'g.png');
    expect(res.status).toBe(200);
    const want = computeSegmentationMetrics(bits(p), bits(g), { width: 16, height: 12, spacing: [0.5, 2], nsdTolerance: 1.5, intervals: 'busi' });
    expect(res.body).toEqual({ width: 16, height: 12, ...want });
    expect(res.body.hd).not.toBeNull();
  });

  it('an empty prediction gives null distances and the empty flag, not an error', async () => {
    const res = await request(srv.url)
      .post('/api/v1/evaluate')
      .attach('prediction', await png(mask(8, 8, () => false), 8, 8), 'p.png')
      .attach('groundTruth', await png(mask(8, 8, (x) => x < 2), 8, 8), 'g.png');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ dice: 0, hd: null, hd95: null, emptyPred: true, emptyGt: false });
  });

  it.each([
    ['masks of different sizes', async () => request(srv.url).post('/api/v1/evaluate').attach('prediction', await png(mask(8, 8, () => true), 8, 8), 'p.png').attach('groundTruth', await png(mask(9, 8, () => true), 9, 8), 'g.png'), 400, 'size_mismatch'],
    ['a missing groundTruth', async () => request(srv.url).post('/api/v1/evaluate').attach('prediction', await png(mask(8, 8, () => true), 8, 8), 'p.png'), 400, 'missing_field'],
    ['a text file as prediction', async () => request(srv.url).post('/api/v1/evaluate').attach('prediction', Buffer.from('nope'), 'p.png').attach('groundTruth', await png(mask(8, 8, () => true), 8, 8), 'g.png'), 415, 'unsupported_media_type'],
    ['a negative spacing', async () => request(srv.url).post('/api/v1/evaluate?spacingX=-1').attach('prediction', await png(mask(8, 8, () => true), 8, 8), 'p.png').attach('groundTruth', await png(mask(8, 8, () => true), 8, 8), 'g.png'), 400, 'invalid_request'],
    ['a url-encoded form', async () => request(srv.url).post('/api/v1/evaluate').type('form').send('prediction=1&groundTruth=2'), 415, 'unsupported_media_type'],
  ])('%s -> %i', async (_what, send, status, code) => {
    const res = await send();
    expect(res.status).toBe(status);
    expect(res.body.error).toMatchObject({ status, code });
  });
});
