/**
 * Real database servers for integration tests: a throwaway PostgreSQL (Debian's server binaries)
 * or Redis, each on 127.0.0.1 on a free port with a temporary data folder, stopped (and the
 * folder removed) by `stop()` or, failing that, when the test process exits.
 *
 * PostgreSQL refuses to run as root (CI runs as root): as root, initdb and postgres run as the
 * unprivileged `postgres` user (setpriv), which `.ci/run` creates when it is missing.
 *
 * Usage in a vitest file:
 *
 *   const pgMissing = postgresUnavailable();   // null, or one line saying what to install
 *   describe.skipIf(pgMissing)('... on PostgreSQL', () => {
 *     let pg: PostgresServer;
 *     beforeAll(async () => { pg = await startPostgres(); });
 *     afterAll(() => pg?.stop());
 *     ... await pg.createDatabase('t1') -> 'postgres://mrlseg@127.0.0.1:PORT/t1'
 *   });
 *
 * With MRLSEG_REQUIRE_SERVERS=1 (set by .ci/run) a missing server is an error, not a skip, so CI
 * cannot pass by skipping.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where Debian puts PostgreSQL's server binaries (newest version first; 15 on these machines). */
export function postgresBinDir(): string | null {
  const env = process.env.MRLSEG_PG_BIN;
  if (env) return existsSync(join(env, 'postgres')) ? env : null;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'postgres')) && existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length ? join(root, versions[0], 'bin') : null;
}

/** The unprivileged account to run PostgreSQL as when we are root, or null when none exists. */
function postgresAccount(): { uid: number; gid: number; name: string } | null {
  const r = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (r.status !== 0 || g.status !== 0) return null;
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()), name: 'postgres' };
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

function unavailable(line: string): string {
  if (process.env.MRLSEG_REQUIRE_SERVERS === '1') throw new Error(`${line} (MRLSEG_REQUIRE_SERVERS=1: CI must run these tests)`);
  return line;
}

/** Null when a PostgreSQL server can be started here, else the one line a skipped test prints. */
export function postgresUnavailable(): string | null {
  if (!postgresBinDir()) return unavailable('PostgreSQL tests skipped: no server binaries in /usr/lib/postgresql/<version>/bin (apt-get install postgresql-15)');
  if (isRoot() && !postgresAccount()) return unavailable("PostgreSQL tests skipped: running as root and no unprivileged 'postgres' user to run the server as (useradd --system postgres)");
  return null;
}

/** Null when a Redis server can be started here, else the one line a skipped test prints. */
export function redisUnavailable(): string | null {
  return spawnSync('redis-server', ['--version']).status === 0 ? null : unavailable('Redis tests skipped: no redis-server on PATH (apt-get install redis-server)');
}

/** A free TCP port on 127.0.0.1 (asked of the kernel, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port. */
async function waitForPort(port: number, child: ChildProcess, log: () => string, timeoutMs: number): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited (code ${child.exitCode}) before accepting connections:\n${log()}`);
    const ok = await new Promise<boolean>((res) => {
      const s = new Socket();
      s.once('connect', () => {
        s.destroy();
        res(true);
      });
      s.once('error', () => res(false));
      s.connect(port, '127.0.0.1');
    });
    if (ok) return;
    if (Date.now() - t0 > timeoutMs) throw new Error(`server not accepting connections on 127.0.0.1:${port} after ${timeoutMs} ms:\n${log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Resolves once the server answers a query: PostgreSQL accepts TCP connections while it is still
 * starting up (and answers those with 'the database system is starting up').
 */
async function waitForQueries(url: string, child: ChildProcess, log: () => string, timeoutMs: number): Promise<void> {
  const pg = (await import('pg')).default;
  const t0 = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`postgres exited (code ${child.exitCode}) while starting:\n${log()}`);
    const c = new pg.Client({ connectionString: url });
    c.on('error', () => undefined);
    try {
      await c.connect();
      await c.query('SELECT 1');
      await c.end();
      return;
    } catch (e) {
      await c.end().catch(() => undefined);
      if (Date.now() - t0 > timeoutMs) throw new Error(`postgres not answering queries after ${timeoutMs} ms (${(e as Error).message}):\n${log()}`, { cause: e });
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

const live = new Set<ChildProcess>();
let exitHook = false;
function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (!exitHook) {
    exitHook = true;
    // Last resort (a test that never called stop()): no server outlives the test process.
    process.once('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals, timeoutMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}

export interface PostgresServer {
  port: number;
  /** Superuser (trust authentication on 127.0.0.1; no password). */
  user: string;
  /** URL of database `db` (default: the built-in `postgres` database). */
  url(db?: string): string;
  /** Creates database `name` (letters, digits, _) and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Fast shutdown, then removes the data folder. */
  stop(): Promise<void>;
}

export interface StartPostgresOptions {
  /**
   * Keep PostgreSQL's durability settings (fsync, synchronous_commit, full_page_writes on), as a
   * real deployment would; default off, which tests do not need and which makes them faster.
   */
  durable?: boolean;
  /** Extra `-c name=value` settings. */
  settings?: Record<string, string>;
}

/**
 * Starts a fresh PostgreSQL cluster (initdb into a temporary folder, superuser `mrlseg`, trust
 * authentication, no locale) on 127.0.0.1 on a free port. Check postgresUnavailable() first.
 */
export async function startPostgres(opts: StartPostgresOptions = {}): Promise<PostgresServer> {
  const why = postgresUnavailable();
  if (why) throw new Error(why);
  const bin = postgresBinDir()!;
  const account = isRoot() ? postgresAccount() : null;
  const base = mkdtempSync(join(tmpdir(), 'mrlseg-pg-'));
  const data = join(base, 'data');
  const sock = join(base, 'sock');
  mkdirSync(sock);
  if (account) {
    chownSync(base, account.uid, account.gid);
    chownSync(sock, account.uid, account.gid);
  }
  // As root: run the binaries as the postgres account (setpriv execs in place, so the child's pid is postgres's own).
  const asUser = (cmd: string, args: string[]): [string, string[]] =>
    account ? ['setpriv', [`--reuid=${account.uid}`, `--regid=${account.gid}`, '--init-groups', '--reset-env', '--', cmd, ...args]] : [cmd, args];
  const user = 'mrlseg';
  const [initCmd, initArgs] = asUser(join(bin, 'initdb'), ['-D', data, '-U', user, '--auth=trust', '--no-locale', '-E', 'UTF8', '--no-sync', '--no-instructions']);
  const init = spawnSync(initCmd, initArgs, { encoding: 'utf8', cwd: base });
  if (init.status !== 0) {
    rmSync(base, { recursive: true, force: true });
    throw new Error(`initdb failed (${init.status}): ${init.stderr || init.stdout}`);
  }
  const port = await freePort();
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    port: String(port),
    unix_socket_directories: sock,
    max_connections: '200',
    ...(opts.durable ? {} : { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' }),
    ...opts.settings,
  };
  const [pgCmd, pgArgs] = asUser(join(bin, 'postgres'), ['-D', data, ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])]);
  const child = spawn(pgCmd, pgArgs, { stdio: ['ignore', 'pipe', 'pipe'], cwd: base });
  track(child);
  let log = '';
  const keep = (d: Buffer) => {
    log = (log + String(d)).slice(-4000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const stop = async () => {
    await stopChild(child, 'SIGINT'); // fast shutdown: disconnects clients, no waiting on them
    rmSync(base, { recursive: true, force: true });
  };
  const url = (db = 'postgres') => `postgres://${user}@127.0.0.1:${port}/${db}`;
  try {
    await waitForPort(port, child, () => log, 60_000);
    await waitForQueries(url(), child, () => log, 60_000);
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    port,
    user,
    url,
    async createDatabase(name: string) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`createDatabase: name must be letters, digits and _, got '${name}'`);
      const pg = (await import('pg')).default;
      const c = new pg.Client({ connectionString: url() });
      await c.connect();
      try {
        await c.query(`CREATE DATABASE ${name}`);
      } finally {
        await c.end();
      }
      return url(name);
    },
    stop,
  };
}

export interface RedisServer {
  port: number;
  url: string;
  /** Stops the server and removes its folder. */
  stop(): Promise<void>;
  /** Stops the server but keeps its folder (SIGTERM: with `persistent`, it writes its append-only file first). */
  down(): Promise<void>;
  /** Starts it again on the same port and folder after down() (with `persistent`, with the same data). */
  up(): Promise<void>;
}

export interface StartRedisOptions {
  /** Keep an append-only file (fsync on every write), so that down() then up() keeps the data (a Redis restart). */
  persistent?: boolean;
}

/**
 * Starts a throwaway redis-server on 127.0.0.1 on a free port in a temporary folder; nothing is
 * saved unless `persistent`. Eviction is off (BullMQ requires it: an evicted key is a lost job).
 */
export async function startRedis(opts: StartRedisOptions = {}): Promise<RedisServer> {
  const why = redisUnavailable();
  if (why) throw new Error(why);
  const dir = mkdtempSync(join(tmpdir(), 'mrlseg-redis-'));
  const port = await freePort();
  const args = ['--bind', '127.0.0.1', '--port', String(port), '--dir', dir, '--save', '', '--protected-mode', 'yes', '--maxmemory-policy', 'noeviction'];
  args.push(...(opts.persistent ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']));
  let child: ChildProcess | null = null;
  let log = '';
  const keep = (d: Buffer) => {
    log = (log + String(d)).slice(-4000);
  };
  const up = async () => {
    if (child) throw new Error('startRedis: up() while the server is running');
    const c = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    track(c);
    c.stdout!.on('data', keep);
    c.stderr!.on('data', keep);
    await waitForPort(port, c, () => log, 15_000);
  };
  const down = async () => {
    const c = child;
    child = null;
    if (c) await stopChild(c, 'SIGTERM');
  };
  const stop = async () => {
    await down();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await up();
  } catch (e) {
    await stop();
    throw e;
  }
  return { port, url: `redis://127.0.0.1:${port}`, stop, down, up };
}
