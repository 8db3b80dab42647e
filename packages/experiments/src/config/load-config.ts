/**
 * Experiment configs: a JSON file validated by ExperimentConfigSchema, with command-line
 * overrides merged over it (flags override the file), and the expansion of one experiment into
 * runs (variants x folds x seeds).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { ConfigError, ExperimentConfigSchema, deepMerge, parseWith, type ExperimentConfig, type ExperimentConfigInput, type VariantId } from '@mrlseg/types';

export type ConfigOverrides = { [K in keyof ExperimentConfigInput]?: ExperimentConfigInput[K] extends object ? Record<string, unknown> | unknown[] : unknown };

/**
 * Reads and validates an experiment config. `dataset.root` in a file is resolved relative to the
 * file's folder; in `overrides` (flags) relative to the working directory.
 * @throws ConfigError naming the file and each bad field; Error for a missing or non-JSON file.
 */
export function loadExperimentConfig(file: string | undefined, overrides: Record<string, unknown> = {}): ExperimentConfig {
  let base: Record<string, unknown> = {};
  let what = 'experiment config from flags';
  if (file !== undefined) {
    const path = resolve(file);
    what = `experiment config ${file}`;
    if (!existsSync(path) || !statSync(path).isFile()) throw new Error(`config file ${file} not found (resolved to ${path})`);
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(path, 'utf8'));
    } catch (e) {
      throw new Error(`config file ${file} is not valid JSON: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(what, [{ path: '', message: 'expected a JSON object' }]);
    base = raw as Record<string, unknown>;
    const ds = base.dataset as Record<string, unknown> | undefined;
    if (ds && typeof ds.root === 'string' && !isAbsolute(ds.root)) base = deepMerge(base, { dataset: { root: resolve(dirname(path), ds.root) } });
  }
  const ods = overrides.dataset as Record<string, unknown> | undefined;
  if (ods && typeof ods.root === 'string') overrides = deepMerge(overrides, { dataset: { root: resolve(ods.root) } });
  const config = parseWith(ExperimentConfigSchema, deepMerge(base, overrides), what);
  if (config.folds.k === 1) {
    throw new ConfigError(what, [{ path: 'folds.k', message: 'must be 0 (train on everything, no held-out fold) or at least 2' }]);
  }
  if (config.dataset.format !== 'synthetic' && !config.dataset.root) {
    throw new ConfigError(what, [{ path: 'dataset.root', message: `required for format '${config.dataset.format}' (only 'synthetic' generates its data)` }]);
  }
  if (config.dataset.root && !existsSync(config.dataset.root)) {
    throw new ConfigError(what, [{ path: 'dataset.root', message: `dataset folder ${config.dataset.root} does not exist` }]);
  }
  return config;
}

/** Canonical JSON (sorted keys) so equal configs hash equally. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** Short content hash of a config (first 12 hex digits of SHA-256 of its canonical JSON). */
export function configHash(config: unknown): string {
  return createHash('sha256').update(canonicalJson(config)).digest('hex').slice(0, 12);
}

export interface RunPlan {
  variant: VariantId;
  /** Held-out fold index, or -1 when training on everything (`folds.k = 0`). */
  fold: number;
  seed: number;
}

/** One experiment = variants x folds x seeds; order: fold, then seed, then variant. */
export function planRuns(config: ExperimentConfig): RunPlan[] {
  const variants = config.variants?.length ? config.variants : [config.variant];
  const seeds = config.seeds?.length ? config.seeds : [config.seed];
  const k = config.folds.k;
  let folds = k === 0 ? [-1] : Array.from({ length: k }, (_, i) => i);
  if (config.folds.only && k > 0) {
    const bad = config.folds.only.filter((f) => f >= k);
    if (bad.length) throw new ConfigError('experiment config', [{ path: 'folds.only', message: `fold ${bad[0]} does not exist with folds.k = ${k}` }]);
    folds = [...config.folds.only];
  }
  const out: RunPlan[] = [];
  for (const fold of folds) for (const seed of seeds) for (const variant of variants) out.push({ variant, fold, seed });
  return out;
}

/** A plain id from free text (letters, digits, '-', '_'). */
export function slug(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60) || 'experiment';
}

/** Run id: `<experimentId>-<variant>-f<fold|all>-s<seed>`. */
export function runId(experimentId: string, plan: RunPlan): string {
  return `${experimentId}-${plan.variant}-f${plan.fold < 0 ? 'all' : plan.fold}-s${plan.seed}`;
}
