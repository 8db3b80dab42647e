/** Small helpers shared by the loaders: bounded concurrency, seeded random numbers, file listing, atomic writes. */
import { readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { extname, join } from 'node:path';

/** Runs `fn` over `items` with at most `limit` calls in flight; results keep the input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** A seeded uniform generator in [0, 1) (mulberry32): same seed, same sequence, on every platform. */
export type Rng = () => number;
export function makeRng(seed: number): Rng {
  let a = (Math.floor(seed) ^ 0x9e3779b9) >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Mixes integers into one 32-bit seed (for per-patient / per-slice sub-streams). */
export function mixSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    h = Math.imul(h ^ (p & 0xffff), 0x01000193);
    h = Math.imul(h ^ ((p >>> 16) & 0xffff), 0x01000193);
  }
  return h >>> 0;
}

export const IMAGE_EXTS = new Set(['.png', '.jpg', '.jpeg', '.tif', '.tiff']);

/** Image files directly inside `dir` (PNG, JPEG, TIFF), sorted by name; [] when `dir` is missing. */
export async function listImages(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  return names.filter((n) => IMAGE_EXTS.has(extname(n).toLowerCase()) && !n.startsWith('.')).sort(naturalCompare);
}

export async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

export async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

/** Compares names with embedded numbers numerically ("case (9)" before "case (10)"). */
export function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

/** The file name without its extension. */
export function stem(name: string): string {
  const e = extname(name);
  return e ? name.slice(0, -e.length) : name;
}

export const joinPath = join;
export const reasonOf = (e: unknown): string => (e instanceof Error ? e.message.split('\n')[0] : String(e));

/**
 * Writes `bytes` to `file` atomically: to `<file>.<pid>.tmp`, then renamed over `file`, so a reader
 * never sees a half-written file. On failure the temporary file is removed and the error rethrown.
 */
export async function writeFileAtomic(file: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
