/**
 * The results store: one SQLite database (`<dir>/mrlseg.sqlite`, WAL journal) plus an artifacts
 * folder (`<dir>/artifacts/<runId>/...`). Trainers write through it; the evaluation API and the
 * viewer read it (`openStore(dir, { readonly: true })`).
 *
 * Crash safety: every multi-row write is one transaction and files are written to a temporary
 * name then renamed, so a process killed at any moment leaves a readable store. A run records
 * the pid and host of the process training it; a run still 'running' whose process is gone is
 * reported (and, when opened read-write, stored) as 'incomplete'.
 *
 * Schema: opening read-write migrates the database in place (migrations.ts); read-only accepts
 * READ_ONLY_MIN_VERSION..SCHEMA_VERSION, reading columns an older schema lacks as null.
 */
import { mkdirSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import Database from 'better-sqlite3';
import {
  CaseMetricRecordSchema,
  CasesQuerySchema,
  EpochRecordSchema,
  ExperimentRecordSchema,
  IdSchema,
  RunRecordSchema,
  RunSelectionSchema,
  type CaseMetricRecord,
  type CaseMetricRecordInput,
  type CasesQuery,
  type EpochRecord,
  type EpochRecordInput,
  type ExperimentRecord,
  type RunRecord,
  type RunSelection,
} from '@mrlseg/types';
import { migrate, READ_ONLY_MIN_VERSION, SCHEMA_VERSION } from './migrations';
import * as tokens from './tokens';

import { ARTIFACTS_DIR, CASE_ARTIFACT_KINDS, DB_FILE, DEFAULT_STORE_DIR, type CaseArtifactKind } from './layout';

export { DB_FILE, ARTIFACTS_DIR, DEFAULT_STORE_DIR, CASE_ARTIFACT_KINDS, type CaseArtifactKind } from './layout';

export interface OpenStoreOptions {
  /** Open without writing anything (the API and viewer); the store must exist. */
  readonly?: boolean;
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

type Row = Record<string, unknown>;

/** A run's columns plus its last recorded epoch ('phase:epoch', phases in training order). */
const RUN_COLUMNS = `runs.*, (SELECT e.phase || ':' || e.epoch FROM epochs e WHERE e.run_id = runs.id
  ORDER BY CASE e.phase WHEN 'pretrain' THEN 0 WHEN 'train' THEN 1 WHEN 'rl' THEN 2 ELSE 3 END DESC, e.epoch DESC LIMIT 1) AS last_epoch`;

function parseLastEpoch(v: unknown): { phase: string; epoch: number } | null {
  if (typeof v !== 'string') return null;
  const i = v.lastIndexOf(':');
  return { phase: v.slice(0, i), epoch: Number(v.slice(i + 1)) };
}

const SORT_COLUMNS: Record<CasesQuery['sort'], string> = {
  dice: 'dice',
  hd: 'hd',
  hd95: 'hd95',
  iou: 'iou',
  fbRatio: 'fb_ratio',
  caseId: 'case_id',
};

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const now = (): string => new Date().toISOString();

function checkId(what: string, id: string): string {
  const r = IdSchema.safeParse(id);
  if (!r.success) throw new Error(`results store: ${what} '${String(id).slice(0, 80)}' ${r.error.issues[0]?.message ?? 'is not a plain id'}`);
  return id;
}

/**
 * Runs with their summary (RunSummarySchema): per-case means from the cases table, only over the
 * cases where each value is defined (AVG and COUNT skip NULL, which is how undefined metrics are stored).
 * Stores read at schema 1 (read-only, not migrated) have no masked_fraction column.
 */
const runsWithSummary = (schemaVersion: number): string => `
  SELECT ${RUN_COLUMNS}, s.s_cases, s.s_mean_dice, s.s_dice_cases, s.s_mean_hd, s.s_hd_cases, s.s_masked, s.s_masked_cases
  FROM runs LEFT JOIN (
    SELECT run_id,
      COUNT(*) AS s_cases,
      AVG(dice) AS s_mean_dice, COUNT(dice) AS s_dice_cases,
      AVG(hd) AS s_mean_hd, COUNT(hd) AS s_hd_cases,
      ${schemaVersion >= 2 ? 'AVG(masked_fraction) AS s_masked, COUNT(masked_fraction) AS s_masked_cases' : 'NULL AS s_masked, 0 AS s_masked_cases'}
    FROM cases GROUP BY run_id
  ) s ON s.run_id = runs.id`;

export class ResultsStore {
  readonly dir: string;
  readonly dbPath: string;
  readonly artifactsDir: string;
  readonly readonly: boolean;
  private readonly db: Database.Database;
  private readonly host = hostname();

  constructor(dir: string, options: OpenStoreOptions = {}) {
    this.dir = resolve(dir);
    this.dbPath = join(this.dir, DB_FILE);
    this.artifactsDir = join(this.dir, ARTIFACTS_DIR);
    this.readonly = options.readonly ?? false;
    if (this.readonly) {
      if (!existsSync(this.dbPath)) throw new Error(`results store ${this.dir}: no ${DB_FILE} there (train something first, or check --store)`);
      this.db = new Database(this.dbPath, { readonly: true, fileMustExist: true });
      this.db.pragma('busy_timeout = 5000');
      const v = this.db.pragma('user_version', { simple: true }) as number;
      if (v < READ_ONLY_MIN_VERSION || v > SCHEMA_VERSION) {
        this.db.close();
        throw new Error(
          `results store ${this.dir} has schema version ${v}, this toolkit reads ${READ_ONLY_MIN_VERSION}..${SCHEMA_VERSION}; ` +
            (v > SCHEMA_VERSION ? 'update the toolkit' : 'open it once read-write (any mrlseg train or eval) to migrate'),
        );
      }
    } else {
      mkdirSync(this.artifactsDir, { recursive: true });
      this.db = new Database(this.dbPath);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('foreign_keys = ON');
      this.db.pragma('busy_timeout = 5000');
      migrate(this.db, this.dir);
      this.markDeadRuns();
    }
  }

  /** Schema version of the open database. */
  get schemaVersion(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  // ---------------------------------------------------------------- read API

  listExperiments(): ExperimentRecord[] {
    return (this.db.prepare('SELECT * FROM experiments ORDER BY created_at, id').all() as Row[]).map((r) => this.toExperiment(r));
  }

  getExperiment(id: string): ExperimentRecord | undefined {
    const r = this.db.prepare('SELECT * FROM experiments WHERE id = ?').get(id) as Row | undefined;
    return r ? this.toExperiment(r) : undefined;
  }

  /** The most recent experiment created from a config with this hash (used by `--resume`). */
  latestExperimentByHash(configHash: string): ExperimentRecord | undefined {
    const r = this.db.prepare('SELECT * FROM experiments WHERE config_hash = ? ORDER BY created_at DESC, rowid DESC LIMIT 1').get(configHash) as Row | undefined;
    return r ? this.toExperiment(r) : undefined;
  }

  listRuns(filter: RunFilter = {}): RunRecord[] {
    const where: string[] = [];
    const args: unknown[] = [];
    const add = (sql: string, v: unknown): void => {
      if (v === undefined) return;
      where.push(sql);
      args.push(v);
    };
    add('experiment_id = ?', filter.experimentId);
    add('variant = ?', filter.variant);
    add('fold = ?', filter.fold);
    add('seed = ?', filter.seed);
    const sql = `${runsWithSummary(this.schemaVersion)} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY runs.started_at, runs.rowid`;
    const runs = (this.db.prepare(sql).all(...args) as Row[]).map((r) => this.toRun(r));
    return filter.status === undefined ? runs : runs.filter((r) => r.status === filter.status);
  }

  getRun(id: string): RunRecord | undefined {
    const r = this.db.prepare(`${runsWithSummary(this.schemaVersion)} WHERE runs.id = ?`).get(id) as Row | undefined;
    return r ? this.toRun(r) : undefined;
  }

  /** One page of a run's per-case metrics; `query` as the API receives it (CasesQuerySchema). */
  listCases(runId: string, query: Partial<CasesQuery> = {}): CasesPage {
    const q = CasesQuerySchema.parse(query);
    const where = ['run_id = ?'];
    const args: unknown[] = [runId];
    if (q.interval !== undefined) {
      where.push('interval = ?');
      args.push(q.interval);
    }
    const total = (this.db.prepare(`SELECT COUNT(*) AS n FROM cases WHERE ${where.join(' AND ')}`).get(...args) as { n: number }).n;
    const col = SORT_COLUMNS[q.sort];
    const dir = q.order === 'desc' ? 'DESC' : 'ASC';
    // Undefined metrics (null: an empty mask) sort last in both directions; ties by case id.
    const rows = this.db
      .prepare(`SELECT * FROM cases WHERE ${where.join(' AND ')} ORDER BY (${col} IS NULL), ${col} ${dir}, case_id ASC LIMIT ? OFFSET ?`)
      .all(...args, q.pageSize, (q.page - 1) * q.pageSize) as Row[];
    return { items: rows.map((r) => this.toCase(r)), total, page: q.page, pageSize: q.pageSize };
  }

  /** Every case of a run, ordered by case id (reports). */
  allCases(runId: string): CaseMetricRecord[] {
    return (this.db.prepare('SELECT * FROM cases WHERE run_id = ? ORDER BY case_id').all(runId) as Row[]).map((r) => this.toCase(r));
  }

  getCase(runId: string, caseId: string): CaseMetricRecord | undefined {
    const r = this.db.prepare('SELECT * FROM cases WHERE run_id = ? AND case_id = ?').get(runId, caseId) as Row | undefined;
    return r ? this.toCase(r) : undefined;
  }

  /**
   * Absolute path of a case's PNG (`artifacts/<runId>/cases/<caseId>/<kind>.png`). Ids are
   * validated with IdSchema and the resolved path must stay inside the artifacts folder, so a
   * request can never name a file elsewhere. The file may not exist (check before serving).
   */
  caseArtifactPath(runId: string, caseId: string, kind: CaseArtifactKind): string {
    checkId('run id', runId);
    checkId('case id', caseId);
    if (!(CASE_ARTIFACT_KINDS as readonly string[]).includes(kind)) {
      throw new Error(`results store: artifact kind '${String(kind)}' is not one of ${CASE_ARTIFACT_KINDS.join(', ')}`);
    }
    return this.inside(join(this.artifactsDir, runId, 'cases', caseId, `${kind}.png`));
  }

  /** Training curves of a run, by phase then epoch. */
  epochs(runId: string): EpochRecord[] {
    const rows = this.db
      .prepare(`SELECT * FROM epochs WHERE run_id = ? ORDER BY CASE phase WHEN 'pretrain' THEN 0 WHEN 'train' THEN 1 WHEN 'rl' THEN 2 ELSE 3 END, epoch`)
      .all(runId) as Row[];
    return rows.map((r) =>
      EpochRecordSchema.parse({
        runId: r.run_id,
        phase: r.phase,
        epoch: r.epoch,
        loss: r.loss,
        reward: r.reward,
        valDice: r.val_dice,
        lr: r.lr,
        durationMs: r.duration_ms,
        stats: typeof r.stats === 'string' ? JSON.parse(r.stats) : null,
      }),
    );
  }

  checkpoints(runId: string): CheckpointRecord[] {
    const rows = this.db.prepare('SELECT * FROM checkpoints WHERE run_id = ? ORDER BY created_at, rowid').all(runId) as Row[];
    return rows.map((r) => ({ runId: String(r.run_id), phase: String(r.phase), epoch: Number(r.epoch), path: this.abs(String(r.path)), createdAt: String(r.created_at) }));
  }

  /** The checkpoint written last for a run (where `--resume` continues), if any. */
  lastCheckpoint(runId: string): CheckpointRecord | undefined {
    const all = this.checkpoints(runId);
    return all[all.length - 1];
  }

  // ---------------------------------------------------------------- API tokens (tokens.ts)

  /** Creates an API token; the returned `token` is the only copy in clear (the store keeps its SHA-256). */
  createApiToken(role: tokens.ApiTokenRole, label?: string | null): { token: string; record: tokens.ApiTokenRecord } {
    this.writable();
    return tokens.createApiToken(this.db, role, label);
  }

  /** Every API token (revoked ones too), without hashes. */
  listApiTokens(): tokens.ApiTokenRecord[] {
    return tokens.listApiTokens(this.db);
  }

  /** Unrevoked API tokens with their hashes (what the API authenticates against). */
  activeApiTokens(): tokens.ActiveApiToken[] {
    return tokens.activeApiTokens(this.db);
  }

  /** Revokes an API token by id; undefined when there is none with this id. */
  revokeApiToken(id: string): tokens.ApiTokenRecord | undefined {
    this.writable();
    return tokens.revokeApiToken(this.db, id);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  // --------------------------------------------------------------- write API

  createExperiment(e: Omit<ExperimentRecord, 'createdAt' | 'author'> & { createdAt?: string; author?: string | null }): ExperimentRecord {
    this.writable();
    checkId('experiment id', e.id);
    const rec = ExperimentRecordSchema.parse({ ...e, createdAt: e.createdAt ?? now() });
    this.db
      .prepare('INSERT INTO experiments (id, name, dataset, config, config_hash, created_at, git_commit, author) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(rec.id, rec.name, rec.dataset, JSON.stringify(rec.config ?? null), rec.configHash, rec.createdAt, rec.gitCommit, rec.author);
    return rec;
  }

  /**
   * Records a run as 'pending' (queued for a worker: `mrlseg cv --queue`) unless the store already
   * has a run with this id, which is left as it is (enqueueing a grid twice changes nothing).
   * @returns true when the run was added.
   */
  queueRun(r: NewRun): boolean {
    this.writable();
    checkId('run id', r.id);
    const rec = RunRecordSchema.parse({ ...r, status: 'pending', startedAt: now(), finishedAt: null, durationMs: null, timings: {}, packageVersions: r.packageVersions ?? {} });
    const info = this.db
      .prepare(
        `INSERT OR IGNORE INTO runs (id, experiment_id, variant, fold, seed, status, dataset, backend, git_commit, config, started_at, timings, package_versions, pid, host)
         VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, '{}', ?, NULL, NULL)`,
      )
      .run(rec.id, rec.experimentId, rec.variant, rec.fold, rec.seed, rec.dataset, rec.backend, rec.gitCommit, JSON.stringify(rec.config ?? null), rec.startedAt, JSON.stringify(rec.packageVersions));
    return info.changes === 1;
  }

  /**
   * Puts a run back to 'pending' (no process owns it) with `note` as its message: a queued run
   * between its shared pre-training and the rest, after an attempt that will be retried, or after
   * its worker was stopped. Only a run no process owns changes ('pending', 'incomplete', 'failed'):
   * a completed run, or one another worker has taken over meanwhile, is left alone.
   */
  requeueRun(runId: string, note: string | null): void {
    this.writable();
    this.db.prepare("UPDATE runs SET status = 'pending', error = ?, pid = NULL, finished_at = NULL WHERE id = ? AND status IN ('pending', 'incomplete', 'failed')").run(note, runId);
  }

  /**
   * Inserts a run in status 'running' owned by this process (or takes over an existing one to
   * resume it). A run another live process owns is refused unless `takeover` is set: a queue
   * worker takes over a run whose job the queue handed it (the previous worker lost the job's lock).
   */
  startRun(r: NewRun, opts: { takeover?: boolean } = {}): RunRecord {
    this.writable();
    checkId('run id', r.id);
    const existing = this.getRun(r.id);
    const started = now();
    if (existing) {
      if (existing.status === 'running' && !opts.takeover) throw new Error(`results store: run ${r.id} is being trained by another live process`);
      this.db
        .prepare("UPDATE runs SET status = 'running', backend = ?, pid = ?, host = ?, error = NULL, finished_at = NULL, package_versions = ? WHERE id = ?")
        .run(r.backend, process.pid, this.host, JSON.stringify(r.packageVersions ?? {}), r.id);
    } else {
      const rec = RunRecordSchema.parse({
        ...r,
        status: 'running',
        startedAt: started,
        finishedAt: null,
        durationMs: null,
        timings: {},
        packageVersions: r.packageVersions ?? {},
      });
      this.db
        .prepare(
          `INSERT INTO runs (id, experiment_id, variant, fold, seed, status, dataset, backend, git_commit, config, started_at, timings, package_versions, pid, host)
           VALUES (?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, '{}', ?, ?, ?)`,
        )
        .run(rec.id, rec.experimentId, rec.variant, rec.fold, rec.seed, rec.dataset, rec.backend, rec.gitCommit, JSON.stringify(rec.config ?? null), started, JSON.stringify(rec.packageVersions), process.pid, this.host);
    }
    return this.getRun(r.id)!;
  }

  /** Records one epoch of a training curve (replacing a previous attempt at the same epoch). */
  recordEpoch(e: EpochRecordInput): void {
    this.writable();
    const rec = EpochRecordSchema.parse(e);
    this.db
      .prepare('INSERT OR REPLACE INTO epochs (run_id, phase, epoch, loss, reward, val_dice, lr, duration_ms, stats) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(rec.runId, rec.phase, rec.epoch, rec.loss, rec.reward, rec.valDice, rec.lr, rec.durationMs, rec.stats ? JSON.stringify(rec.stats) : null);
  }

  /**
   * Records that the checkpoint at `path` (already fully written) holds the state after `epoch`
   * of `phase`, together with that epoch's curve entry, in one transaction: either both are
   * visible or neither, so `--resume` never skips an epoch whose curve was not recorded.
   */
  recordEpochCheckpoint(e: EpochRecordInput, path: string): void {
    this.writable();
    const rec = EpochRecordSchema.parse(e);
    const rel = this.rel(path);
    this.db.transaction(() => {
      this.recordEpoch(rec);
      this.db.prepare('INSERT OR REPLACE INTO checkpoints (run_id, phase, epoch, path, created_at) VALUES (?, ?, ?, ?, ?)').run(rec.runId, rec.phase, rec.epoch, rel, now());
      this.db.prepare('UPDATE runs SET checkpoint_path = ? WHERE id = ?').run(rel, rec.runId);
    })();
  }

  /** Copies the curve of `phase` from run `from` to run `to` (shared pre-training). */
  copyEpochs(from: string, to: string, phase: EpochRecord['phase']): void {
    this.writable();
    this.db
      .prepare('INSERT OR REPLACE INTO epochs (run_id, phase, epoch, loss, reward, val_dice, lr, duration_ms, stats) SELECT ?, phase, epoch, loss, reward, val_dice, lr, 0, stats FROM epochs WHERE run_id = ? AND phase = ?')
      .run(to, from, phase);
  }

  /** Inserts (or replaces) per-case metrics in one transaction (agent fractions left out are stored as NULL). */
  recordCases(cases: readonly CaseMetricRecordInput[]): void {
    this.writable();
    const recs = cases.map((c) => CaseMetricRecordSchema.parse(c));
    const ins = this.db.prepare(
      `INSERT OR REPLACE INTO cases (run_id, case_id, patient, fb_ratio, foreground_fraction, interval, dice, iou, precision, recall, hd, hd95, assd, nsd, empty_gt, empty_pred,
         masked_fraction, lesion_masked_fraction)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.db.transaction(() => {
      for (const c of recs) {
        ins.run(
          c.runId, c.caseId, c.patient, c.fbRatio, c.foregroundFraction, c.interval, c.dice, c.iou, c.precision, c.recall, c.hd, c.hd95, c.assd, c.nsd,
          c.emptyGt ? 1 : 0, c.emptyPred ? 1 : 0, c.maskedFraction, c.lesionMaskedFraction,
        );
      }
    })();
  }

  /** Replaces all of a run's cases with `cases` in one transaction (a re-evaluation). */
  replaceCases(runId: string, cases: readonly CaseMetricRecordInput[]): void {
    this.writable();
    const wrong = cases.find((c) => c.runId !== runId);
    if (wrong) throw new Error(`results store: replaceCases(${runId}) got a case of run ${wrong.runId}`);
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM cases WHERE run_id = ?').run(runId);
      this.recordCases(cases);
    })();
  }

  /** Forgets every checkpoint of a run except the one at `keepPath` (its folder was deleted). */
  pruneCheckpoints(runId: string, keepPath: string): void {
    this.writable();
    this.db.prepare('DELETE FROM checkpoints WHERE run_id = ? AND path != ?').run(runId, this.rel(keepPath));
  }

  /** Writes a case PNG atomically (temporary file + rename) and returns its absolute path. */
  writeCaseArtifact(runId: string, caseId: string, kind: CaseArtifactKind, png: Uint8Array): string {
    this.writable();
    const path = this.caseArtifactPath(runId, caseId, kind);
    mkdirSync(join(path, '..'), { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, png);
    renameSync(tmp, path);
    return path;
  }

  /** Folder for a run's own files (checkpoints, exports): `artifacts/<runId>`, created. */
  runDir(runId: string, ...sub: string[]): string {
    checkId('run id', runId);
    const p = this.inside(join(this.artifactsDir, runId, ...sub));
    if (!this.readonly) mkdirSync(p, { recursive: true });
    return p;
  }

  setOnnxPath(runId: string, path: string | null): void {
    this.writable();
    this.db.prepare('UPDATE runs SET onnx_path = ? WHERE id = ?').run(path === null ? null : this.rel(path), runId);
  }

  /** Merges `timings` (milliseconds by phase) into the run's record. */
  addTimings(runId: string, timings: Record<string, number>): void {
    this.writable();
    const run = this.getRun(runId);
    if (!run) throw new Error(`results store: no run ${runId}`);
    this.db.prepare('UPDATE runs SET timings = ? WHERE id = ?').run(JSON.stringify({ ...run.timings, ...timings }), runId);
  }

  /** Records which state of the run was kept (validation-based selection, issue 15). */
  setSelection(runId: string, selection: RunSelection): void {
    this.writable();
    const sel = RunSelectionSchema.parse(selection);
    const r = this.db.prepare('UPDATE runs SET selection = ? WHERE id = ?').run(JSON.stringify(sel), runId);
    if (r.changes === 0) throw new Error(`results store: no run ${runId}`);
  }

  /** Ends a run: status, end time, total duration (sum of timings), error message. */
  finishRun(runId: string, f: FinishRun): RunRecord {
    this.writable();
    const run = this.getRun(runId);
    if (!run) throw new Error(`results store: no run ${runId}`);
    const timings = { ...run.timings, ...(f.timings ?? {}) };
    const duration = Object.values(timings).reduce((a, b) => a + b, 0);
    this.db
      .prepare('UPDATE runs SET status = ?, finished_at = ?, duration_ms = ?, timings = ?, error = ?, onnx_path = COALESCE(?, onnx_path), pid = NULL WHERE id = ?')
      .run(f.status, now(), duration, JSON.stringify(timings), f.error ?? null, f.onnxPath ? this.rel(f.onnxPath) : null, runId);
    return this.getRun(runId)!;
  }

  // ---------------------------------------------------------------- internals

  /** Runs 'running' on this host whose process no longer exists become 'incomplete'. */
  private markDeadRuns(): void {
    const rows = this.db.prepare("SELECT id, pid, host FROM runs WHERE status = 'running'").all() as Row[];
    const dead = rows.filter((r) => this.isDead(r));
    if (!dead.length) return;
    const upd = this.db.prepare("UPDATE runs SET status = 'incomplete', error = COALESCE(error, ?), pid = NULL WHERE id = ? AND status = 'running'");
    this.db.transaction(() => {
      for (const r of dead) upd.run(`the training process (pid ${String(r.pid)}) ended without finishing the run; continue it with --resume`, r.id);
    })();
  }

  private isDead(r: Row): boolean {
    if (r.host !== this.host) return false; // another machine: cannot tell
    return r.pid === null || !pidAlive(Number(r.pid));
  }

  private writable(): void {
    if (this.readonly) throw new Error(`results store ${this.dir} was opened read-only`);
  }

  private inside(p: string): string {
    const abs = resolve(p);
    const rel = relative(this.artifactsDir, abs);
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel) || rel.split(sep).includes('..')) {
      throw new Error(`results store: path ${p} leaves the artifacts folder`);
    }
    return abs;
  }

  /** Stored paths are relative to the store folder so a store can be moved or copied. */
  private rel(p: string): string {
    const abs = resolve(p);
    const r = relative(this.dir, abs);
    return r.startsWith('..') || isAbsolute(r) ? abs : r.split(sep).join('/');
  }

  private abs(p: string): string {
    return isAbsolute(p) ? p : join(this.dir, p);
  }

  private toExperiment(r: Row): ExperimentRecord {
    return ExperimentRecordSchema.parse({
      id: r.id,
      name: r.name,
      dataset: r.dataset,
      config: JSON.parse(String(r.config)),
      configHash: r.config_hash,
      createdAt: r.created_at,
      gitCommit: r.git_commit,
      author: r.author ?? null,
    });
  }

  private toRun(r: Row): RunRecord {
    const status = r.status === 'running' && this.isDead(r) ? 'incomplete' : r.status;
    return RunRecordSchema.parse({
      id: r.id,
      experimentId: r.experiment_id,
      variant: r.variant,
      fold: r.fold,
      seed: r.seed,
      status,
      dataset: r.dataset,
      backend: r.backend,
      gitCommit: r.git_commit,
      config: JSON.parse(String(r.config)),
      startedAt: r.started_at,
      finishedAt: r.finished_at,
      durationMs: r.duration_ms,
      timings: JSON.parse(String(r.timings)),
      checkpointPath: r.checkpoint_path === null ? null : this.abs(String(r.checkpoint_path)),
      onnxPath: r.onnx_path === null ? null : this.abs(String(r.onnx_path)),
      packageVersions: JSON.parse(String(r.package_versions)),
      error: r.error,
      selection: typeof r.selection === 'string' ? JSON.parse(r.selection) : null,
      host: r.host ?? null,
      lastEpoch: parseLastEpoch(r.last_epoch),
      summary:
        r.s_cases === null || r.s_cases === undefined
          ? null
          : {
              cases: r.s_cases,
              meanDice: r.s_mean_dice,
              diceCases: r.s_dice_cases,
              meanHd: r.s_mean_hd,
              hdCases: r.s_hd_cases,
              maskedFraction: r.s_masked,
              maskedCases: r.s_masked_cases,
            },
    });
  }

  private toCase(r: Row): CaseMetricRecord {
    return CaseMetricRecordSchema.parse({
      runId: r.run_id,
      caseId: r.case_id,
      patient: r.patient,
      fbRatio: r.fb_ratio,
      foregroundFraction: r.foreground_fraction,
      interval: r.interval,
      dice: r.dice,
      iou: r.iou,
      precision: r.precision,
      recall: r.recall,
      hd: r.hd,
      hd95: r.hd95,
      assd: r.assd,
      nsd: r.nsd,
      emptyGt: r.empty_gt === 1,
      emptyPred: r.empty_pred === 1,
      maskedFraction: r.masked_fraction,
      lesionMaskedFraction: r.lesion_masked_fraction,
    });
  }
}

/** Opens (creating and migrating unless `readonly`) the results store in `dir`. */
export function openStore(dir: string = DEFAULT_STORE_DIR, options: OpenStoreOptions = {}): ResultsStore {
  return new ResultsStore(dir, options);
}
