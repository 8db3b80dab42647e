/**
 * Schema of the results store, the same for both backends (SQLite and PostgreSQL). Each migration
 * is a list of SQL statements written once with a few type words that differ by dialect
 * ({text}, {real}, {bigint}: see TYPE_WORDS); the version lives in SQLite's `user_version`
 * pragma or PostgreSQL's `mrlseg_schema` table. Each migration moves the database from version
 * i to i + 1 inside one transaction (PostgreSQL: under an advisory lock, so workers opening a
 * fresh database at once migrate it once), so a store is always at a whole version. Append
 * migrations; never change what one does once it has shipped.
 */

export type StoreDialect = 'sqlite' | 'postgres';

export interface MigrationContext {
  dialect: StoreDialect;
  /** The store folder (SQLite), for data migrations that rewrite stored paths; null on PostgreSQL. */
  storeDir: string | null;
}

export interface Migration {
  /** Version the database has after this migration. */
  version: number;
  description: string;
  /** The statements, in order, for this dialect (each one statement, no trailing semicolon). */
  statements(ctx: MigrationContext): string[];
}

/**
 * Column types by dialect. PostgreSQL's REAL is single precision, so {real} is DOUBLE
 * PRECISION there (SQLite's REAL is already 8 bytes); {text} sorts bytewise in both (COLLATE "C"
 * on PostgreSQL, whose default collation would order case ids differently from SQLite).
 */
const TYPE_WORDS: Record<StoreDialect, Record<string, string>> = {
  sqlite: { text: 'TEXT', real: 'REAL', bigint: 'INTEGER' },
  postgres: { text: 'TEXT COLLATE "C"', real: 'DOUBLE PRECISION', bigint: 'BIGINT' },
};

function typed(dialect: StoreDialect, sql: string): string[] {
  const words = TYPE_WORDS[dialect];
  return sql
    .replace(/\{(\w+)\}/g, (_, w: string) => {
      const t = words[w];
      if (t === undefined) throw new Error(`migrations: unknown type word {${w}}`);
      return t;
    })
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** A string literal for SQL text (both dialects: single quotes doubled). */
const literal = (s: string): string => `'${s.replace(/'/g, "''")}'`;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'experiments, runs, epochs, checkpoints, cases',
    statements: ({ dialect }) =>
      typed(
        dialect,
        `
        CREATE TABLE experiments (
          id {text} PRIMARY KEY,
          name {text} NOT NULL,
          dataset {text} NOT NULL,
          config {text} NOT NULL,
          config_hash {text} NOT NULL,
          created_at {text} NOT NULL,
          git_commit {text}
        );
        CREATE INDEX experiments_hash ON experiments(config_hash);
        CREATE TABLE runs (
          id {text} PRIMARY KEY,
          experiment_id {text} NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
          variant {text} NOT NULL,
          fold INTEGER NOT NULL,
          seed {bigint} NOT NULL,
          status {text} NOT NULL,
          dataset {text} NOT NULL,
          backend {text} NOT NULL,
          git_commit {text},
          config {text} NOT NULL,
          started_at {text} NOT NULL,
          finished_at {text},
          duration_ms {real},
          timings {text} NOT NULL DEFAULT '{}',
          checkpoint_path {text},
          onnx_path {text},
          package_versions {text} NOT NULL DEFAULT '{}',
          error {text},
          pid INTEGER,
          host {text}
        );
        CREATE INDEX runs_experiment ON runs(experiment_id);
        CREATE TABLE epochs (
          run_id {text} NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
          phase {text} NOT NULL,
          epoch INTEGER NOT NULL,
          loss {real},
          reward {real},
          val_dice {real},
          lr {real},
          duration_ms {real} NOT NULL,
          PRIMARY KEY (run_id, phase, epoch)
        );
        CREATE TABLE checkpoints (
          run_id {text} NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
          phase {text} NOT NULL,
          epoch INTEGER NOT NULL,
          path {text} NOT NULL,
          created_at {text} NOT NULL,
          PRIMARY KEY (run_id, phase, epoch)
        );
        CREATE TABLE cases (
          run_id {text} NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
          case_id {text} NOT NULL,
          patient {text} NOT NULL,
          fb_ratio {real} NOT NULL,
          foreground_fraction {real} NOT NULL,
          "interval" {text},
          dice {real},
          iou {real},
          "precision" {real},
          recall {real},
          hd {real},
          hd95 {real},
          assd {real},
          nsd {real},
          empty_gt INTEGER NOT NULL,
          empty_pred INTEGER NOT NULL,
          PRIMARY KEY (run_id, case_id)
        );
        CREATE INDEX cases_interval ON cases(run_id, "interval")
      `,
      ),
  },
  {
    version: 2,
    description: 'cases: what the deterministic policy masked (masked_fraction, lesion_masked_fraction; NULL for runs without an agent and for cases stored before)',
    // ADD COLUMN without a default: every existing row reads NULL ("not recorded"), the table is not rewritten.
    statements: ({ dialect }) =>
      typed(
        dialect,
        `
        ALTER TABLE cases ADD COLUMN masked_fraction {real};
        ALTER TABLE cases ADD COLUMN lesion_masked_fraction {real}
      `,
      ),
  },
  {
    version: 3,
    description: "agent instruments per epoch (epochs.stats, JSON) and the run's validation-based selection (runs.selection, JSON) (issue 15)",
    statements: ({ dialect }) =>
      typed(
        dialect,
        `
        ALTER TABLE epochs ADD COLUMN stats {text};
        ALTER TABLE runs ADD COLUMN selection {text}
      `,
      ),
  },
  {
    version: 4,
    description: 'api_tokens: bearer tokens of the evaluation API (SHA-256 hash only, role, label, revocation time)',
    // A new table only: readers of older stores see no tokens (the store checks the version).
    statements: ({ dialect }) =>
      typed(
        dialect,
        `
        CREATE TABLE api_tokens (
          id {text} PRIMARY KEY,
          hash {text} NOT NULL UNIQUE,
          role {text} NOT NULL CHECK (role IN ('reader', 'runner')),
          label {text},
          created_at {text} NOT NULL,
          revoked_at {text}
        )
      `,
      ),
  },
  {
    version: 5,
    description: 'experiments: author (who started it: --author, default the OS user name; NULL for experiments stored before)',
    statements: ({ dialect }) => typed(dialect, 'ALTER TABLE experiments ADD COLUMN author {text}'),
  },
  {
    version: 6,
    description: 'artifact paths relative to the artifacts folder (was: relative to the store folder), so artifacts can live apart from the database (--artifacts)',
    statements: ({ storeDir }) => {
      const out: string[] = [];
      const cols: [string, string][] = [
        ['runs', 'checkpoint_path'],
        ['runs', 'onnx_path'],
        ['checkpoints', 'path'],
      ];
      for (const [table, col] of cols) {
        // relative paths outside artifacts/ were relative to the store folder: made absolute (first)
        if (storeDir !== null) {
          out.push(
            `UPDATE ${table} SET ${col} = ${literal(`${storeDir.replace(/\/+$/, '')}/`)} || ${col} ` +
              `WHERE ${col} NOT LIKE 'artifacts/%' AND ${col} NOT LIKE '/%' AND ${col} NOT LIKE '_:%'`,
          );
        }
        // then 'artifacts/<run>/...' -> '<run>/...'
        out.push(`UPDATE ${table} SET ${col} = substr(${col}, 11) WHERE ${col} LIKE 'artifacts/%'`);
      }
      return out;
    },
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

/**
 * Oldest schema a read-only opening (API, viewer, `mrlseg report`) still reads without migrating:
 * every migration after it only adds nullable columns, which the store reads as null when absent
 * (e.g. a version-1 store's cases have no agent fractions: reported as n/a), or rewrites stored
 * paths (a store below version 6 resolves them against the store folder). Raise it with any
 * migration that renames, drops or retypes something a reader selects.
 */
export const READ_ONLY_MIN_VERSION = 1;

/** First version whose stored artifact paths are relative to the artifacts folder. */
export const ARTIFACT_RELATIVE_VERSION = 6;

/** First version with the api_tokens table. */
export const API_TOKENS_VERSION = 4;
