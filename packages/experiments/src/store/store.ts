/**
 * The results store: where every run, training curve, checkpoint and per-case metric lands, and
 * what the API, the viewer and `mrlseg report` read. `ResultsStore` is the one interface every
 * caller uses; `openStore(location)` picks the backend from the location:
 *
 * - a folder (the default, `mrlseg-store`): SQLite (`<dir>/mrlseg.sqlite`, WAL journal), artifacts
 *   in `<dir>/artifacts` unless `artifacts` says otherwise;
 * - `postgres://user[:password]@host[:port]/database`: PostgreSQL, for a team; `artifacts` (a shared
 *   mount) is then required by anything that writes or serves files.
 *
 * Both run the same migrations and the same queries (sql-store.ts, one query layer over Kysely);
 * the backends differ only in connecting, schema bookkeeping and how a run's owner is known to be
 * alive (sqlite-engine.ts, postgres-engine.ts).
 *
 * Crash safety: every multi-row write is one transaction and files are written to a temporary
 * name then renamed, so a process killed at any moment leaves a readable store. A run still
 * 'running' whose training process is gone reads as 'incomplete' (and is stored so by the next
 * read-write opening): SQLite knows the owner by pid and host, PostgreSQL by an advisory lock the
 * owner's database session holds (released by the server when that session ends, on any host).
 *
 * Artifact paths are stored relative to the artifacts folder (schema 6), so the folder can be
 * moved or mounted elsewhere; paths outside it are stored absolute.
 */
import type { CaseMetricRecord, CaseMetricRecordInput, CasesQuery, EpochRecord, EpochRecordInput, ExperimentRecord, RunRecord, RunSelection } from '@mrlseg/types';
import { parseStoreLocation } from './locator';
import type { ActiveApiToken, ApiTokenRecord, ApiTokenRole } from './tokens';
import { DEFAULT_STORE_DIR, type CaseArtifactKind } from './layout';

export { DB_FILE, ARTIFACTS_DIR, DEFAULT_STORE_DIR, CASE_ARTIFACT_KINDS, type CaseArtifactKind } from './layout';

export interface OpenStoreOptions {
  /** Open without writing anything (the API and viewer); the store must exist. */
  readonly?: boolean;
  /**
   * Artifacts folder (checkpoints, ONNX exports, case PNGs). Default: `<dir>/artifacts` for a
   * SQLite store; a PostgreSQL store opened read-write needs one, or `null` to say that this
   * opening touches no file (e.g. managing API tokens). Without one, methods that touch files
   * throw, naming --artifacts.
   */
  artifacts?: string | null;
}

export interface RunFilter {
  experimentId?: string;
  variant?: string;
  status?: RunRecord['status'];
  fold?: number;
  seed?: number;
}

export interface CasesPage {
  items: CaseMetricRecord[];
  total: number;
  page: number;
  pageSize: number;
}

export interface CheckpointRecord {
  runId: string;
  phase: string;
  epoch: number;
  /** Absolute path of the checkpoint folder. */
  path: string;
  createdAt: string;
}

export interface NewRun {
  id: string;
  experimentId: string;
  variant: RunRecord['variant'];
  fold: number;
  seed: number;
  dataset: string;
  backend: string;
  gitCommit: string | null;
  config: unknown;
  packageVersions?: Record<string, string>;
}

export interface FinishRun {
  status: 'completed' | 'failed' | 'incomplete';
  timings?: Record<string, number>;
  error?: string | null;
  onnxPath?: string | null;
}

/** Which database a store lives in. */
export type StoreBackend = 'sqlite' | 'postgres';

/** The results store, whichever database holds it. Every method that touches the database is async. */
export interface ResultsStore {
  readonly backend: StoreBackend;
  /** Where the store is, for messages: the folder, or the PostgreSQL URL without its password. */
  readonly location: string;
  /** Absolute artifacts folder, or null (a PostgreSQL store opened without one). */
  readonly artifactsDir: string | null;
  readonly readonly: boolean;
  /** Schema version of the open database (read at opening). */
  readonly schemaVersion: number;

  // reads
  listExperiments(): Promise<ExperimentRecord[]>;
  getExperiment(id: string): Promise<ExperimentRecord | undefined>;
  /** The most recent experiment created from a config with this hash (used by `--resume`). */
  latestExperimentByHash(configHash: string): Promise<ExperimentRecord | undefined>;
  listRuns(filter?: RunFilter): Promise<RunRecord[]>;
  getRun(id: string): Promise<RunRecord | undefined>;
  /** One page of a run's per-case metrics; `query` as the API receives it (CasesQuerySchema). */
  listCases(runId: string, query?: Partial<CasesQuery>): Promise<CasesPage>;
  /** Every case of a run, ordered by case id (reports). */
  allCases(runId: string): Promise<CaseMetricRecord[]>;
  getCase(runId: string, caseId: string): Promise<CaseMetricRecord | undefined>;
  /** Training curves of a run, by phase then epoch. */
  epochs(runId: string): Promise<EpochRecord[]>;
  checkpoints(runId: string): Promise<CheckpointRecord[]>;
  /** The checkpoint written last for a run (where `--resume` continues), if any. */
  lastCheckpoint(runId: string): Promise<CheckpointRecord | undefined>;

  // files (no database access)
  /**
   * Absolute path of a case's PNG (`<artifacts>/<runId>/cases/<caseId>/<kind>.png`). Ids are
   * validated with IdSchema and the resolved path must stay inside the artifacts folder, so a
   * request can never name a file elsewhere. The file may not exist (check before serving).
   */
  caseArtifactPath(runId: string, caseId: string, kind: CaseArtifactKind): string;
  /** Writes a case PNG atomically (temporary file + rename) and returns its absolute path. */
  writeCaseArtifact(runId: string, caseId: string, kind: CaseArtifactKind, png: Uint8Array): string;
  /** Folder for a run's (or an experiment's) own files: `<artifacts>/<id>/<sub...>`, created unless read-only. */
  runDir(runId: string, ...sub: string[]): string;

  // writes
  createExperiment(e: Omit<ExperimentRecord, 'createdAt' | 'author'> & { createdAt?: string; author?: string | null }): Promise<ExperimentRecord>;
  /**
   * Records a run as 'pending' (queued for a worker: `mrlseg cv --queue`) unless the store already
   * has a run with this id, which is left as it is (enqueueing a grid twice changes nothing).
   * @returns true when the run was added.
   */
  queueRun(r: NewRun): Promise<boolean>;
  /**
   * Puts a run back to 'pending' (no process owns it) with `note` as its message: a queued run
   * between its shared pre-training and the rest, after an attempt that will be retried, or after
   * its worker was stopped. Only a run no process owns changes ('pending', 'incomplete', 'failed'):
   * a completed run, or one another worker has taken over meanwhile, is left alone.
   */
  requeueRun(runId: string, note: string | null): Promise<void>;
  /**
   * Inserts a run in status 'running' owned by this process (or takes over a dead one to resume
   * it). A run another live process owns is refused unless `takeover` is set: a queue worker takes
   * over a run whose job the queue handed it (the previous worker lost the job's lock). On
   * PostgreSQL a live owner (the holder of the run's advisory lock) is refused even then; the
   * queue's retry takes the run once that worker has stopped (see SqlResultsStore.startRun).
   */
  startRun(r: NewRun, opts?: { takeover?: boolean }): Promise<RunRecord>;
  /** Records one epoch of a training curve (replacing a previous attempt at the same epoch). */
  recordEpoch(e: EpochRecordInput): Promise<void>;
  /**
   * Records that the checkpoint at `path` (already fully written) holds the state after `epoch`
   * of `phase`, together with that epoch's curve entry, in one transaction: either both are
   * visible or neither, so `--resume` never skips an epoch whose curve was not recorded.
   */
  recordEpochCheckpoint(e: EpochRecordInput, path: string): Promise<void>;
  /** Copies the curve of `phase` from run `from` to run `to` (shared pre-training). */
  copyEpochs(from: string, to: string, phase: EpochRecord['phase']): Promise<void>;
  /** Inserts (or replaces) per-case metrics in one transaction (agent fractions left out are stored as NULL). */
  recordCases(cases: readonly CaseMetricRecordInput[]): Promise<void>;
  /** Replaces all of a run's cases with `cases` in one transaction (a re-evaluation). */
  replaceCases(runId: string, cases: readonly CaseMetricRecordInput[]): Promise<void>;
  /** Forgets every checkpoint of a run except the one at `keepPath` (its folder was deleted). */
  pruneCheckpoints(runId: string, keepPath: string): Promise<void>;
  setOnnxPath(runId: string, path: string | null): Promise<void>;
  /** Merges `timings` (milliseconds by phase) into the run's record. */
  addTimings(runId: string, timings: Record<string, number>): Promise<void>;
  /** Records which state of the run was kept (validation-based selection, issue 15). */
  setSelection(runId: string, selection: RunSelection): Promise<void>;
  /** Ends a run: status, end time, total duration (sum of timings), error message; releases its ownership. */
  finishRun(runId: string, f: FinishRun): Promise<RunRecord>;

  // API tokens (tokens.ts; a store below schema 4 has none)
  /** Creates an API token; the returned `token` is the only copy in clear (the store keeps its SHA-256). */
  createApiToken(role: ApiTokenRole, label?: string | null): Promise<{ token: string; record: ApiTokenRecord }>;
  /** Every API token (revoked ones too), without hashes. */
  listApiTokens(): Promise<ApiTokenRecord[]>;
  /** Unrevoked API tokens with their hashes (what the API authenticates against). */
  activeApiTokens(): Promise<ActiveApiToken[]>;
  /** Revokes an API token by id; undefined when there is none with this id. */
  revokeApiToken(id: string): Promise<ApiTokenRecord | undefined>;

  /** Closes the connection(s); a PostgreSQL store's runs still 'running' become dead to readers. */
  close(): Promise<void>;
}

/**
 * Opens (creating and migrating unless `readonly`) the results store at `location`: a folder
 * (SQLite) or a `postgres://` URL. Throws a one-line error naming the location when the folder
 * or database is missing, unreachable or from a newer toolkit.
 */
export async function openStore(location: string = DEFAULT_STORE_DIR, options: OpenStoreOptions = {}): Promise<ResultsStore> {
  const loc = parseStoreLocation(location);
  if (loc.kind === 'postgres') {
    const { openPostgresStore } = await import('./postgres-engine');
    return openPostgresStore(loc, options);
  }
  const { openSqliteStore } = await import('./sqlite-engine');
  return openSqliteStore(loc.dir, options);
}
