/**
 * `mrlseg store copy`: moves a whole results store between backends (a SQLite folder into
 * PostgreSQL, or back) or between two databases of the same kind. Experiment by experiment, each
 * in one transaction on the destination; experiments already there (same id) are skipped, so a
 * copy can be repeated or resumed. The artifacts folder is copied too when the two stores use
 * different ones (files already at the destination are kept).
 */
import { cpSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SqlResultsStore } from './sql-store';
import { openStore, type ResultsStore } from './store';

export interface CopyStoreOptions {
  /** Artifacts folder of the source (default: `<from>/artifacts` for a folder store). */
  fromArtifacts?: string;
  /** Artifacts folder of the destination (default: `<to>/artifacts` for a folder store; required for PostgreSQL). */
  toArtifacts?: string;
  /** Called after each experiment. */
  onExperiment?: (id: string, copied: boolean) => void;
}

export interface CopyStoreResult {
  from: string;
  to: string;
  experiments: string[];
  skipped: string[];
  runs: number;
  epochs: number;
  cases: number;
  /** Whether the artifact files were copied (false when both stores share the folder or the source has none). */
  filesCopied: boolean;
}

function sql(store: ResultsStore, what: string): SqlResultsStore {
  if (!(store instanceof SqlResultsStore)) throw new Error(`copyStore: the ${what} store (${store.location}) is not one this toolkit can copy`);
  return store;
}

/** Copies every experiment of the store at `from` into the store at `to` (created and migrated if new). */
export async function copyStore(from: string, to: string, opts: CopyStoreOptions = {}): Promise<CopyStoreResult> {
  if (typeof from !== 'string' || !from || typeof to !== 'string' || !to) throw new Error('copyStore: from and to must both name a store (a folder or a postgres:// URL)');
  const src = sql(await openStore(from, { readonly: true, artifacts: opts.fromArtifacts }), 'source');
  let dst: SqlResultsStore;
  try {
    dst = sql(await openStore(to, { artifacts: opts.toArtifacts }), 'destination');
  } catch (e) {
    await src.close();
    throw e;
  }
  try {
    if (src.location === dst.location && src.backend === dst.backend) throw new Error(`copyStore: source and destination are the same store (${src.location})`);
    const srcFiles = src.artifactsDir;
    const dstFiles = dst.artifactsDir;
    const copyFiles = srcFiles !== null && dstFiles !== null && resolve(srcFiles) !== resolve(dstFiles) && existsSync(srcFiles);
    const out: CopyStoreResult = { from: src.location, to: dst.location, experiments: [], skipped: [], runs: 0, epochs: 0, cases: 0, filesCopied: false };
    for (const e of await src.listExperiments()) {
      const rows = await src.exportExperiment(e.id);
      if (!rows) continue;
      // Files first: a run row never points at a file that is not there yet.
      if (copyFiles) {
        for (const id of [e.id, ...rows.runs.map((r) => r.id)]) {
          const dir = join(srcFiles, id);
          if (existsSync(dir)) cpSync(dir, join(dstFiles, id), { recursive: true, force: false, errorOnExist: false });
        }
        out.filesCopied = true;
      }
      const copied = await dst.importExperiment(rows);
      if (copied) {
        out.experiments.push(e.id);
        out.runs += rows.runs.length;
        out.epochs += rows.epochs.length;
        out.cases += rows.cases.length;
      } else out.skipped.push(e.id);
      opts.onExperiment?.(e.id, copied);
    }
    return out;
  } finally {
    await src.close();
    await dst.close();
  }
}
