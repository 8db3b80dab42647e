/**
 * The `--store` and `--artifacts` flags every command that reads or writes results shares, and
 * opening the store they name. Defining the flags loads only @mrlseg/experiments/constants;
 * the store itself (SQLite, PostgreSQL's driver, zod) is imported when a command opens it, so
 * `mrlseg --help` stays fast (issue 17, cli-startup.test.ts).
 */
import type { Command } from 'commander';
import type { ResultsStore } from '@mrlseg/experiments';
import { DEFAULT_STORE_DIR, isPostgresUrl } from '@mrlseg/experiments/constants';

export interface StoreFlags {
  store: string;
  artifacts?: string;
}

export const STORE_FLAG_HELP = 'results store: a folder (SQLite) or postgres://user@host:port/database';
export const ARTIFACTS_FLAG_HELP = 'artifacts folder for checkpoints, ONNX exports and case PNGs (default <store>/artifacts for a folder store; required with PostgreSQL: a folder every machine mounts)';

/** Adds --store and --artifacts to `cmd`. */
export function addStoreFlags(cmd: Command): Command {
  return cmd.option('--store <dir|url>', STORE_FLAG_HELP, DEFAULT_STORE_DIR).option('--artifacts <dir>', ARTIFACTS_FLAG_HELP);
}

/**
 * Opens the store named by the flags. `needsArtifacts`: the command reads or writes files, so a
 * PostgreSQL store without --artifacts is refused up front (before any training starts).
 */
export async function openStoreFromFlags(o: StoreFlags, opts: { readonly?: boolean; needsArtifacts?: boolean } = {}): Promise<ResultsStore> {
  if (opts.needsArtifacts && isPostgresUrl(o.store) && o.artifacts === undefined) {
    throw new Error('--artifacts <dir> is required with a PostgreSQL --store (checkpoints, ONNX exports and case PNGs go there; in a team, a folder every machine mounts)');
  }
  const { openStore } = await import('@mrlseg/experiments');
  return openStore(o.store, { readonly: opts.readonly, artifacts: o.artifacts });
}
