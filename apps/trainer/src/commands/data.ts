/**
 * `mrlseg data ...`: inspect a dataset folder (per-slice fbRatio, problems), make patient-level
 * folds, and write the synthetic dataset. Nothing is ever written into a dataset folder.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { IntervalSpec } from '@mrlseg/metrics';
import type { ScanResult } from '@mrlseg/data';
import { DATASET_FORMATS, LESION_LABELS, type DatasetFormat } from '@mrlseg/types/constants';

const int = (name: string, min: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got '${v}'`);
  return n;
};

const formatArg = (v: string): DatasetFormat => {
  if (!(DATASET_FORMATS as readonly string[]).includes(v)) throw new Error(`--format must be one of ${DATASET_FORMATS.join('|')}, got '${v}'`);
  return v as DatasetFormat;
};

interface DatasetFlags {
  format: DatasetFormat;
  lesion: string;
  threshold: number;
  intervals?: string;
}

const progress = (label: string) => {
  if (!process.stderr.isTTY) return undefined;
  return (done: number, total: number) => {
    process.stderr.write(`\r${label}: ${done}/${total}${done === total ? '\n' : ''}`);
  };
};

async function scanDir(dir: string, o: DatasetFlags): Promise<ScanResult> {
  if (!(LESION_LABELS as readonly string[]).includes(o.lesion)) throw new Error(`--lesion must be one of ${LESION_LABELS.join('|')}, got '${o.lesion}'`);
  const { DatasetSchema, parseWith } = await import('@mrlseg/types');
  const cfg = parseWith(DatasetSchema, { format: o.format, root: resolve(dir), lesion: o.lesion, maskThreshold: o.threshold }, 'dataset options');
  const { openDataset } = await import('@mrlseg/data');
  return openDataset(cfg, { onProgress: progress(`scanning ${o.format}`) }).scan();
}

async function intervalsOf(o: DatasetFlags): Promise<IntervalSpec> {
  if (!o.intervals) return o.format === 'busi' ? 'busi' : 'ct';
  const { parseIntervalSpec } = await import('@mrlseg/metrics');
  return parseIntervalSpec(o.intervals);
}

function withDatasetOptions(c: Command): Command {
  return c
    .requiredOption('--format <format>', `dataset layout (${DATASET_FORMATS.join('|')})`, formatArg)
    .option('--lesion <label>', `KiTS19: which label is lesion (${LESION_LABELS.join('|')})`, 'tumour')
    .option('--threshold <n>', 'mask pixel > n is foreground (8-bit masks)', int('threshold', 0), 127)
    .option('--intervals <spec>', "fbRatio interval edges in %: 'ct', 'busi' or e.g. '0,5,10' (default: busi for busi, else ct)");
}

export function register(program: Command): void {
  const data = program.command('data').description('datasets: inspect, split into patient-level folds, generate the synthetic set');

  withDatasetOptions(data.command('inspect <dir>').description('list every 2-D sample with its fbRatio; report unusable files'))
    .option('--json', 'print a JSON array, one object per 2-D sample')
    .option('--strict', 'exit non-zero when any file has a problem')
    .action(async (dir: string, o: DatasetFlags & { json?: boolean; strict?: boolean }) => {
      const spec = await intervalsOf(o);
      const { refs, problems } = await scanDir(dir, o);
      const { intervalIndex, intervalLabels } = await import('@mrlseg/metrics');
      for (const p of problems) console.error(`problem: ${p.file}: ${p.message}`);
      if (o.json) {
        const rows = refs.map((r) => ({
          id: r.id,
          patient: r.patient,
          slice: r.slice,
          width: r.width,
          height: r.height,
          fbRatio: r.fbRatio,
          foregroundPixels: r.foregroundPixels,
          ...(r.spacing ? { spacing: r.spacing } : {}),
          image: r.source.image ?? null,
          masks: r.source.mask,
        }));
        console.log(JSON.stringify(rows, null, 2));
      } else {
        const labels = intervalLabels(spec);
        const counts = new Array<number>(labels.length).fill(0);
        let empty = 0;
        let outside = 0;
        for (const r of refs) {
          if (r.foregroundPixels === 0) {
            empty++;
            continue;
          }
          const i = intervalIndex(r.fbRatio, spec);
          if (i < 0) outside++;
          else counts[i]++;
        }
        const patients = new Set(refs.map((r) => r.patient)).size;
        console.log(`${o.format} dataset ${resolve(dir)}: ${refs.length} 2-D samples from ${patients} patients, ${problems.length} problem(s)`);
        console.log('fbRatio interval  samples');
        console.log(`no foreground     ${empty}`);
        labels.forEach((l, i) => console.log(`${l.padEnd(18)}${counts[i]}`));
        console.log(`${'above last edge'.padEnd(18)}${outside}`);
      }
      if (o.strict && problems.length > 0) {
        console.error(`mrlseg data inspect: ${problems.length} problem(s) found (--strict)`);
        process.exitCode = 2;
      }
    });

  withDatasetOptions(data.command('split <dir>').description('k patient-level folds, stratified by fbRatio interval, saved as JSON'))
    .option('--folds <k>', 'number of folds', int('folds', 2), 4)
    .option('--seed <n>', 'random seed', int('seed', 0), 0)
    .option('--no-stratify', 'do not stratify by fbRatio interval')
    .requiredOption('--out <file>', 'split JSON to write')
    .action(async (dir: string, o: DatasetFlags & { folds: number; seed: number; stratify: boolean; out: string }) => {
      const { refs, problems } = await scanDir(dir, o);
      for (const p of problems) console.error(`problem: ${p.file}: ${p.message}`);
      const { makeFolds, saveSplit } = await import('@mrlseg/data');
      const split = makeFolds(refs, { k: o.folds, seed: o.seed, stratify: o.stratify, intervals: await intervalsOf(o), dataset: { format: o.format, root: resolve(dir) } });
      await saveSplit(o.out, split);
      for (const f of split.folds) console.log(`fold ${f.index}: ${f.patients.length} patients, ${f.samples.length} samples`);
      console.log(`wrote ${o.out}`);
    });

  data
    .command('synth')
    .description('write the synthetic CT-like imbalanced dataset (images/, masks/, synthetic.json)')
    .requiredOption('--out <dir>', 'output folder')
    .option('--count <n>', 'number of 2-D slices', int('count', 1), 96)
    .option('--size <px>', 'square size in pixels', int('size', 16), 128)
    .option('--seed <n>', 'random seed', int('seed', 0), 0)
    .option('--slices-per-patient <n>', 'slices per synthetic patient', int('slices-per-patient', 1), 8)
    .action(async (o: { out: string; count: number; size: number; seed: number; slicesPerPatient: number }) => {
      const { writeSyntheticDataset } = await import('@mrlseg/data');
      const r = await writeSyntheticDataset(o.out, { count: o.count, size: o.size, seed: o.seed, slicesPerPatient: o.slicesPerPatient }, progress('writing'));
      console.log(`wrote ${r.count} slices (${o.size}x${o.size}, seed ${o.seed}) to ${resolve(r.dir)}`);
    });
}
