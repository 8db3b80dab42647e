/** `--queue redis://[user:password@]host:port[/db]`: parsing, and a quick reachability check. */
import { Redis } from 'ioredis';

export interface RedisTarget {
  /** The URL as given (password masked), for messages. */
  display: string;
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  tls: boolean;
}

/**
 * Parses a queue URL (`redis://` or `rediss://` for TLS; default port 6379, database 0).
 * @throws Error naming the argument and the expected form.
 */
export function parseQueueUrl(url: string, what = '--queue'): RedisTarget {
  if (typeof url !== 'string' || url.trim() === '') throw new Error(`${what}: expected redis://host:port[/db], got an empty value`);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`${what}: '${url}' is not a URL; expected redis://host:port[/db]`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new Error(`${what}: '${u.protocol}' is not supported; expected redis://host:port[/db] (or rediss:// for TLS)`);
  if (!u.hostname) throw new Error(`${what}: '${url}' names no host; expected redis://host:port[/db]`);
  const port = u.port ? Number(u.port) : 6379;
  const path = u.pathname.replace(/^\//, '');
  const db = path === '' ? 0 : Number(path);
  if (!Number.isInteger(db) || db < 0) throw new Error(`${what}: database '${path}' in '${url}' is not a non-negative integer`);
  const masked = new URL(u.href);
  if (masked.password) masked.password = '***';
  return {
    display: masked.href,
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port,
    db,
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    tls: u.protocol === 'rediss:',
  };
}

/**
 * ioredis options for BullMQ: commands wait through a Redis restart (no per-request retry limit,
 * reconnecting with a capped backoff) instead of failing.
 */
export function connectionOptions(t: RedisTarget) {
  return {
    host: t.host,
    port: t.port,
    db: t.db,
    username: t.username,
    password: t.password,
    ...(t.tls ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
    retryStrategy: (times: number) => Math.min(200 * times, 2000),
  };
}

/**
 * Connects once and sends PING, failing fast (no retries) with one line saying what to check.
 * Commands that start workers or enqueue call it first, so an unreachable Redis is one clear error
 * rather than a worker that waits forever.
 */
export async function checkQueueReachable(t: RedisTarget, timeoutMs = 3000): Promise<void> {
  const r = new Redis({ ...connectionOptions(t), lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: timeoutMs, enableOfflineQueue: false });
  r.on('error', () => {}); // reported through connect()'s rejection
  try {
    await r.connect();
    await r.ping();
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new Error(`cannot reach Redis at ${t.display} (${why}); start redis-server there or check --queue`, { cause: e });
  } finally {
    r.disconnect();
  }
}
