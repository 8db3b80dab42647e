/**
 * The PostgreSQL backend, for a team: one database that every worker writes and the API reads,
 * through `pg` and Kysely's PostgresDialect. The schema version is the one row of
 * `mrlseg_schema`; migrations run under a transaction-scoped advisory lock, so workers that open
 * a fresh database at the same moment migrate it once.
 *
 * A run's owner: the worker that starts a run takes a session-level advisory lock on it
 * (pg_advisory_lock(RUN_LOCK_CLASS, hashtext(run id))) on a connection it keeps open until
 * finishRun. When that process dies, on whatever host, the server ends its session and drops the
 * lock, so a run still 'running' without its lock reads as 'incomplete' (`liveExpr` looks the
 * lock up in pg_locks), and a second worker cannot start a run another live worker holds.
 */
import pg from 'pg';
import { Kysely, PostgresDialect, sql, type RawBuilder } from 'kysely';
import { MIGRATIONS, READ_ONLY_MIN_VERSION, SCHEMA_VERSION } from './migrations';
import type { StoreLocation } from './locator';
import type { StoreTables } from './schema';
import { SqlResultsStore, artifactsFor, type StoreEngine } from './sql-store';
import type { OpenStoreOptions } from './store';

/** Advisory-lock class (first key) of run ownership locks: 'MRLS'. */
export const RUN_LOCK_CLASS = 0x4d524c53;
/** Advisory-lock class of schema migrations: 'MRLM'. */
const MIGRATION_LOCK_CLASS = 0x4d524c4d;

/** int8 (COUNT, BIGINT seeds) as JS numbers: every value the store keeps is well inside 2^53. */
const TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
};

/** One line saying why `location` cannot be used, from a pg error. */
function connectError(location: string, e: unknown): Error {
  const err = e as Error & { code?: string };
  let hint = '';
  if (err.code === 'ECONNREFUSED' || err.code === 'ENOTFOUND' || err.code === 'ETIMEDOUT' || /timeout/i.test(err.message)) hint = '; is PostgreSQL running and reachable there?';
  else if (err.code === '3D000') hint = '; create it first (createdb, or CREATE DATABASE)';
  else if (err.code === '28P01' || err.code === '28000') hint = '; check the user and password in the URL (or PGPASSWORD / ~/.pgpass)';
  return new Error(`results store ${location}: cannot connect to PostgreSQL: ${err.message.split('\n')[0]}${hint}`);
}

class PostgresEngine implements StoreEngine {
  readonly backend = 'postgres' as const;
  readonly beginWrite = 'BEGIN';
  readonly db: Kysely<StoreTables>;
  private lockClient: Promise<pg.Client> | null = null;
  private readonly owned = new Set<string>();

  constructor(
    readonly location: string,
    private readonly url: string,
    readonly pool: pg.Pool,
  ) {
    this.db = new Kysely<StoreTables>({ dialect: new PostgresDialect({ pool }) });
  }

  liveExpr(): RawBuilder<boolean> {
    return sql<boolean>`EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
      AND l.classid::bigint = ${RUN_LOCK_CLASS} AND l.objid::bigint = (hashtext(${sql.ref('runs.id')})::bigint & 4294967295))`;
  }

  /** The session that holds this process's run locks (opened on first use). */
  private session(): Promise<pg.Client> {
    this.lockClient ??= (async () => {
      const c = new pg.Client({ connectionString: this.url, types: TYPES, application_name: 'mrlseg-run-owner' });
      // A dropped connection loses the locks (readers then see the runs as incomplete); never crash on it.
      c.on('error', () => undefined);
      await c.connect();
      return c;
    })();
    return this.lockClient;
  }

  async claimRun(runId: string): Promise<'claimed' | 'taken'> {
    if (this.owned.has(runId)) return 'taken';
    const c = await this.session();
    const r = await c.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok', [RUN_LOCK_CLASS, runId]);
    if (!r.rows[0]?.ok) return 'taken';
    this.owned.add(runId);
    return 'claimed';
  }

  async releaseRun(runId: string): Promise<void> {
    if (!this.owned.delete(runId) || !this.lockClient) return;
    const c = await this.lockClient;
    await c.query('SELECT pg_advisory_unlock($1, hashtext($2))', [RUN_LOCK_CLASS, runId]);
  }

  /** PostgreSQL's own row locks order concurrent writers. */
  exclusiveWrite<T>(fn: () => Promise<T>): Promise<T> {
    return fn();
  }

  async close(): Promise<void> {
    const c = this.lockClient;
    this.lockClient = null;
    this.owned.clear();
    if (c) await (await c).end().catch(() => undefined);
    await this.db.destroy();
  }
}

/** The schema version, or null when the database holds no store (no mrlseg_schema table). */
async function readVersion(c: pg.ClientBase): Promise<number | null> {
  const t = await c.query<{ t: string | null }>("SELECT to_regclass('mrlseg_schema')::text AS t");
  if (!t.rows[0]?.t) return null;
  const v = await c.query<{ version: number }>('SELECT version FROM mrlseg_schema');
  return v.rows[0]?.version ?? 0;
}

/**
 * Brings the database to SCHEMA_VERSION, one transaction per migration, each under the
 * migration advisory lock with the version re-read inside it.
 * @returns the versions applied, in order.
 */
export async function migratePostgres(pool: pg.Pool, location: string): Promise<number[]> {
  const c = await pool.connect();
  const applied: number[] = [];
  try {
    for (;;) {
      await c.query('BEGIN');
      try {
        await c.query('SELECT pg_advisory_xact_lock($1, 0)', [MIGRATION_LOCK_CLASS]);
        await c.query('CREATE TABLE IF NOT EXISTS mrlseg_schema (version INTEGER NOT NULL)');
        const rows = await c.query<{ version: number }>('SELECT version FROM mrlseg_schema');
        if (!rows.rows.length) await c.query('INSERT INTO mrlseg_schema (version) VALUES (0)');
        const current = rows.rows[0]?.version ?? 0;
        if (current > SCHEMA_VERSION) throw new Error(`results store ${location} has schema version ${current}, newer than this toolkit's ${SCHEMA_VERSION}; update the toolkit`);
        const next = MIGRATIONS.find((m) => m.version > current);
        if (!next) {
          await c.query('COMMIT');
          return applied;
        }
        for (const s of next.statements({ dialect: 'postgres', storeDir: null })) await c.query(s);
        await c.query('UPDATE mrlseg_schema SET version = $1', [next.version]);
        await c.query('COMMIT');
        applied.push(next.version);
      } catch (e) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw e;
      }
    }
  } finally {
    c.release();
  }
}

/** Opens (migrating unless `readonly`) the store in the PostgreSQL database at `loc`. */
export async function openPostgresStore(loc: Extract<StoreLocation, { kind: 'postgres' }>, options: OpenStoreOptions = {}): Promise<SqlResultsStore> {
  const readonly = options.readonly ?? false;
  const artifactsDir = artifactsFor(options.artifacts, null, '');
  if (!readonly && options.artifacts === undefined) {
    throw new Error(`results store ${loc.display}: a PostgreSQL store needs --artifacts <dir> (checkpoints, ONNX exports and case PNGs; in a team, a folder every machine mounts)`);
  }
  const pool = new pg.Pool({
    connectionString: loc.url,
    types: TYPES,
    max: 8,
    connectionTimeoutMillis: 10_000,
    application_name: 'mrlseg',
    // a reader cannot write even by mistake
    ...(readonly ? { options: '-c default_transaction_read_only=on' } : {}),
  });
  pool.on('error', () => undefined); // an idle connection dropped: the next query reconnects or fails with its own error
  let version: number | null;
  try {
    if (readonly) {
      const c = await pool.connect();
      try {
        version = await readVersion(c);
      } finally {
        c.release();
      }
    } else {
      await migratePostgres(pool, loc.display);
      version = SCHEMA_VERSION;
    }
  } catch (e) {
    await pool.end().catch(() => undefined);
    if (e instanceof Error && e.message.startsWith('results store')) throw e;
    throw connectError(loc.display, e);
  }
  if (version === null || version < READ_ONLY_MIN_VERSION || version > SCHEMA_VERSION) {
    await pool.end().catch(() => undefined);
    throw new Error(
      version === null
        ? `results store ${loc.display}: this database holds no results store yet (train something into it first, or check --store)`
        : `results store ${loc.display} has schema version ${version}, this toolkit reads ${READ_ONLY_MIN_VERSION}..${SCHEMA_VERSION}; ` +
            (version > SCHEMA_VERSION ? 'update the toolkit' : 'open it once read-write (any mrlseg train or eval) to migrate'),
    );
  }
  const store = new SqlResultsStore(new PostgresEngine(loc.display, loc.url, pool), {
    readonly,
    schemaVersion: version,
    artifactsDir,
    pathBase: artifactsDir,
  });
  if (!readonly) await store.markDeadRuns();
  return store;
}
