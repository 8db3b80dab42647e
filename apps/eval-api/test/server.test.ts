/** The viewer at / with SPA fallback, CORS when asked for, rate limiting, and the mrlseg-api CLI. */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFixtureStore, RUN, type Fixture } from './helpers/fixture';
import { startTestServer, testConfig } from './helpers/server';
import { createContext } from '../src/index';

let fx: Fixture;
let viewer: string;
beforeAll(async () => {
  fx = await makeFixtureStore();
  viewer = mkdtempSync(join(tmpdir(), 'mrlseg-viewer-'));
  mkdirSync(join(viewer, 'assets'));
  writeFileSync(join(viewer, 'index.html'), '<!doctype html><title>viewer</title><div id="root"></div>');
  writeFileSync(join(viewer, 'assets', 'app.js'), 'console.log(1)');
});
afterAll(() => {
  fx?.cleanup();
  rmSync(viewer, { recursive: true, force: true });
});

describe('viewer', () => {
  it('serves the built viewer at / with SPA fallback; the API and missing assets keep their 404s', async () => {
    const srv = await startTestServer({ store: fx.dir, viewer });
    try {
      const home = await request(srv.url).get('/');
      expect(home.status).toBe(200);
      expect(home.text).toContain('<div id="root">');
      expect((await request(srv.url).get('/assets/app.js')).text).toBe('console.log(1)');
      const deep = await request(srv.url).get(`/runs/${RUN}/cases/c01`).set('Accept', 'text/html');
      expect(deep.status).toBe(200);
      expect(deep.text).toContain('<div id="root">');
      expect((await request(srv.url).get('/assets/missing.js')).status).toBe(404);
      const api = await request(srv.url).get('/api/v1/unknown').set('Accept', 'text/html');
      expect(api.status).toBe(404);
      expect(api.body.error.code).toBe('not_found');
      expect(home.headers['content-security-policy']).toContain("'wasm-unsafe-eval'");
    } finally {
      await srv.close();
    }
  });

  it('says how to build the viewer when it is not built', async () => {
    const srv = await startTestServer({ store: fx.dir, viewer: join(viewer, 'nope') });
    try {
      const res = await request(srv.url).get('/');
      expect(res.status).toBe(200);
      expect(res.text).toMatch(/viewer is not built/);
    } finally {
      await srv.close();
    }
  });
});

describe('CORS and rate limiting', () => {
  it('allows the configured origin only when --cors is given', async () => {
    const srv = await startTestServer({ store: fx.dir, cors: 'http://viewer.example' });
    try {
      const res = await request(srv.url).get('/api/v1/runs').set('Origin', 'http://viewer.example');
      expect(res.headers['access-control-allow-origin']).toBe('http://viewer.example');
      const pre = await request(srv.url).options('/api/v1/segment').set('Origin', 'http://viewer.example');
      expect(pre.status).toBe(204);
      expect(pre.headers['access-control-allow-methods']).toContain('POST');
    } finally {
      await srv.close();
    }
  });

  it('answers 429 JSON beyond the per-minute limit', async () => {
    const srv = await startTestServer({ store: fx.dir, rateLimit: 3 });
    try {
      const codes = [];
      for (let i = 0; i < 5; i++) codes.push((await request(srv.url).get('/api/v1/experiments')).status);
      expect(codes).toEqual([200, 200, 200, 429, 429]);
      const res = await request(srv.url).get('/api/v1/experiments');
      expect(res.body.error.code).toBe('rate_limited');
      expect(res.headers['retry-after']).toBe('60');
      expect((await request(srv.url).get('/health')).status).toBe(200);
    } finally {
      await srv.close();
    }
  });
});

describe('mrlseg-api CLI', () => {
  const bin = resolve(import.meta.dirname, '..', 'bin', 'mrlseg-api.mjs');

  function run(args: string[], env: NodeJS.ProcessEnv = {}) {
    return spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  }

  it('starts on PORT, serves /health, logs JSON lines and stops cleanly on SIGTERM', async () => {
    const child = run(['--store', fx.dir, '--host', '127.0.0.1', '--log-level', 'info'], { PORT: '0' });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    const url = await new Promise<string>((resolveUrl, reject) => {
      child.stderr.on('data', (c) => {
        err += c;
        const m = /listening on (http:\/\/\S+)/.exec(err);
        if (m) resolveUrl(m[1]);
      });
      child.on('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
    });
    const res = await request(url).get('/health');
    expect(res.body.status).toBe('ok');
    const code = await new Promise<number | null>((r) => {
      child.on('exit', (c) => r(c));
      child.kill('SIGTERM');
    });
    expect(code).toBe(0);
    const lines = out.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.some((l) => l.msg === 'listening')).toBe(true);
    expect(lines.some((l) => l.msg === 'request' && l.path === '/health' && l.status === 200)).toBe(true);
  }, 30_000);

  it('bad flags exit 2 with the reason and the usage', async () => {
    const child = run(['--port', 'x']);
    let err = '';
    child.stderr.on('data', (c) => (err += c));
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code).toBe(2);
    expect(err).toMatch(/port/);
    expect(err).toMatch(/Usage: mrlseg-api/);
  }, 30_000);
});

describe('startup errors name what is wrong', () => {
  it.each([
    [{ store: '/nonexistent/store' }, /no mrlseg\.sqlite/],
    [{ model: '/nonexistent/model.onnx' }, /--model \/nonexistent\/model\.onnx: no such file/],
  ])('%j', async (over, msg) => {
    await expect(createContext(testConfig(over))).rejects.toThrow(msg);
  });
});
