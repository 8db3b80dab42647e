/**
 * Backends for store tests: a SQLite folder, and (when a PostgreSQL server can be started here) a
 * fresh database on a throwaway server per test, each with its own artifacts folder.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { postgresUnavailable, startPostgres, type PostgresServer } from '@mrlseg/test-servers';

export interface TestStoreLocation {
  /** What --store gets. */
  location: string;
  /** Artifacts folder (the default one for SQLite). */
  artifacts: string;
  /** A scratch folder removed with the location. */
  scratch: string;
}

export interface TestBackend {
  name: 'sqlite' | 'postgres';
  /** A new, empty store location. */
  fresh(): Promise<TestStoreLocation>;
}

export const pgMissing = postgresUnavailable();
if (pgMissing) console.warn(pgMissing);

const scratchDirs: string[] = [];
export function scratch(prefix = 'mrlseg-store-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  scratchDirs.push(d);
  return d;
}
export function removeScratch(): void {
  for (const d of scratchDirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

export const sqliteBackend: TestBackend = {
  name: 'sqlite',
  async fresh() {
    const d = scratch();
    return { location: d, artifacts: join(d, 'artifacts'), scratch: d };
  },
};

/** A PostgreSQL backend on one server for the whole test file (start in beforeAll, stop in afterAll). */
export function postgresBackend(): TestBackend & { start(): Promise<void>; stop(): Promise<void>; server(): PostgresServer } {
  let server: PostgresServer | undefined;
  let n = 0;
  return {
    name: 'postgres',
    async start() {
      server = await startPostgres();
    },
    async stop() {
      await server?.stop();
    },
    server() {
      if (!server) throw new Error('postgresBackend: start() first');
      return server;
    },
    async fresh() {
      if (!server) throw new Error('postgresBackend: start() first');
      const url = await server.createDatabase(`t${process.pid}_${++n}`);
      const d = scratch('mrlseg-pgart-');
      return { location: url, artifacts: join(d, 'artifacts'), scratch: d };
    },
  };
}
