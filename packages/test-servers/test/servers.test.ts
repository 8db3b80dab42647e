import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresUnavailable, redisUnavailable, startPostgres, startRedis, type PostgresServer } from '../src/index';
import { Socket } from 'node:net';

const pgMissing = postgresUnavailable();
if (pgMissing) console.warn(pgMissing);
const redisMissing = redisUnavailable();
if (redisMissing) console.warn(redisMissing);

const connects = (port: number) =>
  new Promise<boolean>((res) => {
    const s = new Socket();
    s.once('connect', () => (s.destroy(), res(true)));
    s.once('error', () => res(false));
    s.connect(port, '127.0.0.1');
  });

describe.skipIf(pgMissing)('a throwaway PostgreSQL', () => {
  let pg: PostgresServer;
  beforeAll(async () => {
    pg = await startPostgres();
  }, 60_000);
  afterAll(() => pg?.stop());

  it('answers SQL in a database it created, and is gone after stop()', async () => {
    const url = await pg.createDatabase('helper_check');
    const { default: pgc } = await import('pg');
    const c = new pgc.Client({ connectionString: url });
    await c.connect();
    const r = await c.query<{ db: string; two: number }>('SELECT current_database() AS db, 1 + 1 AS two');
    await c.end();
    expect(r.rows[0]).toEqual({ db: 'helper_check', two: 2 });
    await pg.stop();
    expect(await connects(pg.port)).toBe(false);
  });
});

describe.skipIf(redisMissing)('a throwaway Redis', () => {
  it('accepts connections until stop()', async () => {
    const r = await startRedis();
    expect(await connects(r.port)).toBe(true);
    await r.stop();
    expect(await connects(r.port)).toBe(false);
  }, 30_000);

  it('persistent: down() then up() on the same port keeps the data (a Redis restart)', async () => {
    const r = await startRedis({ persistent: true });
    const { Redis } = await import('ioredis');
    const c = new Redis(r.url, { lazyConnect: true, maxRetriesPerRequest: null });
    c.on('error', () => undefined);
    try {
      await c.connect();
      await c.set('k', 'kept');
      await r.down();
      expect(await connects(r.port)).toBe(false);
      await r.up();
      expect(await c.get('k')).toBe('kept');
    } finally {
      c.disconnect();
      await r.stop();
    }
  }, 30_000);
});
