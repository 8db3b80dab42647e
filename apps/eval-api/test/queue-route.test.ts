/**
 * POST /api/v1/queue against a real Redis (@mrlseg/test-servers): a runner token enqueues a grid
 * through enqueueGrid (recorded in the store as pending runs, jobs in the queue, nothing added the
 * second time); a reader gets 403 and no token 401, before the body is read; bad bodies are 400/415.
 */
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gridExperimentId, loadExperimentConfig, openStore, queueStatus } from '@mrlseg/experiments';
import { redisUnavailable, startRedis, type RedisServer } from '@mrlseg/test-servers';
import type { RunningServer } from '../src/index';
import { makeFixtureStore, type Fixture } from './helpers/fixture';
import { startTestServer } from './helpers/server';

const redisMissing = redisUnavailable();
if (redisMissing) console.warn(redisMissing);

/** 2 folds x 2 variants on 16 tiny synthetic slices: 4 runs, 2 shared pre-trainings, a report. */
const GRID = {
  name: 'apigrid',
  dataset: { format: 'synthetic', synthetic: { count: 16, slicesPerPatient: 2, size: 32, seed: 3 } },
  preprocessing: { size: 32 },
  variants: ['onlyseg', 'rl-seg'],
  folds: { k: 2 },
  training: { epochs: 1, rlEpochs: 1, batchSize: 4, rlBatchSize: 4 },
  seed: 5,
};

describe.skipIf(redisMissing)('POST /api/v1/queue (real redis-server)', () => {
  let fx: Fixture;
  let redis: RedisServer;
  let srv: RunningServer;
  let reader: string;
  let runner: { id: string; token: string };

  beforeAll(async () => {
    [fx, redis] = await Promise.all([makeFixtureStore(), startRedis()]);
    const s = await openStore(fx.dir);
    reader = (await s.createApiToken('reader', 'r')).token;
    const w = await s.createApiToken('runner', 'w');
    runner = { id: w.record.id, token: w.token };
    await s.close();
    srv = await startTestServer({ store: fx.dir, auth: 'required', queue: redis.url });
  }, 60_000);
  afterAll(async () => {
    await srv?.close();
    await redis?.stop();
    fx?.cleanup();
  });

  const post = (auth?: string) => {
    const r = request(srv.url).post('/api/v1/queue');
    return auth ? r.set('Authorization', `Bearer ${auth}`) : r;
  };

  it('401 without a token and 403 for a reader, whatever the body', async () => {
    const none = await post().send({ config: GRID });
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('unauthorized');
    const r = await post(reader).send({ config: GRID });
    expect(r.status).toBe(403);
    expect(r.body.error).toMatchObject({ code: 'forbidden', message: expect.stringMatching(/needs a runner token; token \S+ is a reader token/) });
    expect(r.headers['www-authenticate']).toContain('error="insufficient_scope"');
    expect((await post(reader).send('junk')).status).toBe(403);
  });

  it('400 for a body that is not a valid grid, 415 for one that is not JSON', async () => {
    const bad = await post(runner.token).send({ config: { ...GRID, folds: { k: 1 } } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/folds\.k/);
    const noConfig = await post(runner.token).send({ author: 'x' });
    expect(noConfig.status).toBe(400);
    expect(noConfig.body.error.issues).toEqual([expect.objectContaining({ path: 'config' })]);
    const relative = await post(runner.token).send({ config: { ...GRID, dataset: { format: 'busi', root: 'data/busi' } } });
    expect(relative.status).toBe(400);
    expect(relative.body.error.message).toMatch(/dataset\.root must be an absolute path/);
    expect((await post(runner.token).set('Content-Type', 'text/plain').send('{}')).status).toBe(415);
  });

  it('a runner enqueues the grid once: 202 with the experiment id, then 200 with nothing added', async () => {
    const first = await post(runner.token).send({ config: GRID });
    expect(first.status).toBe(202);
    const experimentId = gridExperimentId(loadExperimentConfig(undefined, GRID));
    expect(first.body).toEqual({ experimentId, createdExperiment: true, runs: 4, pretrainJobs: 2, addedJobs: true });
    const again = await post(runner.token).send({ config: GRID, author: 'ada' });
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ experimentId, createdExperiment: false, runs: 4, pretrainJobs: 2, addedJobs: false });

    // the store has the experiment (author: the calling token) and its runs, pending
    const runs = await request(srv.url).get(`/api/v1/runs?experimentId=${experimentId}`).set('Authorization', `Bearer ${reader}`);
    expect(runs.body.items.map((r: { status: string }) => r.status)).toEqual(['pending', 'pending', 'pending', 'pending']);
    const exps = await request(srv.url).get('/api/v1/experiments').set('Authorization', `Bearer ${reader}`);
    expect(exps.body.items.find((e: { id: string }) => e.id === experimentId)).toMatchObject({ author: `token ${runner.id}`, name: 'apigrid' });
    // and Redis has one job per run and pre-training plus the report, waiting for workers
    const st = await queueStatus(redis.url);
    expect(st.experiments).toEqual([expect.objectContaining({ experimentId, waiting: 4 + 2 + 1, active: 0, completed: 0, failed: 0 })]);
  }, 60_000);

  it('503 naming --queue on a server started without one', async () => {
    const plain = await startTestServer({ store: fx.dir, auth: 'required' });
    try {
      const r = await request(plain.url).post('/api/v1/queue').set('Authorization', `Bearer ${runner.token}`).send({ config: GRID });
      expect(r.status).toBe(503);
      expect(r.body.error).toMatchObject({ code: 'no_queue', message: expect.stringMatching(/--queue redis:\/\/host:port/) });
    } finally {
      await plain.close();
    }
  });
});
