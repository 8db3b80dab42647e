/**
 * Slices per second for load + preprocess, per format (no disk cache, no augmentation).
 * Run: npx tsx packages/data/bench/load.bench.ts [--size 128] [--n 40]
 * Real formats read ../shared/data (MRLSEG_SHARED_DATA) and are skipped with a note when absent.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DatasetSchema, PreprocessingSchema, type DatasetFormat } from '@mrlseg/types';
import { generateSyntheticSlice, openDataset } from '../src/index';
import { writeNifti } from '../test/fixtures';

const arg = (name: string, d: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : d;
};
const size = arg('size', 128);
const n = arg('n', 40);
const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const shared = process.env.MRLSEG_SHARED_DATA ?? join(repo, '..', 'shared', 'data');
/** CPU seconds of this process since `c0` (less sensitive than wall time to other load on the machine). */
const cpuSeconds = (c0: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(c0);
  return (d.user + d.system) / 1e6;
};
const pre = PreprocessingSchema.parse({ size, augmentation: { enabled: false } });

// Generator alone at 256 x 256 (the "hundreds of slices per second").
{
  const t = performance.now();
  const c0 = process.cpuUsage();
  const count = 200;
  for (let i = 0; i < count; i++) generateSyntheticSlice({ count, slicesPerPatient: 8, size: 256, seed: 0 }, i);
  const s = (performance.now() - t) / 1000;
  const cpu = cpuSeconds(c0);
  console.log(JSON.stringify({ what: 'synthetic generate 256x256', slices: count, seconds: +s.toFixed(3), slicesPerSecond: +(count / s).toFixed(1), slicesPerCpuSecond: +(count / cpu).toFixed(1) }));
}

const cases: [DatasetFormat, string | undefined][] = [
  ['synthetic', undefined],
  ['busi', join(shared, 'busi')],
  ['pancreas-ct', join(shared, 'pancreas-ct')],
  ['kits19-slices', join(shared, 'kits19-slices')],
];
for (const [format, root] of cases) {
  if (root && !existsSync(root)) {
    console.log(JSON.stringify({ what: `${format} load+preprocess`, skipped: `${root} absent` }));
    continue;
  }
  const ds = openDataset(DatasetSchema.parse({ format, root, synthetic: { count: n, size: 256 } }));
  const refs = (await ds.list()).slice(0, n);
  const t = performance.now();
  const c0 = process.cpuUsage();
  for (const r of refs) await ds.load(r, pre);
  const s = (performance.now() - t) / 1000;
  const cpu = cpuSeconds(c0);
  console.log(JSON.stringify({ what: `${format} load+preprocess to ${size}`, slices: refs.length, seconds: +s.toFixed(3), slicesPerSecond: +(refs.length / s).toFixed(1), slicesPerCpuSecond: +(refs.length / cpu).toFixed(1) }));
}
// kits19 volumes: the shared subset has labels only; pair a synthetic int16 imaging volume (HU) of
// the same shape with a fixture segmentation in a temp folder and time load+preprocess via loadMany
// (one streamed pass per volume for all requested slices) and via load() per slice.
{
  const root = join(tmpdir(), `mrlseg-bench-kits-${process.pid}`);
  const dims: [number, number, number] = [24, 512, 512];
  await writeNifti(join(root, 'case_00000', 'imaging.nii.gz'), dims, (i, j, k) => ((i * 7 + j + k) % 400) - 100, { datatype: 4 });
  await writeNifti(join(root, 'case_00000', 'segmentation.nii.gz'), dims, (i, j, k) => (Math.hypot(j - 256, k - 256) < 10 + i ? 2 : 0));
  const ds = openDataset(DatasetSchema.parse({ format: 'kits19', root }));
  const refs = await ds.list();
  let t = performance.now();
  let c0 = process.cpuUsage();
  await ds.loadMany(refs, pre);
  let s = (performance.now() - t) / 1000;
  console.log(JSON.stringify({ what: `kits19 loadMany+preprocess to ${size} (24x512x512 int16, gz)`, slices: refs.length, seconds: +s.toFixed(3), slicesPerSecond: +(refs.length / s).toFixed(1), slicesPerCpuSecond: +(refs.length / cpuSeconds(c0)).toFixed(1) }));
  t = performance.now();
  c0 = process.cpuUsage();
  for (const r of refs.slice(0, 4)) await ds.load(r, pre);
  s = (performance.now() - t) / 1000;
  console.log(JSON.stringify({ what: `kits19 load() per slice (re-streams the volume; use loadMany or the cache)`, slices: 4, seconds: +s.toFixed(3), slicesPerSecond: +(4 / s).toFixed(1), slicesPerCpuSecond: +(4 / cpuSeconds(c0)).toFixed(1) }));
  await rm(root, { recursive: true, force: true });
}
// The per-case streaming scan of the real label volumes (list = one pass per segmentation).
{
  const root = join(shared, 'kits19-nifti-labels');
  if (!existsSync(root)) console.log(JSON.stringify({ what: 'kits19 scan', skipped: `${root} absent` }));
  else {
    const t = performance.now();
    const refs = await openDataset(DatasetSchema.parse({ format: 'kits19', root })).list();
    const s = (performance.now() - t) / 1000;
    console.log(JSON.stringify({ what: 'kits19 scan (streamed label volumes)', slices: refs.length, seconds: +s.toFixed(3), slicesPerSecond: +(refs.length / s).toFixed(1) }));
  }
}
