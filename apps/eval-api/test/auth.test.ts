/**
 * Bearer-token authentication: 401 on every data route of the OpenAPI document without a token,
 * 200 with a reader token, 403 for a reader on a runner route, no leak of which run ids exist,
 * revocation, constant-time matching, the start-up refusal beyond loopback, the token commands,
 * and `redocly lint` (recommended ruleset) on the served document.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import express from 'express';
import { pino } from 'pino';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiToken, openStore, type ActiveApiToken } from '@mrlseg/experiments';
import {
  authenticate,
  bearerToken,
  createContext,
  createLogger,
  errorHandler,
  isLoopbackHost,
  matchToken,
  openApiDocument,
  requireRole,
  resolveAuth,
  runTokenCommand,
  startServer,
  TokenUsageError,
  type RunningServer,
} from '../src/index';
import { makeFixtureStore, RUN, type Fixture } from './helpers/fixture';
import { startTestServer, testConfig } from './helpers/server';

let fx: Fixture;
let srv: RunningServer;
let reader: string;
let runner: string;

beforeAll(async () => {
  fx = await makeFixtureStore();
  const s = await openStore(fx.dir);
  reader = (await s.createApiToken('reader', 'test reader')).token;
  runner = (await s.createApiToken('runner', 'test runner')).token;
  await s.close();
  srv = await startTestServer({ store: fx.dir, auth: 'required' });
});
afterAll(async () => {
  await srv?.close();
  fx?.cleanup();
});

/** Every operation of the served OpenAPI document, with path parameters filled with existing ids. */
function operations(): { method: 'get' | 'post'; path: string; template: string; role: 'reader' | 'runner' }[] {
  const doc = openApiDocument('test') as { paths: Record<string, Record<string, { 'x-required-role'?: 'runner' }>> };
  return Object.entries(doc.paths).flatMap(([template, item]) =>
    Object.entries(item).map(([method, op]) => ({
      method: method as 'get' | 'post',
      template,
      path: template.replace('{id}', RUN).replace('{caseId}', 'c01'),
      role: op['x-required-role'] ?? 'reader',
    })),
  );
}

describe('bearer tokens on /api/v1 (--auth required)', () => {
  const ops = operations();
  const data = ops.filter((o) => o.template !== '/health');

  it('the document lists the data routes (guards against an empty iteration)', async () => {
    expect(data.length).toBeGreaterThanOrEqual(16);
    expect(data.map((o) => o.template)).toContain('/api/v1/runs/{id}/cases/{caseId}/image.png');
  });

  it('/health answers without a token', async () => {
    expect((await request(srv.url).get('/health')).status).toBe(200);
  });

  it.each(data.map((o) => [`${o.method.toUpperCase()} ${o.template}`, o] as const))('%s: 401 + WWW-Authenticate without a token and with a wrong one', async (_name, o) => {
    const none = await request(srv.url)[o.method](o.path);
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="mrlseg-api"');
    expect(none.body.error.code).toBe('unauthorized');
    const wrong = await request(srv.url)[o.method](o.path).set('Authorization', `Bearer ${reader}x`);
    expect(wrong.status).toBe(401);
    expect(wrong.headers['www-authenticate']).toBe('Bearer realm="mrlseg-api", error="invalid_token"');
    const basic = await request(srv.url)[o.method](o.path).set('Authorization', `Basic ${Buffer.from('a:b').toString('base64')}`);
    expect(basic.status).toBe(401);
  });

  it.each(data.filter((o) => o.method === 'get').map((o) => [o.template, o] as const))('GET %s: 200 with a reader token', async (_name, o) => {
    const res = await request(srv.url).get(o.path).set('Authorization', `Bearer ${reader}`);
    expect(res.status).toBe(200);
  });

  it('POST routes with a reader token get past authentication to input validation, except runner routes (403)', async () => {
    const posts = data.filter((x) => x.method === 'post');
    expect(posts.filter((o) => o.role === 'runner').map((o) => o.template)).toEqual(['/api/v1/queue']);
    for (const o of posts) {
      const res = await request(srv.url).post(o.path).set('Authorization', `Bearer ${reader}`);
      if (o.role === 'runner') expect(res.status).toBe(403);
      else expect([400, 415]).toContain(res.status);
    }
  });

  it('the scheme name is case-insensitive; a malformed bearer value is invalid_request', async () => {
    expect((await request(srv.url).get('/api/v1/runs').set('Authorization', `bearer ${runner}`)).status).toBe(200);
    const bad = await request(srv.url).get('/api/v1/runs').set('Authorization', 'Bearer a b');
    expect(bad.status).toBe(401);
    expect(bad.headers['www-authenticate']).toContain('error="invalid_request"');
  });

  it('does not leak whether a run, case or route exists to an unauthenticated caller', async () => {
    const pairs = [
      [`/api/v1/runs/${RUN}`, '/api/v1/runs/no-such-run'],
      [`/api/v1/runs/${RUN}/cases/c01`, `/api/v1/runs/${RUN}/cases/no-such-case`],
      [`/api/v1/runs/${RUN}/cases/c01/image.png`, '/api/v1/runs/no-such-run/cases/c01/image.png'],
      [`/api/v1/runs/${RUN}/model.onnx`, '/api/v1/no-such-route'],
    ];
    for (const [exists, missing] of pairs) {
      for (const auth of [undefined, `Bearer ${reader}x`]) {
        const get = (p: string) => (auth ? request(srv.url).get(p).set('Authorization', auth) : request(srv.url).get(p));
        const [a, b] = [await get(exists), await get(missing)];
        expect([a.status, b.status]).toEqual([401, 401]);
        expect(a.text).toBe(b.text);
        expect(a.headers['www-authenticate']).toBe(b.headers['www-authenticate']);
        expect(a.headers['content-length']).toBe(b.headers['content-length']);
      }
      // The control: with a token the two differ, so the equality above is not vacuous.
      const ok = await request(srv.url).get(exists).set('Authorization', `Bearer ${reader}`);
      const nf = await request(srv.url).get(missing).set('Authorization', `Bearer ${reader}`);
      expect([ok.status, nf.status]).toEqual([200, 404]);
    }
  });

  it('a revoked token is refused from the next request on', async () => {
    const s = await openStore(fx.dir);
    const { token, record } = (await s.createApiToken('reader', 'short-lived'));
    try {
      expect((await request(srv.url).get('/api/v1/experiments').set('Authorization', `Bearer ${token}`)).status).toBe(200);
      await s.revokeApiToken(record.id);
      expect((await request(srv.url).get('/api/v1/experiments').set('Authorization', `Bearer ${token}`)).status).toBe(401);
      expect((await request(srv.url).get('/api/v1/experiments').set('Authorization', `Bearer ${reader}`)).status).toBe(200);
    } finally {
      await s.close();
    }
  });

  it('logs the id of the accepted token, never the token', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) });
    const cfg = testConfig({ store: fx.dir, auth: 'required' });
    const s = await startServer(cfg, await createContext(cfg, log));
    try {
      await request(s.url).get('/api/v1/experiments').set('Authorization', `Bearer ${reader}`);
      await request(s.url).get('/api/v1/experiments');
    } finally {
      await s.close();
    }
    const reqs = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'request');
    const ro = await openStore(fx.dir, { readonly: true });
    const readerId = (await ro.listApiTokens()).find((t) => t.label === 'test reader')!.id;
    await ro.close();
    expect(reqs.map((l) => [l.status, l.tokenId])).toEqual([
      [200, readerId],
      [401, undefined],
    ]);
    expect(lines.join('\n')).not.toContain(reader.slice(4));
  });

  it('a CORS preflight needs no token and allows the Authorization header', async () => {
    const c = await startTestServer({ store: fx.dir, auth: 'required', cors: 'http://viewer.example' });
    try {
      const pre = await request(c.url).options('/api/v1/runs').set('Origin', 'http://viewer.example');
      expect(pre.status).toBe(204);
      expect(pre.headers['access-control-allow-headers']).toContain('Authorization');
    } finally {
      await c.close();
    }
  });
});

describe('roles', () => {
  it('POST /api/v1/queue: 401 without a token, 403 for a reader, past the role check for a runner (503: this server has no --queue)', async () => {
    expect((await request(srv.url).post('/api/v1/queue').send({})).status).toBe(401);
    const r = await request(srv.url).post('/api/v1/queue').set('Authorization', `Bearer ${reader}`).send({});
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe('forbidden');
    const w = await request(srv.url).post('/api/v1/queue').set('Authorization', `Bearer ${runner}`).send({});
    expect(w.status).toBe(503);
    expect(w.body.error.code).toBe('no_queue');
  });

  // requireRole on its own, mounted the way createApp mounts routes (authenticate first); queue-route.test.ts enqueues for real.
  const tokens: ActiveApiToken[] = [
    { id: 'r1', role: 'reader', hash: hashApiToken('reader-token') },
    { id: 'w1', role: 'runner', hash: hashApiToken('runner-token') },
  ];
  const app = express();
  app.use(authenticate({ tokens: () => tokens }));
  app.post('/enqueue', requireRole('runner'), (_req, res) => {
    res.status(202).json({ queued: true, by: res.locals.auth });
  });
  app.get('/read', requireRole('reader'), (_req, res) => {
    res.json({ by: res.locals.auth });
  });
  app.use(errorHandler(createLogger('silent')));

  it('a reader may read but gets 403 (insufficient_scope) on a runner route; a runner may both', async () => {
    const r403 = await request(app).post('/enqueue').set('Authorization', 'Bearer reader-token');
    expect(r403.status).toBe(403);
    expect(r403.body.error.code).toBe('forbidden');
    expect(r403.headers['www-authenticate']).toBe('Bearer realm="mrlseg-api", error="insufficient_scope"');
    expect((await request(app).get('/read').set('Authorization', 'Bearer reader-token')).body.by).toEqual({ tokenId: 'r1', role: 'reader' });
    const ok = await request(app).post('/enqueue').set('Authorization', 'Bearer runner-token');
    expect(ok.status).toBe(202);
    expect(ok.body.by).toEqual({ tokenId: 'w1', role: 'runner' });
    expect((await request(app).get('/read').set('Authorization', 'Bearer runner-token')).status).toBe(200);
    expect((await request(app).post('/enqueue')).status).toBe(401);
  });

  it('requireRole fails closed on a request that skipped authentication', async () => {
    const bare = express();
    bare.get('/x', requireRole('reader'), (_req, res) => {
      res.json({});
    });
    bare.use(errorHandler(createLogger('silent')));
    expect((await request(bare).get('/x')).status).toBe(401);
    expect(() => requireRole('admin' as 'reader')).toThrow(/requireRole: role must be one of reader, runner, got 'admin'/);
  });
});

describe('matching and settings', () => {
  it('matchToken finds the one token whose SHA-256 matches, never a malformed row', async () => {
    const ts: ActiveApiToken[] = [
      { id: 'bad', role: 'runner', hash: 'zz' },
      { id: 'a', role: 'reader', hash: hashApiToken('tok-a') },
      { id: 'b', role: 'runner', hash: hashApiToken('tok-b') },
    ];
    expect(matchToken('tok-b', ts)?.id).toBe('b');
    expect(matchToken('tok-a', ts)?.id).toBe('a');
    expect(matchToken('tok-c', ts)).toBeUndefined();
    expect(matchToken('', ts)).toBeUndefined();
    expect(matchToken('tok-a', [])).toBeUndefined();
  });

  it.each([
    [undefined, null],
    ['Bearer abc.DEF-_~+/==', 'abc.DEF-_~+/=='],
    ['bearer   xyz  ', 'xyz'],
    ['Bearer', 'malformed'],
    ['Bearer a b', 'malformed'],
    ['Basic dXNlcjpwdw==', null],
  ] as const)('bearerToken(%j) = %j', (header, want) => {
    expect(bearerToken(header)).toBe(want);
  });

  it.each([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['localhost', true],
    ['::1', true],
    ['[::1]', true],
    ['::ffff:127.0.0.1', true],
    ['0.0.0.0', false],
    ['::', false],
    ['192.168.1.5', false],
    ['example.org', false],
  ] as const)('isLoopbackHost(%s) = %s', (host, want) => {
    expect(isLoopbackHost(host)).toBe(want);
  });

  it('resolveAuth: optional on loopback, required beyond it, and refuses when no token could match', async () => {
    expect(resolveAuth('auto', '127.0.0.1', 0, true)).toBe(false);
    expect(resolveAuth('auto', '127.0.0.1', 2, true)).toBe(false);
    expect(resolveAuth('auto', '0.0.0.0', 1, true)).toBe(true);
    expect(resolveAuth('required', '127.0.0.1', 1, true)).toBe(true);
    expect(resolveAuth('none', '0.0.0.0', 0, false)).toBe(false);
    expect(() => resolveAuth('auto', '0.0.0.0', 0, true)).toThrow(/^refusing to start: listening on 0\.0\.0\.0 \(beyond loopback\) needs an API token, and the store has no active one; create one with: mrlseg-api token create --role reader .*--auth none/);
    expect(() => resolveAuth('auto', '::', 0, false)).toThrow(/pass --store <dir> holding a token/);
    expect(() => resolveAuth('required', '127.0.0.1', 0, true)).toThrow(/^refusing to start: --auth required needs an API token/);
    expect(() => resolveAuth('sometimes' as 'auto', '127.0.0.1', 0, true)).toThrow(/resolveAuth: mode must be one of auto, required, none/);
  });

  it('createContext turns authentication on for 0.0.0.0 with a token in the store, and refuses an empty one', async () => {
    const ctx = await createContext(testConfig({ store: fx.dir, host: '0.0.0.0' }));
    try {
      expect(ctx.auth).toBeDefined();
      expect((await ctx.auth!.tokens()).length).toBeGreaterThanOrEqual(2);
    } finally {
      await ctx.registry.dispose();
      await ctx.store?.close();
    }
    const plain = await createContext(testConfig({ store: fx.dir }));
    expect(plain.auth).toBeUndefined();
    await plain.registry.dispose();
    await plain.store?.close();
  });
});

describe('mrlseg-api token and the start-up refusal', () => {
  const bin = resolve(import.meta.dirname, '..', 'bin', 'mrlseg-api.mjs');
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mrlseg-api-tokens-'));
    await (await openStore(dir)).close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const io = () => {
    const o = { out: '', err: '' };
    return { o, io: { out: (s: string) => (o.out += s), err: (s: string) => (o.err += s) } };
  };

  it('create prints the token once on stdout; list shows it without the token; revoke revokes it', async () => {
    const c = io();
    expect(await runTokenCommand(['create', '--role', 'runner', '--store', dir, '--label', 'ci'], c.io)).toBe(0);
    const token = c.o.out.trim();
    expect(token).toMatch(/^mrl_[A-Za-z0-9_-]{43}$/);
    const id = /token (\w+) \(ci\)/.exec(c.o.err)?.[1];
    expect(id).toBeDefined();
    const s = await openStore(dir, { readonly: true });
    expect((await s.activeApiTokens())).toEqual([{ id, role: 'runner', hash: hashApiToken(token) }]);
    await s.close();
    const l = io();
    await runTokenCommand(['list', '--store', dir, '--json'], l.io);
    expect(JSON.parse(l.o.out)).toMatchObject([{ id, role: 'runner', label: 'ci', revokedAt: null }]);
    expect(l.o.out).not.toContain(token.slice(4));
    const r = io();
    expect(await runTokenCommand(['revoke', id!, '--store', dir], r.io)).toBe(0);
    expect(r.o.err).toMatch(new RegExp(`revoked runner token ${id}`));
    expect(await runTokenCommand(['revoke', 'nope', '--store', dir], io().io)).toBe(1);
    const t = io();
    await runTokenCommand(['list', '--store', dir], t.io);
    expect(t.o.out.split('\n')[1]).toMatch(new RegExp(`^${id}\\trunner\\t\\S+\\t\\d{4}-`));
  });

  it.each([
    [['create', '--store', '/x'], /--role must be one of reader, runner/],
    [['create', '--role', 'admin', '--store', '/x'], /--role must be one of reader, runner, got 'admin'/],
    [['create', '--role', 'reader'], /--store <dir> is required/],
    [['frobnicate', '--store', '/x'], /unknown subcommand 'frobnicate'/],
    [['revoke', '--store', '/x'], /give exactly one token id/],
    [['list', '--bogus'], /bogus/],
  ])('bad usage %j', async (argv, msg) => {
    await expect(runTokenCommand(argv.map((a) => (a === '/x' ? dir : a)), io().io)).rejects.toThrow(TokenUsageError);
    await expect(runTokenCommand(argv.map((a) => (a === '/x' ? dir : a)), io().io)).rejects.toThrow(msg);
  });

  it('never creates a store for a mistyped --store', async () => {
    const missing = join(dir, 'typo');
    await expect(runTokenCommand(['create', '--role', 'reader', '--store', missing], io().io)).rejects.toThrow(/no results store at .*typo/);
    expect(existsSync(missing)).toBe(false);
  });

  it('mrlseg-api --host 0.0.0.0 on a store without tokens exits 1 with one line saying what to do', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'mrlseg-api-empty-'));
    try {
      await (await openStore(empty)).close();
      const r = spawnSync(process.execPath, [bin, '--store', empty, '--host', '0.0.0.0', '--port', '0', '--viewer', '/nonexistent'], { encoding: 'utf8', timeout: 30_000 });
      expect(r.status).toBe(1);
      const lines = r.stderr.split('\n').filter((l) => l.startsWith('mrlseg-api'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^mrlseg-api: refusing to start: listening on 0\.0\.0\.0 \(beyond loopback\) needs an API token.*token create --role reader.*--auth none/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  }, 30_000);

  it('mrlseg-api token create through the binary prints only the token on stdout', async () => {
    const child = spawn(process.execPath, [bin, 'token', 'create', '--role', 'reader', '--store', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code).toBe(0);
    expect(out).toMatch(/^mrl_[A-Za-z0-9_-]{43}\n$/);
    expect(err).toMatch(/created reader token \w+ in .*shown only this once/);
  }, 30_000);
});

describe('OpenAPI document', () => {
  it('declares the bearer scheme, global security, an open /health and servers', async () => {
    const res = await request(srv.url).get('/api/v1/openapi.json').set('Authorization', `Bearer ${reader}`);
    const doc = res.body;
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.security).toEqual([{ bearerAuth: [] }]);
    expect(doc.paths['/health'].get.security).toEqual([]);
    expect(doc.servers.length).toBeGreaterThan(0);
    expect(doc.paths['/api/v1/runs/{id}'].get.responses['401']).toBeDefined();
    const ids = operations().map((o) => doc.paths[o.template][o.method].operationId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.every((x) => typeof x === 'string')).toBe(true);
  });

  const redocly = resolve(import.meta.dirname, '..', '..', '..', 'node_modules', '.bin', 'redocly');
  it.skipIf(!existsSync(redocly))('redocly lint --extends recommended: 0 errors on the served document', async () => {
    const res = await request(srv.url).get('/api/v1/openapi.json').set('Authorization', `Bearer ${reader}`);
    expect(res.status).toBe(200);
    const dir = mkdtempSync(join(tmpdir(), 'mrlseg-openapi-'));
    try {
      const file = join(dir, 'openapi.json');
      writeFileSync(file, res.text);
      const r = spawnSync(redocly, ['lint', '--extends', 'recommended', '--format', 'json', file], {
        encoding: 'utf8',
        timeout: 60_000,
        env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' },
      });
      const report = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as { totals: { errors: number; warnings: number }; problems: { ruleId: string; severity: string }[] };
      expect(report.problems.filter((p) => p.severity === 'error')).toEqual([]);
      expect(report.totals.errors).toBe(0);
      expect(r.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
