/**
 * Schema of the results store, versioned with SQLite's `user_version` pragma. Each migration
 * moves the database from version i to i + 1 inside one transaction, so a store is always at a
 * whole version. Append migrations; never edit one that has shipped.
 */
import type Database from 'better-sqlite3';

export interface Migration {
  /** Version the database has after this migration. */
  version: number;
  description: string;
  up(db: Database.Database): void;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'experiments, runs, epochs, checkpoints, cases',
    up(db) {
      db.exec(`
        CREATE TABLE experiments (
          id TEXT PRIMARY KEY,
          name TEXT NOT NULL,
          dataset TEXT NOT NULL,
          config TEXT NOT NULL,
          config_hash TEXT NOT NULL,
          created_at TEXT NOT NULL,
          git_commit TEXT
        );
        CREATE INDEX experiments_hash ON experiments(config_hash);
        CREATE TABLE runs (
          id TEXT PRIMARY KEY,
          experiment_id TEXT NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
          variant TEXT NOT NULL,
          fold INTEGER NOT NULL,
          seed INTEGER NOT NULL,
          status TEXT NOT NULL,
          dataset TEXT NOT NULL,
          backend TEXT NOT NULL,
          git_commit TEXT,
          config TEXT NOT NULL,
          started_at TEXT NOT NULL,
          finished_at TEXT,
          duration_ms REAL,
          timings TEXT NOT NULL DEFAULT '{}',
          checkpoint_path TEXT,
          onnx_path TEXT,
          package_versions TEXT NOT NULL DEFAULT '{}',
          error TEXT,
          pid INTEGER,
          host TEXT
        );
        CREATE INDEX runs_experiment ON runs(experiment_id);
        CREATE TABLE epochs (
          run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
          phase TEXT NOT NULL,
          epoch INTEGER NOT NULL,
          loss REAL,
          reward REAL,
          val_dice REAL,
          lr REAL,
          duration_ms REAL NOT NULL,
          PRIMARY KEY (run_id, phase, epoch)
        );
        CREATE TABLE checkpoints (
          run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
          phase TEXT NOT NULL,
          epoch INTEGER NOT NULL,
          path TEXT NOT NULL,
          created_at TEXT NOT NULL,
          PRIMARY KEY (run_id, phase, epoch)
        );
        CREATE TABLE cases (
          run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
          case_id TEXT NOT NULL,
          patient TEXT NOT NULL,
          fb_ratio REAL NOT NULL,
          foreground_fraction REAL NOT NULL,
          interval TEXT,
          dice REAL,
          iou REAL,
          precision REAL,
          recall REAL,
          hd REAL,
          hd95 REAL,
          assd REAL,
          nsd REAL,
          empty_gt INTEGER NOT NULL,
          empty_pred INTEGER NOT NULL,
          PRIMARY KEY (run_id, case_id)
        );
        CREATE INDEX cases_interval ON cases(run_id, interval);
      `);
    },
  },
  {
    version: 2,
    description: "cases: what the deterministic policy masked (masked_fraction, lesion_masked_fraction; NULL for runs without an agent and for cases stored before)",
    up(db) {
      // ADD COLUMN without a default: every existing row reads NULL ("not recorded"), the table is not rewritten.
      db.exec(`
        ALTER TABLE cases ADD COLUMN masked_fraction REAL;
        ALTER TABLE cases ADD COLUMN lesion_masked_fraction REAL;
      `);
    },
  },
  {
    version: 3,
    description: "agent instruments per epoch (epochs.stats, JSON) and the run's validation-based selection (runs.selection, JSON) (issue 15)",
    up(db) {
      db.exec(`
        ALTER TABLE epochs ADD COLUMN stats TEXT;
        ALTER TABLE runs ADD COLUMN selection TEXT;
      `);
    },
  },
  {
    version: 4,
    description: 'api_tokens: bearer tokens of the evaluation API (SHA-256 hash only, role, label, revocation time)',
    up(db) {
      // A new table only: readers of older stores see no tokens (tokens.ts checks for the table).
      db.exec(`
        CREATE TABLE api_tokens (
          id TEXT PRIMARY KEY,
          hash TEXT NOT NULL UNIQUE,
          role TEXT NOT NULL CHECK (role IN ('reader', 'runner')),
          label TEXT,
          created_at TEXT NOT NULL,
          revoked_at TEXT
        );
      `);
    },
  },
  {
    version: 5,
    description: 'experiments: author (who started it: --author, default the OS user name; NULL for experiments stored before)',
    up(db) {
      db.exec('ALTER TABLE experiments ADD COLUMN author TEXT;');
    },
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

/**
 * Oldest schema a read-only opening (API, viewer, `mrlseg report`) still reads without migrating:
 * every migration after it only adds nullable columns, which the store reads as null when absent
 * (e.g. a version-1 store's cases have no agent fractions: reported as n/a). Raise it with any
 * migration that renames, drops or retypes something a reader selects.
 */
export const READ_ONLY_MIN_VERSION = 1;

/**
 * Brings `db` to {@link SCHEMA_VERSION}, one transaction per migration. Throws when the store is
 * newer than this toolkit (it would not understand the tables).
 * @returns the versions applied, in order (empty when already current).
 */
export function migrate(db: Database.Database, where: string): number[] {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new Error(`results store ${where} has schema version ${current}, newer than this toolkit's ${SCHEMA_VERSION}; update the toolkit`);
  }
  const applied: number[] = [];
  for (const m of MIGRATIONS) {
    if (m.version <= current) continue;
    db.transaction(() => {
      m.up(db);
      db.pragma(`user_version = ${m.version}`);
    })();
    applied.push(m.version);
  }
  return applied;
}
