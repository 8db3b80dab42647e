/**
 * Integration over the real subsets in ../shared/data (read-only; absent in users' clones: the
 * suite then skips with a message). fbRatio is checked against an independent count: masks
 * decoded here with sharp's raw pipeline (not the package's decoders) and, for KiTS19, the whole
 * volume decompressed by nifti-reader-js's own decompress/readImage instead of the streaming reader.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as nifti from 'nifti-reader-js';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { DatasetSchema, PreprocessingSchema, type DatasetFormat } from '@mrlseg/types';
import { openDataset, type SampleRef } from '../src/index';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const shared = process.env.MRLSEG_SHARED_DATA ?? join(repo, '..', 'shared', 'data');
const present = existsSync(shared);
if (!present) console.warn(`[data] skipping shared-data integration tests: ${shared} not found (set MRLSEG_SHARED_DATA)`);

/** Independent count: sharp raw channels, grey by the test's own Rec. 601 weights when RGB. */
async function countMask(files: string[], fg: (rgb: number[]) => boolean): Promise<{ fg: number; total: number }> {
  let union: Uint8Array | undefined;
  for (const f of files) {
    const { data, info } = await sharp(readFileSync(f)).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    const px = info.width * info.height;
    union ??= new Uint8Array(px);
    for (let i = 0; i < px; i++) if (fg([data[i * 3], data[i * 3 + 1], data[i * 3 + 2]])) union[i] = 1;
  }
  return { fg: union!.reduce((a, b) => a + b, 0), total: union!.length };
}

const scans = new Map<string, ReturnType<ReturnType<typeof openDataset>['scan']>>();
/** One scan per layout, shared by the tests below (scanning decodes every file). */
const scan = (format: DatasetFormat, dir: string) => {
  if (!scans.has(dir)) scans.set(dir, openDataset(DatasetSchema.parse({ format, root: join(shared, dir) })).scan());
  return scans.get(dir)!;
};
const check = (r: SampleRef, c: { fg: number; total: number }) => {
  expect(r.foregroundPixels, r.id).toBe(c.fg);
  expect(r.width * r.height, r.id).toBe(c.total);
  expect(Math.abs(r.fbRatio - c.fg / (c.total - c.fg)), r.id).toBeLessThanOrEqual(1e-6);
};
const grey127 = ([r, g, b]: number[]) => Math.round(0.299 * r + 0.587 * g + 0.114 * b) > 127;

describe.runIf(present)('shared data: every slice, fbRatio against an independent count', () => {
  it('busi: 120 cases, masks united', async () => {
    const { refs, problems } = await scan('busi', 'busi');
    expect(problems).toEqual([]);
    expect(refs).toHaveLength(120);
    for (const r of refs) check(r, await countMask(r.source.mask, grey127));
  });
  it('pancreas-ct: 176 JPEG slices, masks > 127', async () => {
    const { refs, problems } = await scan('pancreas-ct', 'pancreas-ct');
    expect(problems).toEqual([]);
    expect(refs).toHaveLength(176);
    expect(new Set(refs.map((r) => r.patient)).size).toBeGreaterThan(4);
    for (const r of refs) check(r, await countMask(r.source.mask, grey127));
  });
  it('kits19-slices: 12 slices, red = tumour', async () => {
    const { refs, problems } = await scan('kits19-slices', 'kits19-slices');
    expect(problems).toEqual([]);
    expect(refs).toHaveLength(12);
    for (const r of refs) check(r, await countMask(r.source.mask, ([red]) => red > 127));
  });
  it('kits19-nifti-labels: every slice of 3 segmentation-only cases, tumour = 2', async () => {
    const { refs, problems } = await scan('kits19', 'kits19-nifti-labels');
    expect(problems).toEqual([]);
    const cases = readdirSync(join(shared, 'kits19-nifti-labels')).filter((c) => c.startsWith('case_'));
    let total = 0;
    for (const c of cases) {
      const file = join(shared, 'kits19-nifti-labels', c, 'segmentation.nii.gz');
      const buf = readFileSync(file);
      const data = nifti.decompress(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer) as ArrayBuffer;
      const h = nifti.readHeader(data);
      const img = nifti.readImage(h, data);
      const vals = h.datatypeCode === 512 ? new Uint16Array(img) : new Uint8Array(img);
      const [nx, ny, nz] = [h.dims[1], h.dims[2], h.dims[3]];
      const fg = new Array<number>(nx).fill(0);
      for (let v = 0; v < vals.length; v++) if (vals[v] === 2) fg[v % nx]++;
      const mine = refs.filter((r) => r.patient === c);
      expect(mine).toHaveLength(nx);
      mine.forEach((r, i) => check(r, { fg: fg[i], total: ny * nz }));
      total += nx;
    }
    expect(refs).toHaveLength(total);
    expect(refs[0].source.image).toBeUndefined();
  });
  it('loads and preprocesses a real slice of each 2-D layout into [0, 1] at the configured size', async () => {
    const pre = PreprocessingSchema.parse({ size: 64, augmentation: { enabled: false } });
    for (const [format, dir] of [['busi', 'busi'], ['pancreas-ct', 'pancreas-ct'], ['kits19-slices', 'kits19-slices']] as const) {
      const ds = openDataset(DatasetSchema.parse({ format, root: join(shared, dir) }));
      const r = (await scan(format, dir)).refs[0];
      const s = await ds.load(r, pre);
      expect(s.image).toHaveLength(64 * 64);
      expect(Math.max(...s.image)).toBeLessThanOrEqual(1);
      expect(s.meta.preprocessing?.resizedTo).toEqual([64, 64]);
      expect(s.meta.preprocessing?.ctWindow).toBeUndefined(); // already 8-bit
    }
  });
});
