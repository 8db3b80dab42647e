/**
 * On-disk cache of preprocessed slices, keyed by a hash of the preprocessing settings (one
 * sub-folder per hash) and of the sample's source files (path, size, mtime). Never inside the
 * dataset folder: {@link assertCacheOutside} rejects that.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { PreprocessingRecord } from '@mrlseg/types';

export interface CachedSlice {
  image: Float32Array;
  mask: Uint8Array;
  width: number;
  height: number;
  record: PreprocessingRecord;
}

/** Throws when `cacheDir` lies inside `datasetRoot` (the dataset folder is read-only to us). */
export function assertCacheOutside(cacheDir: string, datasetRoot: string | undefined): void {
  if (!datasetRoot) return;
  const rel = relative(resolve(datasetRoot), resolve(cacheDir));
  if (rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))) {
    throw new Error(`preprocessing.cacheDir '${cacheDir}' lies inside the dataset folder '${datasetRoot}'; choose a folder outside it (nothing is written into datasets)`);
  }
}

/** Cache key of a sample: its id, the loader settings that change its mask, and its files' size and mtime. */
export async function sampleKey(id: string, files: string[], settings: unknown): Promise<string> {
  const h = createHash('sha256').update(JSON.stringify({ id, settings }));
  for (const f of files) {
    const s = await stat(f);
    h.update(`${resolve(f)}:${s.size}:${s.mtimeMs}`);
  }
  return h.digest('hex').slice(0, 32);
}

const pathOf = (cacheDir: string, configHash: string, key: string) => join(cacheDir, configHash, `${key}.bin`);

export async function readCached(cacheDir: string, configHash: string, key: string): Promise<CachedSlice | undefined> {
  let buf: Buffer;
  try {
    buf = await readFile(pathOf(cacheDir, configHash, key));
  } catch {
    return undefined;
  }
  try {
    const n = buf.readUInt32LE(0);
    const head = JSON.parse(buf.subarray(4, 4 + n).toString('utf8')) as { width: number; height: number; record: PreprocessingRecord };
    const px = head.width * head.height;
    const off = 4 + n + ((4 - ((4 + n) % 4)) % 4);
    if (buf.length !== off + px * 5) return undefined; // stale or partial: recompute
    const image = new Float32Array(px);
    Buffer.from(image.buffer).set(buf.subarray(off, off + px * 4));
    const mask = Uint8Array.from(buf.subarray(off + px * 4, off + px * 5));
    return { image, mask, width: head.width, height: head.height, record: head.record };
  } catch {
    return undefined;
  }
}

export async function writeCached(cacheDir: string, configHash: string, key: string, s: CachedSlice): Promise<void> {
  const head = Buffer.from(JSON.stringify({ width: s.width, height: s.height, record: s.record }), 'utf8');
  const pad = (4 - ((4 + head.length) % 4)) % 4;
  const len = Buffer.alloc(4);
  len.writeUInt32LE(head.length, 0);
  const body = Buffer.concat([len, head, Buffer.alloc(pad), Buffer.from(s.image.buffer, s.image.byteOffset, s.image.byteLength), Buffer.from(s.mask)]);
  const file = pathOf(cacheDir, configHash, key);
  await mkdir(join(cacheDir, configHash), { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, body);
  await rename(tmp, file);
}
