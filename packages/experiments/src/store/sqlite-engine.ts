/**
 * The SQLite backend: `<dir>/mrlseg.sqlite` (WAL journal) through better-sqlite3 and Kysely's
 * SqliteDialect. The schema version is the `user_version` pragma; write transactions begin
 * IMMEDIATE so several writing processes queue on the lock (busy timeout) instead of failing;
 * a run's owner is alive while its pid exists on this host.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { MIGRATIONS, READ_ONLY_MIN_VERSION, SCHEMA_VERSION, ARTIFACT_RELATIVE_VERSION } from './migrations';
import type { StoreTables } from './schema';
import { SqlResultsStore, artifactsFor, type StoreEngine } from './sql-store';
import { ARTIFACTS_DIR, DB_FILE, type OpenStoreOptions } from './store';

/** How long a writer waits for another process's write transaction (ms). */
const BUSY_TIMEOUT_MS = 30_000;

/** Per database file: the tail of this process's queue of write transactions. */
const writeQueues = new Map<string, Promise<unknown>>();

/**
 * Brings the SQLite database `db` to SCHEMA_VERSION, one IMMEDIATE transaction per migration
 * (re-reading the version inside it, so two processes opening a store at once migrate it once).
 * Throws when the store is newer than this toolkit.
 * @returns the versions applied, in order (empty when already current).
 */
export function migrateSqlite(db: Database.Database, dir: string): number[] {
  const version = () => db.pragma('user_version', { simple: true }) as number;
  if (version() > SCHEMA_VERSION) {
    throw new Error(`results store ${dir} has schema version ${version()}, newer than this toolkit's ${SCHEMA_VERSION}; update the toolkit`);
  }
  const applied: number[] = [];
  for (const m of MIGRATIONS) {
    if (m.version <= version()) continue;
    const ran = db
      .transaction(() => {
        if (m.version <= version()) return false;
        for (const s of m.statements({ dialect: 'sqlite', storeDir: dir })) db.prepare(s).run();
        db.pragma(`user_version = ${m.version}`);
        return true;
      })
      .immediate();
    if (ran) applied.push(m.version);
  }
  return applied;
}

class SqliteEngine implements StoreEngine {
  readonly backend = 'sqlite' as const;
  readonly beginWrite = 'BEGIN IMMEDIATE';
  readonly db: Kysely<StoreTables>;
  constructor(
    readonly location: string,
    private readonly dbPath: string,
    raw: Database.Database,
  ) {
    this.db = new Kysely<StoreTables>({ dialect: new SqliteDialect({ database: raw }) });
  }
  liveExpr(): null {
    return null;
  }
  async claimRun(): Promise<'by-pid'> {
    return 'by-pid';
  }
  async releaseRun(): Promise<void> {}
  /**
   * Write transactions of all this process's connections to one file, one after another:
   * better-sqlite3 waits for a lock synchronously, so a second connection's BEGIN IMMEDIATE
   * would stall the thread that must commit the first. Other processes queue on the busy timeout.
   */
  exclusiveWrite<T>(fn: () => Promise<T>): Promise<T> {
    const prev = writeQueues.get(this.dbPath) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    writeQueues.set(this.dbPath, tail);
    void tail.then(() => {
      if (writeQueues.get(this.dbPath) === tail) writeQueues.delete(this.dbPath);
    });
    return run;
  }
  async close(): Promise<void> {
    await this.db.destroy();
  }
}

/** Opens (creating and migrating unless `readonly`) the SQLite store in `dir`. */
export async function openSqliteStore(dir: string, options: OpenStoreOptions = {}): Promise<SqlResultsStore> {
  const dbPath = join(dir, DB_FILE);
  const readonly = options.readonly ?? false;
  const artifactsDir = artifactsFor(options.artifacts, dir, ARTIFACTS_DIR)!;
  let raw: Database.Database;
  let version: number;
  if (readonly) {
    if (!existsSync(dbPath)) throw new Error(`results store ${dir}: no ${DB_FILE} there (train something first, or check --store)`);
    raw = new Database(dbPath, { readonly: true, fileMustExist: true });
    raw.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    version = raw.pragma('user_version', { simple: true }) as number;
    if (version < READ_ONLY_MIN_VERSION || version > SCHEMA_VERSION) {
      raw.close();
      throw new Error(
        `results store ${dir} has schema version ${version}, this toolkit reads ${READ_ONLY_MIN_VERSION}..${SCHEMA_VERSION}; ` +
          (version > SCHEMA_VERSION ? 'update the toolkit' : 'open it once read-write (any mrlseg train or eval) to migrate'),
      );
    }
  } else {
    // The store folder and the artifacts folder: the same tree by default, apart with --artifacts.
    mkdirSync(dir, { recursive: true });
    mkdirSync(artifactsDir, { recursive: true });
    raw = new Database(dbPath);
    try {
      raw.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      raw.pragma('journal_mode = WAL');
      raw.pragma('synchronous = NORMAL');
      raw.pragma('foreign_keys = ON');
      migrateSqlite(raw, dir);
    } catch (e) {
      raw.close();
      throw e;
    }
    version = raw.pragma('user_version', { simple: true }) as number;
  }
  const store = new SqlResultsStore(new SqliteEngine(dir, dbPath, raw), {
    readonly,
    schemaVersion: version,
    artifactsDir,
    // before schema 6 paths were stored relative to the store folder (only read-only openings see such a store)
    pathBase: version < ARTIFACT_RELATIVE_VERSION ? dir : artifactsDir,
  });
  if (!readonly) await store.markDeadRuns();
  return store;
}
