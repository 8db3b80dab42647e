// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { ApiClient, ApiError } from '../src/lib/api';
import { sessionTokenStore } from '../src/lib/token';
import { makeCase, makeRun } from './fixtures';

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
const client = (handler: (url: string) => Response | Promise<Response>) => new ApiClient('', async (url) => handler(url));

describe('ApiClient', () => {
  it('unwraps { items } lists and validates them with the shared schemas', async () => {
    const runs = await client(() => json({ items: [{ ...makeRun('r1', 'onlyseg'), links: { self: '/api/v1/runs/r1' } }] })).runs();
    expect(runs.map((r) => [r.id, r.variant, r.status])).toEqual([['r1', 'onlyseg', 'completed']]);
  });

  it('builds the cases query from CasesQuery fields and reads the page fields', async () => {
    let asked = '';
    const page = await client((url) => {
      asked = url;
      return json({ items: [makeCase('r1', 'a', 0.01, 0.5, 3)], total: 7, page: 2, pageSize: 1 });
    }).cases('r 1', { page: 2, pageSize: 1, sort: 'hd', order: 'desc', interval: '0-2%' });
    expect(asked).toBe('/api/v1/runs/r%201/cases?page=2&pageSize=1&sort=hd&order=desc&interval=0-2%25');
    expect([page.total, page.page, page.pageSize, page.items[0].caseId]).toEqual([7, 2, 1, 'a']);
  });

  it('reads every page of a run', async () => {
    const all = Array.from({ length: 501 }, (_, i) => makeCase('r1', `c${String(i).padStart(3, '0')}`, 0.01, 0.5, 1));
    const pages: string[] = [];
    const cases = await client((url) => {
      const q = new URL(url, 'http://x').searchParams;
      pages.push(q.get('page')!);
      const p = Number(q.get('page'));
      return json({ items: all.slice((p - 1) * 500, p * 500), total: 501, page: p, pageSize: 500 });
    }).allCases('r1');
    expect(cases).toHaveLength(501);
    expect(pages).toEqual(['1', '2']);
  });

  it.each([
    [json({ error: { status: 404, code: 'not_found', message: "run 'x' not found" } }, 404), "/api/v1/runs/x: HTTP 404 - run 'x' not found"],
    [json({ id: 'x' }), "/api/v1/runs/x: field 'experimentId': "],
    [new Response('<html>', { status: 502 }), '/api/v1/runs/x: HTTP 502'],
  ])('reports failures with the endpoint and the reason (%#)', async (res, message) => {
    const err = await client(() => res)
      .run('x')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).message).toContain(message);
  });

  it('says when the API cannot be reached', async () => {
    const err = await client(() => {
      throw new TypeError('Failed to fetch');
    })
      .experiments()
      .catch((e: unknown) => e);
    expect((err as Error).message).toBe('/api/v1/experiments: the API cannot be reached (Failed to fetch)');
  });

  it('returns null for a missing artifact (404) and bytes otherwise', async () => {
    const api = client((url) => (url.endsWith('actions.png') ? json({ error: { message: 'no' } }, 404) : new Response(new Uint8Array([1, 2, 3]))));
    expect(await api.bytes(api.caseImageUrl('r1', 'a', 'actions'))).toBeNull();
    expect(new Uint8Array((await api.bytes(api.caseImageUrl('r1', 'a', 'image')))!)).toEqual(new Uint8Array([1, 2, 3]));
    expect(api.reportUrl('r1', 'latex')).toBe('/api/v1/runs/r1/report?format=latex');
  });

  it('sends the stored token as a bearer header; a 401 forgets a refused token and tells the listeners', async () => {
    const tokens = sessionTokenStore(undefined);
    const headers: (string | null)[] = [];
    const api = new ApiClient(
      '',
      async (_url, init) => {
        const auth = new Headers(init?.headers).get('Authorization');
        headers.push(auth);
        return auth === 'Bearer good' ? json({ items: [] }) : json({ error: { status: 401, code: 'unauthorized', message: 'token needed' } }, 401);
      },
      tokens,
    );
    const events: boolean[] = [];
    const off = api.onAuthRequired((e) => events.push(e.rejected));
    const err = await api.experiments().catch((e: unknown) => e);
    expect((err as ApiError).status).toBe(401);
    expect((err as ApiError).message).toBe('/api/v1/experiments: HTTP 401 - token needed');
    tokens.set('bad');
    expect(await api.bytes('/api/v1/runs/r1/cases/a/image.png').catch((e: unknown) => (e as ApiError).status)).toBe(401);
    expect(tokens.get()).toBeNull();
    tokens.set('good');
    expect(await api.experiments()).toEqual([]);
    expect(headers).toEqual([null, 'Bearer bad', 'Bearer good']);
    expect(events).toEqual([false, true]);
    off();
    tokens.clear();
    await api.experiments().catch(() => undefined);
    expect(events).toEqual([false, true]);
  });
});
