/**
 * Read-only store routes against a real store written through @mrlseg/experiments: listing,
 * paging/sorting/filtering cases, artifacts, curves, the ONNX export, and hostile ids.
 */
import { request as httpRequest } from 'node:http';
import { readFileSync } from 'node:fs';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunRecordSchema } from '@mrlseg/types';
import { buildReport, openStore, renderReport } from '@mrlseg/experiments';
import type { RunningServer } from '../src/index';
import { CASES, EXPERIMENT, makeFixtureStore, RUN, RUN_NO_MODEL, type Fixture } from './helpers/fixture';
import { startTestServer } from './helpers/server';

let fx: Fixture;
let srv: RunningServer;

beforeAll(async () => {
  fx = await makeFixtureStore();
  srv = await startTestServer({ store: fx.dir });
});
afterAll(async () => {
  await srv?.close();
  fx?.cleanup();
});

/** Sends `path` byte for byte (no client-side normalisation of `..` or %-escapes). */
function raw(path: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(srv.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ hostname, port, path, method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('store routes', () => {
  it('GET /health', async () => {
    const res = await request(srv.url).get('/health');
    expect(res.status).toBe(200);
    // the kind of store only: neither its folder nor (PostgreSQL) its URL, which may hold a password
    expect(res.body).toMatchObject({ status: 'ok', store: 'sqlite' });
    expect(res.text).not.toContain(fx.dir);
  });

  it('GET /api/v1/experiments', async () => {
    const res = await request(srv.url).get('/api/v1/experiments');
    expect(res.status).toBe(200);
    expect(res.body.items.map((e: { id: string }) => e.id)).toEqual([EXPERIMENT]);
  });

  it('GET /api/v1/runs lists both runs with artifacts-relative paths and a model link only where an export exists', async () => {
    const res = await request(srv.url).get('/api/v1/runs');
    expect(res.status).toBe(200);
    const byId = Object.fromEntries(res.body.items.map((r: { id: string }) => [r.id, r]));
    expect(Object.keys(byId).sort()).toEqual([RUN, RUN_NO_MODEL].sort());
    RunRecordSchema.parse(byId[RUN]);
    expect(byId[RUN].onnxPath).toBe(`${RUN}/model.onnx`);
    expect(byId[RUN].links.model).toBe(`/api/v1/runs/${RUN}/model.onnx`);
    expect(byId[RUN_NO_MODEL].links.model).toBeNull();
    // Each run's summary over its six cases (fixture.ts): Dice (0.5+0.9+0.7+0.8+0+0.6)/6, HD (9+2+5+3+7)/5
    // (c05's prediction is empty: no HD), no agent; the baseline's Dice is 0.05 lower except c05's 0.
    expect(byId[RUN].summary).toEqual({ cases: 6, meanDice: expect.closeTo(3.5 / 6, 12), diceCases: 6, meanHd: expect.closeTo(5.2, 12), hdCases: 5, maskedFraction: null, maskedCases: 0 });
    expect(byId[RUN_NO_MODEL].summary).toMatchObject({ cases: 6, meanDice: expect.closeTo(3.25 / 6, 12), diceCases: 6 });
    const filtered = await request(srv.url).get('/api/v1/runs?variant=unet');
    expect(filtered.body.items.map((r: { id: string }) => r.id)).toEqual([RUN_NO_MODEL]);
    expect((await request(srv.url).get('/api/v1/runs?status=bogus')).status).toBe(400);
  });

  it('GET /api/v1/runs/:id and its training curves', async () => {
    const run = await request(srv.url).get(`/api/v1/runs/${RUN}`);
    expect(run.body).toMatchObject({ id: RUN, variant: 'onlyseg', status: 'completed', experimentId: EXPERIMENT });
    const ep = await request(srv.url).get(`/api/v1/runs/${RUN}/epochs`);
    expect(ep.body.items.map((e: { epoch: number; loss: number }) => [e.epoch, e.loss])).toEqual([
      [0, 1],
      [1, 0.5],
      [2, 1 / 3],
    ]);
  });

  it.each([
    ['sort=dice&order=desc', ['c02', 'c04', 'c03', 'c06', 'c01', 'c05']],
    ['sort=hd&order=asc', ['c02', 'c04', 'c03', 'c06', 'c01', 'c05']],
    ['sort=hd&order=desc', ['c01', 'c06', 'c03', 'c04', 'c02', 'c05']],
    ['sort=fbRatio', ['c05', 'c01', 'c03', 'c06', 'c02', 'c04']],
    ['', ['c01', 'c02', 'c03', 'c04', 'c05', 'c06']],
    ['interval=0-2%25&sort=dice', ['c05', 'c01', 'c03']],
  ])('GET cases?%s', async (query, ids) => {
    const res = await request(srv.url).get(`/api/v1/runs/${RUN}/cases?${query}`);
    expect(res.status).toBe(200);
    expect(res.body.items.map((c: { caseId: string }) => c.caseId)).toEqual(ids);
    expect(res.body.total).toBe(ids.length);
  });

  it('pages cases', async () => {
    const res = await request(srv.url).get(`/api/v1/runs/${RUN}/cases?sort=caseId&page=2&pageSize=4`);
    expect(res.body).toMatchObject({ total: CASES.length, page: 2, pageSize: 4 });
    expect(res.body.items.map((c: { caseId: string }) => c.caseId)).toEqual(['c05', 'c06']);
  });

  it.each(['page=0', 'pageSize=100000', 'sort=password', 'order=sideways', 'page=abc'])('bad cases query %s -> 400 naming the field', async (q) => {
    const res = await request(srv.url).get(`/api/v1/runs/${RUN}/cases?${q}`);
    expect(res.status).toBe(400);
    expect(res.body.error.issues[0].path).toBe(q.split('=')[0]);
  });

  it('GET one case with links to its artifacts', async () => {
    const res = await request(srv.url).get(`/api/v1/runs/${RUN}/cases/c01`);
    expect(res.body).toMatchObject({ caseId: 'c01', dice: 0.5, links: { image: `/api/v1/runs/${RUN}/cases/c01/image.png` } });
    expect(res.body).toMatchObject({ maskedFraction: null, lesionMaskedFraction: null }); // an OnlySeg run: no agent
  });

  it.each(['image', 'prediction', 'groundTruth', 'actions'] as const)('GET case artifact %s.png returns the stored bytes', async (kind) => {
    const res = await request(srv.url).get(`/api/v1/runs/${RUN}/cases/c01/${kind}.png`).buffer(true);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('image/png');
    expect(Buffer.compare(res.body, fx.artifacts[kind])).toBe(0);
  });

  it("GET /runs/:id/model.onnx returns the run's export byte for byte", async () => {
    const res = await request(srv.url)
      .get(`/api/v1/runs/${RUN}/model.onnx`)
      .buffer(true)
      .parse((r, cb) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => cb(null, Buffer.concat(chunks)));
      });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/octet-stream');
    expect(Buffer.compare(res.body, readFileSync(fx.modelPath))).toBe(0);
    expect((await request(srv.url).get(`/api/v1/runs/${RUN_NO_MODEL}/model.onnx`)).status).toBe(404);
  });

  it.each([
    ['md', 'text/markdown'],
    ['csv', 'text/csv'],
    ['latex', 'application/x-latex'],
    ['json', 'application/json'],
  ] as const)('GET /runs/:id/report?format=%s is the experiments package rendering of its experiment', async (format, type) => {
    const res = await request(srv.url).get(`/api/v1/runs/${RUN}/report?format=${format}`).buffer(true).parse((r, cb) => {
      let t = '';
      r.on('data', (c: Buffer) => (t += c));
      r.on('end', () => cb(null, t));
    });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain(type);
    const store = await openStore(fx.dir, { readonly: true });
    try {
      expect(res.body).toBe(renderReport((await buildReport(store, { experimentId: EXPERIMENT })), format));
    } finally {
      await store.close();
    }
    expect(res.body).toContain('OnlySeg');
    expect(res.body).toContain('U-Net');
  });

  it('report: bad format -> 400, unknown run -> 404', async () => {
    expect((await request(srv.url).get(`/api/v1/runs/${RUN}/report?format=docx`)).status).toBe(400);
    expect((await request(srv.url).get(`/api/v1/runs/nope/report`)).status).toBe(404);
  });

  it('serves the OpenAPI document with every endpoint', async () => {
    const res = await request(srv.url).get('/api/v1/openapi.json');
    expect(res.body.openapi).toMatch(/^3\./);
    for (const p of ['/health', '/api/v1/segment', '/api/v1/evaluate', '/api/v1/runs/{id}/cases', '/api/v1/runs/{id}/cases/{caseId}/actions.png', '/api/v1/runs/{id}/report', '/api/v1/runs/{id}/epochs', '/api/v1/runs/{id}/model.onnx']) {
      expect(res.body.paths).toHaveProperty([p]);
    }
    expect(res.body.components.schemas.SegmentResult.properties).toHaveProperty('fbRatio');
    expect(res.body.components.schemas.RunRecord.properties.summary.anyOf[0].required).toEqual(['cases', 'meanDice', 'diceCases', 'meanHd', 'hdCases', 'maskedFraction', 'maskedCases']);
    const params = res.body.paths['/api/v1/runs/{id}/cases'].get.parameters.map((p: { name: string }) => p.name);
    expect(params).toEqual(['id', 'page', 'pageSize', 'sort', 'order', 'interval']);
  });

  it('sets security headers and no CORS by default', async () => {
    const res = await request(srv.url).get('/api/v1/runs').set('Origin', 'http://evil.example');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    expect(res.headers['content-security-policy']).not.toContain('upgrade-insecure-requests');
    expect(res.headers['x-powered-by']).toBeUndefined();
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('store routes: unknown ids -> 404, path traversal -> 400/404, never a file outside the store', () => {
  it.each([
    [`/api/v1/runs/nope`, 404],
    [`/api/v1/runs/nope/cases`, 404],
    [`/api/v1/runs/nope/epochs`, 404],
    [`/api/v1/runs/${RUN}/cases/c99`, 404],
    [`/api/v1/runs/${RUN}/cases/c99/image.png`, 404],
    [`/api/v1/runs/${RUN}/cases/c02/image.png`, 404], // case exists, file does not
    [`/api/v1/runs/${RUN}/cases/c01/secret.png`, 404],
    [`/api/v1/runs/${RUN}/cases/c01/image.jpg`, 404],
    [`/api/v1/runs/..%2F..%2F..%2Fetc%2Fpasswd`, 400],
    [`/api/v1/runs/%2Fetc%2Fpasswd`, 400],
    [`/api/v1/runs/..`, 400],
    [`/api/v1/runs/${RUN}/cases/..%2F..%2F..%2Fmrlseg.sqlite/image.png`, 400],
    [`/api/v1/runs/${RUN}/cases/..%2F..%2F${RUN}%2Fcases%2Fc01/image.png`, 400],
    [`/api/v1/runs/${RUN}/cases/c01/..%2F..%2F..%2F..%2Fmrlseg.sqlite`, 404],
    [`/api/v1/runs/${RUN}/cases/c01/%2E%2E%2F%2E%2E%2Fc01%2Fimage.png`, 404],
    [`/api/v1/runs/%E0%A4%A`, 400],
    [`/api/v1/runs/${RUN}/cases/c01/image.png%00.txt`, 404],
    [`/api/v1/runs/../../../../etc/passwd`, 404],
    [`/api/v1/runs/${RUN}/cases/c01/../../../../mrlseg.sqlite`, 404],
    [`/api/v1/nothing-here`, 404],
    [`/api/v2/runs`, 404],
  ])('GET %s -> %i (JSON error)', async (path, status) => {
    const res = await raw(path);
    expect(res.status).toBe(status);
    const body = JSON.parse(res.body);
    expect(body.error.status).toBe(status);
    expect(res.body).not.toContain('SQLite format');
    expect(res.body).not.toContain('root:');
  });
});
