/**
 * The results store's one query layer: every read and write of ResultsStore as Kysely queries
 * that compile to both SQLite and PostgreSQL. What differs by database (connecting, the schema
 * version, how a write transaction begins, whether a run's owner is alive) comes from a
 * StoreEngine (sqlite-engine.ts, postgres-engine.ts).
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { sql, type Kysely, type OnConflictBuilder, type RawBuilder, type Selectable } from 'kysely';
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
import { API_TOKENS_VERSION } from './migrations';
import * as tokens from './tokens';
import type { ActiveApiToken, ApiTokenRecord, ApiTokenRole } from './tokens';
import type { CasesTable, CheckpointsTable, EpochsTable, ExperimentsTable, RunsTable, StoreTables } from './schema';
import {
  CASE_ARTIFACT_KINDS,
  type CaseArtifactKind,
  type CasesPage,
  type CheckpointRecord,
  type FinishRun,
  type NewRun,
  type ResultsStore,
  type RunFilter,
  type StoreBackend,
} from './store';

/** What a database backend provides to the shared query layer. */
export interface StoreEngine {
  readonly backend: StoreBackend;
  /** For messages: folder or redacted URL. */
  readonly location: string;
  readonly db: Kysely<StoreTables>;
  /** Statement that opens a write transaction (SQLite: BEGIN IMMEDIATE, so writers queue instead of failing to upgrade). */
  readonly beginWrite: string;
  /**
   * A boolean SQL expression over the `runs` row that is true while the run's owner is alive,
   * or null when the engine decides liveness from the row's pid and host (SQLite).
   */
  liveExpr(): RawBuilder<boolean> | null;
  /**
   * Makes this process the owner of `runId` for other processes to see ('claimed'), or reports
   * that a live process elsewhere owns it ('taken'); 'by-pid' when ownership is the row's pid and host.
   */
  claimRun(runId: string): Promise<'claimed' | 'taken' | 'by-pid'>;
  /** Gives up ownership of `runId` (after finishRun). */
  releaseRun(runId: string): Promise<void>;
  /**
   * Runs `fn` (one write transaction) exclusively among this process's connections to the same
   * database where the database needs it (SQLite: a second connection's BEGIN IMMEDIATE would
   * block the one thread that has to commit the first), else directly.
   */
  exclusiveWrite<T>(fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface SqlStoreSettings {
  readonly: boolean;
  schemaVersion: number;
  /** Absolute artifacts folder, or null. */
  artifactsDir: string | null;
  /**
   * Folder that stored relative paths are resolved against: the artifacts folder, or for a
   * SQLite store below schema 6 opened read-only, the store folder (paths were stored relative to it).
   */
  pathBase: string | null;
}

type RunRow = Selectable<RunsTable> & {
  alive?: unknown;
  last_epoch?: unknown;
  s_cases?: unknown;
  s_mean_dice?: unknown;
  s_dice_cases?: unknown;
  s_mean_hd?: unknown;
  s_hd_cases?: unknown;
  s_masked?: unknown;
  s_masked_cases?: unknown;
};

/** A run's last recorded epoch as 'phase:epoch' (phases in training order), null without any. */
const lastEpochExpr = sql<string | null>`(SELECT e.phase || ':' || CAST(e.epoch AS TEXT) FROM epochs e WHERE e.run_id = runs.id
  ORDER BY CASE e.phase WHEN 'pretrain' THEN 0 WHEN 'train' THEN 1 WHEN 'rl' THEN 2 ELSE 3 END DESC, e.epoch DESC LIMIT 1)`;

function parseLastEpoch(v: unknown): { phase: string; epoch: number } | null {
  if (typeof v !== 'string') return null;
  const i = v.lastIndexOf(':');
  return { phase: v.slice(0, i), epoch: Number(v.slice(i + 1)) };
}

/** One experiment's rows, every column present (null where unset), as `store copy` moves them. */
export interface ExperimentRows {
  experiment: ExperimentsTable;
  runs: RunsTable[];
  epochs: EpochsTable[];
  checkpoints: CheckpointsTable[];
  cases: CasesTable[];
}

/** `row` restricted to `cols`, each present (a column an older schema lacks reads null). */
function pick<R extends object, K extends keyof R>(row: R, cols: readonly K[]): Pick<R, K> {
  const out = {} as Pick<R, K>;
  for (const c of cols) out[c] = (row[c] === undefined ? null : row[c]) as R[K];
  return out;
}

const SORT_COLUMNS = {
  dice: 'dice',
  hd: 'hd',
  hd95: 'hd95',
  iou: 'iou',
  fbRatio: 'fb_ratio',
  caseId: 'case_id',
} as const satisfies Record<CasesQuery['sort'], keyof CasesTable>;

const EXPERIMENT_COLUMNS = ['id', 'name', 'dataset', 'config', 'config_hash', 'created_at', 'git_commit', 'author'] as const satisfies readonly (keyof ExperimentsTable)[];
const RUN_COLUMNS = [
  'id', 'experiment_id', 'variant', 'fold', 'seed', 'status', 'dataset', 'backend', 'git_commit', 'config', 'started_at', 'finished_at',
  'duration_ms', 'timings', 'checkpoint_path', 'onnx_path', 'package_versions', 'error', 'pid', 'host', 'selection',
] as const satisfies readonly (keyof RunsTable)[];
const EPOCH_COLUMNS = ['run_id', 'phase', 'epoch', 'loss', 'reward', 'val_dice', 'lr', 'duration_ms', 'stats'] as const satisfies readonly (keyof EpochsTable)[];
const CHECKPOINT_COLUMNS = ['run_id', 'phase', 'epoch', 'path', 'created_at'] as const satisfies readonly (keyof CheckpointsTable)[];
const CASE_COLUMNS = [
  'run_id', 'case_id', 'patient', 'fb_ratio', 'foreground_fraction', 'interval', 'dice', 'iou', 'precision', 'recall',
  'hd', 'hd95', 'assd', 'nsd', 'empty_gt', 'empty_pred', 'masked_fraction', 'lesion_masked_fraction',
] as const satisfies readonly (keyof CasesTable)[];

/** Rows per INSERT statement (18 parameters per case: well under both databases' limits). */
const CASES_PER_STATEMENT = 500;

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
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const phaseOrder = sql<number>`CASE phase WHEN 'pretrain' THEN 0 WHEN 'train' THEN 1 WHEN 'rl' THEN 2 ELSE 3 END`;

function checkId(what: string, id: string): string {
  const r = IdSchema.safeParse(id);
  if (!r.success) throw new Error(`results store: ${what} '${String(id).slice(0, 80)}' ${r.error.issues[0]?.message ?? 'is not a plain id'}`);
  return id;
}


/** An epoch row that exists already (same run, phase and epoch) takes the new values: a redone epoch replaces the old one. */
const replaceEpoch = (oc: OnConflictBuilder<StoreTables, 'epochs'>) =>
  oc.columns(['run_id', 'phase', 'epoch']).doUpdateSet((eb) => ({
    loss: eb.ref('excluded.loss'),
    reward: eb.ref('excluded.reward'),
    val_dice: eb.ref('excluded.val_dice'),
    lr: eb.ref('excluded.lr'),
    duration_ms: eb.ref('excluded.duration_ms'),
    stats: eb.ref('excluded.stats'),
  }));
export class SqlResultsStore implements ResultsStore {
  readonly backend: StoreBackend;
  readonly location: string;
  readonly artifactsDir: string | null;
  readonly readonly: boolean;
  readonly schemaVersion: number;
  private readonly db: Kysely<StoreTables>;
  private readonly pathBase: string | null;
  private readonly host = hostname();
  private closed = false;

  constructor(
    private readonly engine: StoreEngine,
    settings: SqlStoreSettings,
  ) {
    this.backend = engine.backend;
    this.location = engine.location;
    this.db = engine.db;
    this.readonly = settings.readonly;
    this.schemaVersion = settings.schemaVersion;
    this.artifactsDir = settings.artifactsDir;
    this.pathBase = settings.pathBase;
  }

  // ---------------------------------------------------------------- read API

  async listExperiments(): Promise<ExperimentRecord[]> {
    const rows = await this.db.selectFrom('experiments').selectAll().orderBy('created_at').orderBy('id').execute();
    return rows.map((r) => this.toExperiment(r));
  }

  async getExperiment(id: string): Promise<ExperimentRecord | undefined> {
    const r = await this.db.selectFrom('experiments').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? this.toExperiment(r) : undefined;
  }

  async latestExperimentByHash(configHash: string): Promise<ExperimentRecord | undefined> {
    const r = await this.db
      .selectFrom('experiments')
      .selectAll()
      .where('config_hash', '=', configHash)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    return r ? this.toExperiment(r) : undefined;
  }

  /**
   * Runs with their last epoch and their summary (RunSummarySchema): per-case means from the cases
   * table, one GROUP BY joined to the runs, each mean only over the cases where the value is
   * defined (AVG and COUNT skip NULL, which is how undefined metrics are stored). A store read
   * below schema 2 (read-only, not migrated) has no masked_fraction column. PostgreSQL returns
   * COUNT as a bigint (a string in node-postgres): toRun converts every aggregate to a number.
   */
  private runsQuery(q: Kysely<StoreTables> = this.db) {
    const live = this.engine.liveExpr();
    const masked =
      this.schemaVersion >= 2
        ? [sql<number | null>`AVG(masked_fraction)`.as('s_masked'), sql<number>`COUNT(masked_fraction)`.as('s_masked_cases')]
        : [sql<number | null>`NULL`.as('s_masked'), sql<number>`0`.as('s_masked_cases')];
    const summary = q
      .selectFrom('cases')
      .select([
        'run_id',
        sql<number>`COUNT(*)`.as('s_cases'),
        sql<number | null>`AVG(dice)`.as('s_mean_dice'),
        sql<number>`COUNT(dice)`.as('s_dice_cases'),
        sql<number | null>`AVG(hd)`.as('s_mean_hd'),
        sql<number>`COUNT(hd)`.as('s_hd_cases'),
        ...masked,
      ])
      .groupBy('run_id')
      .as('s');
    const base = q
      .selectFrom('runs')
      .leftJoin(summary, 's.run_id', 'runs.id')
      .selectAll('runs')
      .select(['s.s_cases', 's.s_mean_dice', 's.s_dice_cases', 's.s_mean_hd', 's.s_hd_cases', 's.s_masked', 's.s_masked_cases'])
      .select(lastEpochExpr.as('last_epoch'));
    return live ? base.select(live.as('alive')) : base;
  }

  async listRuns(filter: RunFilter = {}): Promise<RunRecord[]> {
    let query = this.runsQuery();
    if (filter.experimentId !== undefined) query = query.where('runs.experiment_id', '=', filter.experimentId);
    if (filter.variant !== undefined) query = query.where('runs.variant', '=', filter.variant);
    if (filter.fold !== undefined) query = query.where('runs.fold', '=', filter.fold);
    if (filter.seed !== undefined) query = query.where('runs.seed', '=', filter.seed);
    const rows = (await query.orderBy('runs.started_at').orderBy('runs.id').execute()) as RunRow[];
    const runs = rows.map((r) => this.toRun(r));
    return filter.status === undefined ? runs : runs.filter((r) => r.status === filter.status);
  }

  async getRun(id: string): Promise<RunRecord | undefined> {
    return this.getRunWith(this.db, id);
  }

  private async getRunWith(q: Kysely<StoreTables>, id: string): Promise<RunRecord | undefined> {
    const r = (await this.runsQuery(q).where('runs.id', '=', id).executeTakeFirst()) as RunRow | undefined;
    return r ? this.toRun(r) : undefined;
  }

  async listCases(runId: string, query: Partial<CasesQuery> = {}): Promise<CasesPage> {
    const q = CasesQuerySchema.parse(query);
    let base = this.db.selectFrom('cases').where('run_id', '=', runId);
    if (q.interval !== undefined) base = base.where('interval', '=', q.interval);
    const { n } = await base.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
    const col = SORT_COLUMNS[q.sort];
    const dir = q.order === 'desc' ? 'desc' : 'asc';
    // Undefined metrics (null: an empty mask) sort last in both directions; ties by case id.
    const rows = await base
      .selectAll()
      .orderBy(sql`(${sql.ref(col)} IS NULL)`)
      .orderBy(col, dir)
      .orderBy('case_id', 'asc')
      .limit(q.pageSize)
      .offset((q.page - 1) * q.pageSize)
      .execute();
    return { items: rows.map((r) => this.toCase(r)), total: Number(n), page: q.page, pageSize: q.pageSize };
  }

  async allCases(runId: string): Promise<CaseMetricRecord[]> {
    const rows = await this.db.selectFrom('cases').selectAll().where('run_id', '=', runId).orderBy('case_id').execute();
    return rows.map((r) => this.toCase(r));
  }

  async getCase(runId: string, caseId: string): Promise<CaseMetricRecord | undefined> {
    const r = await this.db.selectFrom('cases').selectAll().where('run_id', '=', runId).where('case_id', '=', caseId).executeTakeFirst();
    return r ? this.toCase(r) : undefined;
  }

  caseArtifactPath(runId: string, caseId: string, kind: CaseArtifactKind): string {
    checkId('run id', runId);
    checkId('case id', caseId);
    if (!(CASE_ARTIFACT_KINDS as readonly string[]).includes(kind)) {
      throw new Error(`results store: artifact kind '${String(kind)}' is not one of ${CASE_ARTIFACT_KINDS.join(', ')}`);
    }
    return this.inside(join(this.artifacts('caseArtifactPath'), runId, 'cases', caseId, `${kind}.png`));
  }

  async epochs(runId: string): Promise<EpochRecord[]> {
    const rows = await this.db.selectFrom('epochs').selectAll().where('run_id', '=', runId).orderBy(phaseOrder).orderBy('epoch').execute();
    return rows.map((r) =>
      EpochRecordSchema.parse({
        runId: r.run_id,
        phase: r.phase,
        epoch: Number(r.epoch),
        loss: num(r.loss),
        reward: num(r.reward),
        valDice: num(r.val_dice),
        lr: num(r.lr),
        durationMs: Number(r.duration_ms),
        // absent before schema 3 (read-only openings of old stores)
        stats: typeof r.stats === 'string' ? JSON.parse(r.stats) : null,
      }),
    );
  }

  async checkpoints(runId: string): Promise<CheckpointRecord[]> {
    // Written in time order; within one millisecond, in phase then epoch order.
    const rows = await this.db.selectFrom('checkpoints').selectAll().where('run_id', '=', runId).orderBy('created_at').orderBy(phaseOrder).orderBy('epoch').execute();
    return rows.map((r) => ({ runId: r.run_id, phase: r.phase, epoch: Number(r.epoch), path: this.abs(r.path), createdAt: r.created_at }));
  }

  async lastCheckpoint(runId: string): Promise<CheckpointRecord | undefined> {
    const all = await this.checkpoints(runId);
    return all[all.length - 1];
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.engine.close();
  }

  // --------------------------------------------------------------- write API

  async createExperiment(e: Omit<ExperimentRecord, 'createdAt' | 'author'> & { createdAt?: string; author?: string | null }): Promise<ExperimentRecord> {
    this.writable();
    checkId('experiment id', e.id);
    const rec = ExperimentRecordSchema.parse({ ...e, createdAt: e.createdAt ?? now() });
    await this.tx((q) => q
      .insertInto('experiments')
      .values({ id: rec.id, name: rec.name, dataset: rec.dataset, config: JSON.stringify(rec.config ?? null), config_hash: rec.configHash, created_at: rec.createdAt, git_commit: rec.gitCommit, author: rec.author })
      .execute());
    return rec;
  }

  async queueRun(r: NewRun): Promise<boolean> {
    this.writable();
    checkId('run id', r.id);
    const rec = RunRecordSchema.parse({ ...r, status: 'pending', startedAt: now(), finishedAt: null, durationMs: null, timings: {}, packageVersions: r.packageVersions ?? {} });
    const res = await this.tx((q) => q
      .insertInto('runs')
      .values({ ...this.newRunRow(rec), status: 'pending', pid: null, host: null })
      .onConflict((oc) => oc.column('id').doNothing())
      .executeTakeFirst());
    return Number(res.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  async requeueRun(runId: string, note: string | null): Promise<void> {
    this.writable();
    await this.tx((q) => q
      .updateTable('runs')
      .set({ status: 'pending', error: note, pid: null, finished_at: null })
      .where('id', '=', runId)
      .where('status', 'in', ['pending', 'incomplete', 'failed'])
      .execute());
  }

  /**
   * `takeover` (a queue worker handed a job whose previous worker lost the job's lock): on SQLite
   * a row still 'running' under a pid this process cannot check (another host) or a live one is
   * taken over. On PostgreSQL a run's owner is the advisory lock of a live session, so a dead
   * owner is already recognised without `takeover`, and a live one is never displaced: startRun
   * refuses as without it (the queue's retry, after its backoff, finds the run free once the
   * previous worker has noticed its lost job lock and stopped), so two processes never write one
   * run at the same time.
   */
  async startRun(r: NewRun, opts: { takeover?: boolean } = {}): Promise<RunRecord> {
    this.writable();
    checkId('run id', r.id);
    const claim = await this.engine.claimRun(r.id);
    if (claim === 'taken') throw new Error(`results store: run ${r.id} is being trained by another live process${opts.takeover ? ' (on PostgreSQL a live owner is not taken over; retry once it has stopped)' : ''}`);
    try {
      return await this.tx(async (q) => {
        const existing = await this.getRunWith(q, r.id);
        if (existing) {
          // With an ownership claim the row's status is stale by definition (its owner is gone).
          if (claim === 'by-pid' && existing.status === 'running' && !opts.takeover) throw new Error(`results store: run ${r.id} is being trained by another live process`);
          await q
            .updateTable('runs')
            .set({ status: 'running', backend: r.backend, pid: process.pid, host: this.host, error: null, finished_at: null, package_versions: JSON.stringify(r.packageVersions ?? {}) })
            .where('id', '=', r.id)
            .execute();
        } else {
          const rec = RunRecordSchema.parse({ ...r, status: 'running', startedAt: now(), finishedAt: null, durationMs: null, timings: {}, packageVersions: r.packageVersions ?? {} });
          await q
            .insertInto('runs')
            .values({ ...this.newRunRow(rec), status: 'running', pid: process.pid, host: this.host })
            .execute();
        }
        return (await this.getRunWith(q, r.id))!;
      });
    } catch (e) {
      if (claim === 'claimed') await this.engine.releaseRun(r.id);
      throw e;
    }
  }

  /** The columns of a new run's row that do not depend on who owns it. */
  private newRunRow(rec: RunRecord) {
    return {
      id: rec.id,
      experiment_id: rec.experimentId,
      variant: rec.variant,
      fold: rec.fold,
      seed: rec.seed,
      dataset: rec.dataset,
      backend: rec.backend,
      git_commit: rec.gitCommit,
      config: JSON.stringify(rec.config ?? null),
      started_at: rec.startedAt,
      timings: '{}',
      package_versions: JSON.stringify(rec.packageVersions),
    };
  }

  async recordEpoch(e: EpochRecordInput): Promise<void> {
    this.writable();
    const rec = EpochRecordSchema.parse(e);
    await this.tx((q) => this.upsertEpoch(q, rec));
  }

  private async upsertEpoch(q: Kysely<StoreTables>, rec: EpochRecord): Promise<void> {
    await q
      .insertInto('epochs')
      .values({
        run_id: rec.runId, phase: rec.phase, epoch: rec.epoch, loss: rec.loss, reward: rec.reward, val_dice: rec.valDice, lr: rec.lr, duration_ms: rec.durationMs,
        stats: rec.stats ? JSON.stringify(rec.stats) : null,
      })
      .onConflict(replaceEpoch)
      .execute();
  }

  async recordEpochCheckpoint(e: EpochRecordInput, path: string): Promise<void> {
    this.writable();
    const rec = EpochRecordSchema.parse(e);
    const rel = this.rel(path);
    await this.tx(async (q) => {
      await this.upsertEpoch(q, rec);
      await q
        .insertInto('checkpoints')
        .values({ run_id: rec.runId, phase: rec.phase, epoch: rec.epoch, path: rel, created_at: now() })
        .onConflict((oc) => oc.columns(['run_id', 'phase', 'epoch']).doUpdateSet((eb) => ({ path: eb.ref('excluded.path'), created_at: eb.ref('excluded.created_at') })))
        .execute();
      await q.updateTable('runs').set({ checkpoint_path: rel }).where('id', '=', rec.runId).execute();
    });
  }

  async copyEpochs(from: string, to: string, phase: EpochRecord['phase']): Promise<void> {
    this.writable();
    await this.tx((q) => q
      .insertInto('epochs')
      .columns(['run_id', 'phase', 'epoch', 'loss', 'reward', 'val_dice', 'lr', 'duration_ms', 'stats'])
      .expression((eb) =>
        eb
          .selectFrom('epochs')
          .select([sql<string>`${to}`.as('run_id'), 'phase', 'epoch', 'loss', 'reward', 'val_dice', 'lr', sql<number>`0`.as('duration_ms'), 'stats'])
          .where('run_id', '=', from)
          .where('phase', '=', phase),
      )
      .onConflict(replaceEpoch)
      .execute());
  }

  async recordCases(cases: readonly CaseMetricRecordInput[]): Promise<void> {
    this.writable();
    const rows = this.caseRows(cases);
    await this.tx((q) => this.upsertCases(q, rows));
  }

  async replaceCases(runId: string, cases: readonly CaseMetricRecordInput[]): Promise<void> {
    this.writable();
    const wrong = cases.find((c) => c.runId !== runId);
    if (wrong) throw new Error(`results store: replaceCases(${runId}) got a case of run ${wrong.runId}`);
    const rows = this.caseRows(cases);
    await this.tx(async (q) => {
      await q.deleteFrom('cases').where('run_id', '=', runId).execute();
      await this.upsertCases(q, rows);
    });
  }

  /** Validated rows, in key order (concurrent writers then lock rows in the same order). */
  private caseRows(cases: readonly CaseMetricRecordInput[]): CasesTable[] {
    return cases
      .map((c) => CaseMetricRecordSchema.parse(c))
      .map((c) => ({
        run_id: c.runId,
        case_id: c.caseId,
        patient: c.patient,
        fb_ratio: c.fbRatio,
        foreground_fraction: c.foregroundFraction,
        interval: c.interval,
        dice: c.dice,
        iou: c.iou,
        precision: c.precision,
        recall: c.recall,
        hd: c.hd,
        hd95: c.hd95,
        assd: c.assd,
        nsd: c.nsd,
        empty_gt: c.emptyGt ? 1 : 0,
        empty_pred: c.emptyPred ? 1 : 0,
        masked_fraction: c.maskedFraction,
        lesion_masked_fraction: c.lesionMaskedFraction,
      }))
      .sort((a, b) => (a.run_id < b.run_id ? -1 : a.run_id > b.run_id ? 1 : a.case_id < b.case_id ? -1 : a.case_id > b.case_id ? 1 : 0));
  }

  private async upsertCases(q: Kysely<StoreTables>, rows: CasesTable[]): Promise<void> {
    for (let i = 0; i < rows.length; i += CASES_PER_STATEMENT) {
      await q
        .insertInto('cases')
        .values(rows.slice(i, i + CASES_PER_STATEMENT))
        .onConflict((oc) =>
          oc.columns(['run_id', 'case_id']).doUpdateSet((eb) => Object.fromEntries(CASE_COLUMNS.slice(2).map((c) => [c, eb.ref(`excluded.${c}`)])) as never),
        )
        .execute();
    }
  }

  async pruneCheckpoints(runId: string, keepPath: string): Promise<void> {
    this.writable();
    const keep = this.rel(keepPath);
    await this.tx((q) => q.deleteFrom('checkpoints').where('run_id', '=', runId).where('path', '!=', keep).execute());
  }

  writeCaseArtifact(runId: string, caseId: string, kind: CaseArtifactKind, png: Uint8Array): string {
    this.writable();
    const path = this.caseArtifactPath(runId, caseId, kind);
    mkdirSync(join(path, '..'), { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, png);
    renameSync(tmp, path);
    return path;
  }

  runDir(runId: string, ...sub: string[]): string {
    checkId('run id', runId);
    const p = this.inside(join(this.artifacts('runDir'), runId, ...sub));
    if (!this.readonly) mkdirSync(p, { recursive: true });
    return p;
  }

  async setOnnxPath(runId: string, path: string | null): Promise<void> {
    this.writable();
    const onnx = path === null ? null : this.rel(path);
    await this.tx((q) => q.updateTable('runs').set({ onnx_path: onnx }).where('id', '=', runId).execute());
  }

  async addTimings(runId: string, timings: Record<string, number>): Promise<void> {
    this.writable();
    await this.tx(async (q) => {
      const run = await this.getRunWith(q, runId);
      if (!run) throw new Error(`results store: no run ${runId}`);
      await q.updateTable('runs').set({ timings: JSON.stringify({ ...run.timings, ...timings }) }).where('id', '=', runId).execute();
    });
  }

  async setSelection(runId: string, selection: RunSelection): Promise<void> {
    this.writable();
    const sel = RunSelectionSchema.parse(selection);
    const r = await this.tx((q) => q.updateTable('runs').set({ selection: JSON.stringify(sel) }).where('id', '=', runId).executeTakeFirst());
    if (Number(r.numUpdatedRows) === 0) throw new Error(`results store: no run ${runId}`);
  }

  async finishRun(runId: string, f: FinishRun): Promise<RunRecord> {
    this.writable();
    const done = await this.tx(async (q) => {
      const run = await this.getRunWith(q, runId);
      if (!run) throw new Error(`results store: no run ${runId}`);
      const timings = { ...run.timings, ...(f.timings ?? {}) };
      const duration = Object.values(timings).reduce((a, b) => a + b, 0);
      await q
        .updateTable('runs')
        .set((eb) => ({
          status: f.status,
          finished_at: now(),
          duration_ms: duration,
          timings: JSON.stringify(timings),
          error: f.error ?? null,
          onnx_path: f.onnxPath ? this.rel(f.onnxPath) : eb.ref('onnx_path'),
          pid: null,
        }))
        .where('id', '=', runId)
        .execute();
      return (await this.getRunWith(q, runId))!;
    });
    await this.engine.releaseRun(runId);
    return done;
  }

  // ------------------------------------------------------------ API tokens (tokens.ts)

  async createApiToken(role: ApiTokenRole, label?: string | null): Promise<{ token: string; record: ApiTokenRecord }> {
    this.writable();
    return this.tx((q) => tokens.createApiToken(q, role, label));
  }

  async listApiTokens(): Promise<ApiTokenRecord[]> {
    return this.schemaVersion < API_TOKENS_VERSION ? [] : tokens.listApiTokens(this.db);
  }

  async activeApiTokens(): Promise<ActiveApiToken[]> {
    return this.schemaVersion < API_TOKENS_VERSION ? [] : tokens.activeApiTokens(this.db);
  }

  async revokeApiToken(id: string): Promise<ApiTokenRecord | undefined> {
    this.writable();
    return this.tx((q) => tokens.revokeApiToken(q, id));
  }

  // ---------------------------------------------------------- copying (store copy)

  /**
   * Every row of one experiment (its runs, epochs, checkpoints, cases) as stored, with artifact
   * paths made relative to this store's artifacts folder (absolute when outside it) and runs
   * still 'running' written as 'incomplete' (the copy cannot know their owner).
   */
  async exportExperiment(id: string): Promise<ExperimentRows | undefined> {
    const experiment = await this.db.selectFrom('experiments').selectAll().where('id', '=', id).executeTakeFirst();
    if (!experiment) return undefined;
    const runs = (await this.db.selectFrom('runs').selectAll().where('experiment_id', '=', id).orderBy('started_at').orderBy('id').execute()).map((r) => ({
      ...pick(r, RUN_COLUMNS),
      checkpoint_path: this.portablePath(r.checkpoint_path),
      onnx_path: this.portablePath(r.onnx_path),
      ...(r.status === 'running' ? { status: 'incomplete', pid: null, error: r.error ?? `copied from ${this.location} while running on ${String(r.host)} (pid ${String(r.pid)}); continue it with --resume` } : {}),
    }));
    const ids = runs.map((r) => r.id);
    const none = ['\u0000'];
    const epochs = (await this.db.selectFrom('epochs').selectAll().where('run_id', 'in', ids.length ? ids : none).execute()).map((r) => pick(r, EPOCH_COLUMNS));
    const checkpoints = (await this.db.selectFrom('checkpoints').selectAll().where('run_id', 'in', ids.length ? ids : none).execute()).map((r) => ({
      ...pick(r, CHECKPOINT_COLUMNS),
      path: this.portablePath(r.path)!,
    }));
    const cases = (await this.db.selectFrom('cases').selectAll().where('run_id', 'in', ids.length ? ids : none).execute()).map((r) =>
      pick(r, CASE_COLUMNS),
    );
    return { experiment: pick(experiment, EXPERIMENT_COLUMNS), runs, epochs, checkpoints, cases };
  }

  /**
   * Writes an exported experiment in one transaction. Returns false (writing nothing) when an
   * experiment with that id is already here.
   */
  async importExperiment(rows: ExperimentRows): Promise<boolean> {
    this.writable();
    return this.tx(async (q) => {
      if (await q.selectFrom('experiments').select('id').where('id', '=', rows.experiment.id).executeTakeFirst()) return false;
      await q.insertInto('experiments').values(rows.experiment).execute();
      const chunks = <T>(xs: T[]) => Array.from({ length: Math.ceil(xs.length / CASES_PER_STATEMENT) }, (_, i) => xs.slice(i * CASES_PER_STATEMENT, (i + 1) * CASES_PER_STATEMENT));
      for (const c of chunks(rows.runs)) await q.insertInto('runs').values(c).execute();
      for (const c of chunks(rows.epochs)) await q.insertInto('epochs').values(c).execute();
      for (const c of chunks(rows.checkpoints)) await q.insertInto('checkpoints').values(c).execute();
      for (const c of chunks(rows.cases)) await q.insertInto('cases').values(c).execute();
      return true;
    });
  }

  /** A stored path as it must be stored elsewhere: relative to the artifacts folder, else absolute. */
  private portablePath(p: string | null): string | null {
    if (p === null) return null;
    const abs = this.abs(p);
    return isAbsolute(abs) ? this.rel(abs) : abs;
  }

  // ---------------------------------------------------------------- internals

  /**
   * Runs still 'running' whose owner is gone become 'incomplete' (a read-write opening). On
   * PostgreSQL the owner check is part of the UPDATE, so a run another worker has just taken
   * over is never marked.
   */
  async markDeadRuns(): Promise<void> {
    const rows = (await this.runsQuery().where('runs.status', '=', 'running').execute()) as RunRow[];
    const dead = rows.filter((r) => this.isDead(r));
    if (!dead.length) return;
    const live = this.engine.liveExpr();
    await this.tx(async (q) => {
      for (const r of dead) {
        let upd = q
          .updateTable('runs')
          .set((eb) => ({
            status: 'incomplete',
            error: eb.fn.coalesce('error', sql<string>`${`the training process (pid ${String(r.pid)} on ${String(r.host)}) ended without finishing the run; continue it with --resume`}`),
            pid: null,
          }))
          .where('id', '=', r.id)
          .where('status', '=', 'running');
        if (live) upd = upd.where(sql<boolean>`NOT ${live}`);
        await upd.execute();
      }
    });
  }

  /** One write transaction on one connection (`fn` must use `q`, never this.db). Every write goes through here. */
  private tx<T>(fn: (q: Kysely<StoreTables>) => Promise<T>): Promise<T> {
    return this.engine.exclusiveWrite(() => this.db.connection().execute(async (c) => {
      await sql.raw(this.engine.beginWrite).execute(c);
      try {
        const out = await fn(c);
        await sql`COMMIT`.execute(c);
        return out;
      } catch (e) {
        await sql`ROLLBACK`.execute(c).catch(() => undefined);
        throw e;
      }
    }));
  }

  private isDead(r: RunRow): boolean {
    if (r.alive !== undefined) return !(r.alive === true || r.alive === 1);
    if (r.host !== this.host) return false; // another machine: cannot tell
    return r.pid === null || !pidAlive(Number(r.pid));
  }

  private writable(): void {
    if (this.readonly) throw new Error(`results store ${this.location} was opened read-only`);
  }

  private artifacts(what: string): string {
    if (this.artifactsDir === null) throw new Error(`results store ${this.location}: ${what} needs an artifacts folder (give --artifacts <dir>, a folder every machine of the team mounts)`);
    return this.artifactsDir;
  }

  private inside(p: string): string {
    const base = this.artifacts('a file path');
    const abs = resolve(p);
    const rel = relative(base, abs);
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel) || rel.split(sep).includes('..')) {
      throw new Error(`results store: path ${p} leaves the artifacts folder`);
    }
    return abs;
  }

  /** Stored paths are relative to the artifacts folder so it can be moved or mounted elsewhere. */
  private rel(p: string): string {
    const abs = resolve(p);
    if (this.artifactsDir === null) return abs;
    const r = relative(this.artifactsDir, abs);
    return r === '' || r.startsWith('..') || isAbsolute(r) ? abs : r.split(sep).join('/');
  }

  private abs(p: string): string {
    if (isAbsolute(p)) return p;
    // Without an artifacts folder a relative path cannot be placed: shown as stored.
    return this.pathBase === null ? p : join(this.pathBase, p);
  }

  private toExperiment(r: Selectable<ExperimentsTable>): ExperimentRecord {
    return ExperimentRecordSchema.parse({
      id: r.id,
      name: r.name,
      dataset: r.dataset,
      config: JSON.parse(String(r.config)),
      configHash: r.config_hash,
      createdAt: r.created_at,
      gitCommit: r.git_commit,
      // absent before schema 5 (read-only openings of old stores)
      author: r.author ?? null,
    });
  }

  private toRun(r: RunRow): RunRecord {
    const status = r.status === 'running' && this.isDead(r) ? 'incomplete' : r.status;
    return RunRecordSchema.parse({
      id: r.id,
      experimentId: r.experiment_id,
      variant: r.variant,
      fold: Number(r.fold),
      seed: Number(r.seed),
      status,
      dataset: r.dataset,
      backend: r.backend,
      gitCommit: r.git_commit,
      config: JSON.parse(String(r.config)),
      startedAt: r.started_at,
      finishedAt: r.finished_at,
      durationMs: num(r.duration_ms),
      timings: JSON.parse(String(r.timings)),
      checkpointPath: r.checkpoint_path === null ? null : this.abs(r.checkpoint_path),
      onnxPath: r.onnx_path === null ? null : this.abs(r.onnx_path),
      packageVersions: JSON.parse(String(r.package_versions)),
      error: r.error,
      selection: typeof r.selection === 'string' ? JSON.parse(r.selection) : null,
      host: r.host ?? null,
      lastEpoch: parseLastEpoch(r.last_epoch),
      summary:
        r.s_cases === null || r.s_cases === undefined
          ? null
          : {
              cases: Number(r.s_cases),
              meanDice: num(r.s_mean_dice),
              diceCases: Number(r.s_dice_cases),
              meanHd: num(r.s_mean_hd),
              hdCases: Number(r.s_hd_cases),
              maskedFraction: num(r.s_masked),
              maskedCases: Number(r.s_masked_cases),
            },
    });
  }

  private toCase(r: Selectable<CasesTable> & Partial<Pick<CasesTable, 'masked_fraction' | 'lesion_masked_fraction'>>): CaseMetricRecord {
    return CaseMetricRecordSchema.parse({
      runId: r.run_id,
      caseId: r.case_id,
      patient: r.patient,
      fbRatio: Number(r.fb_ratio),
      foregroundFraction: Number(r.foreground_fraction),
      interval: r.interval,
      dice: num(r.dice),
      iou: num(r.iou),
      precision: num(r.precision),
      recall: num(r.recall),
      hd: num(r.hd),
      hd95: num(r.hd95),
      assd: num(r.assd),
      nsd: num(r.nsd),
      emptyGt: Number(r.empty_gt) === 1,
      emptyPred: Number(r.empty_pred) === 1,
      // absent before schema 2 (read-only openings of old stores): not recorded
      maskedFraction: num(r.masked_fraction),
      lesionMaskedFraction: num(r.lesion_masked_fraction),
    });
  }
}

/** Resolves the artifacts folder for a store: the option, else `<dir>/artifacts` for SQLite, else none. */
export function artifactsFor(option: string | null | undefined, sqliteDir: string | null, artifactsName: string): string | null {
  if (option === null) return sqliteDir === null ? null : join(sqliteDir, artifactsName);
  if (option !== undefined) {
    if (option.trim() === '') throw new Error('openStore: artifacts must be a folder path, got an empty value');
    return resolve(option);
  }
  return sqliteDir === null ? null : join(sqliteDir, artifactsName);
}

