/**
 * Parsing helpers that turn zod issues into messages naming the field, so a bad config file or
 * request says exactly what to fix ("rl.beta: beta must lie in (0.2, 0.3) (Eq. 3)").
 */
import type { z } from 'zod';

export class ConfigError extends Error {
  readonly issues: { path: string; message: string }[];
  constructor(what: string, issues: { path: string; message: string }[]) {
    super(`${what}: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** Formats a zod issue path as dotted field name with [i] for array indices. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)), '');
}

/**
 * Parses `input` with `schema`, throwing a {@link ConfigError} whose message names every bad field.
 * @param what - what is being parsed, for the message (e.g. "experiment config my.json").
 */
export function parseWith<S extends z.ZodType>(schema: S, input: unknown, what: string): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new ConfigError(
    what,
    result.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message })),
  );
}

type Plain = Record<string, unknown>;
const isPlain = (v: unknown): v is Plain => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Deep-merges plain objects (arrays and scalars in `override` replace); used for "flags override the file". */
export function deepMerge<T>(base: T, override: unknown): T {
  if (!isPlain(base) || !isPlain(override)) return (override === undefined ? base : override) as T;
  const out: Plain = { ...base };
  for (const [k, v] of Object.entries(override)) {
    if (v === undefined) continue;
    out[k] = isPlain(v) && isPlain(out[k]) ? deepMerge(out[k], v) : v;
  }
  return out as T;
}
