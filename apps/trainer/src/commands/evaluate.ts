/**
 * `mrlseg evaluate --pred <folder> --gt <folder>`: Dice, HD and HD95 (with IoU, ASSD and NSD in the
 * JSON) of every prediction against the ground truth of the same name, per case and summarised
 * (mean, sample std, number of cases with a defined value).
 *
 * Pairs: files are matched by name without extension (`case_00015.nii.gz` <-> `case_00015.nii`,
 * `a.png` <-> `a.jpg`); files on one side only are listed as unmatched and not scored.
 * - 2-D images (PNG, JPEG, TIFF, WebP): grey > --threshold is foreground; distances in pixels.
 * - NIfTI volumes: voxel != 0 is foreground (`--label n`: voxel == n); scored in 3-D with the
 *   ground truth's voxel spacing (pixdim[1..3], mm), @mrlseg/metrics computeVolumeMetrics. With
 *   `--per-slice`, every slice along `--axis` holding foreground in either volume is scored as a
 *   2-D case with the in-plane spacing instead, as the paper's tables score slices.
 * Conventions for empty masks and HD95 are @mrlseg/metrics' (its README).
 */
import { readdirSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import type { Command } from 'commander';
import type { Hd95Convention } from '@mrlseg/metrics';

const IMAGE_EXT = new Set(['.png', '.jpg', '.jpeg', '.tif', '.tiff', '.webp']);
const stemOf = (name: string): string | null => {
  if (/\.nii(\.gz)?$/i.test(name)) return name.replace(/\.nii(\.gz)?$/i, '');
  return IMAGE_EXT.has(extname(name).toLowerCase()) ? basename(name, extname(name)) : null;
};
const isNifti = (f: string) => /\.nii(\.gz)?$/i.test(f);

export interface EvaluateOptions {
  pred: string;
  gt: string;
  perSlice?: boolean;
  axis?: 0 | 2;
  /** Volumes: foreground label (default: any non-zero voxel). */
  label?: number;
  /** Images: grey value above which a pixel is foreground (default 127). */
  threshold?: number;
  hd95?: Hd95Convention;
}

export interface EvaluateRow {
  case: string;
  /** Slice index along the axis (per-slice rows), else null. */
  slice: number | null;
  kind: 'image' | 'volume';
  pred: string;
  gt: string;
  dims: number[];
  spacing: number[];
  dice: number | null;
  iou: number | null;
  hd: number | null;
  hd95: number | null;
  assd: number | null;
  nsd: number | null;
  predForeground: number;
  gtForeground: number;
}

export interface EvaluateResult {
  rows: EvaluateRow[];
  failed: { case: string; error: string }[];
  unmatched: { pred: string[]; gt: string[] };
  summary: Record<'dice' | 'hd' | 'hd95', { mean: number | null; std: number | null; count: number; n: number }>;
  perSlice: boolean;
}

function list(dir: string, flag: string): Map<string, string> {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new Error('not a folder');
    names = readdirSync(dir);
  } catch (e) {
    throw new Error(`evaluate: ${flag} '${dir}' cannot be listed: ${(e as Error).message.split('\n')[0]}`, { cause: e });
  }
  const out = new Map<string, string>();
  for (const n of names.sort()) {
    const stem = stemOf(n);
    if (stem === null) continue;
    if (out.has(stem)) throw new Error(`evaluate: ${flag} '${dir}' holds two files named '${stem}' (${basename(out.get(stem)!)} and ${n}); names must pair one to one`);
    out.set(stem, join(dir, n));
  }
  return out;
}

const firstLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0];

/** Scores every pair of `o.pred` and `o.gt` (see the module comment). A pair that cannot be read is listed in `failed`. */
export async function evaluateFolders(o: EvaluateOptions): Promise<EvaluateResult> {
  const threshold = o.threshold ?? 127;
  if (!(Number.isInteger(threshold) && threshold >= 0 && threshold <= 254)) throw new Error(`--threshold must be an integer in [0, 254], got ${threshold}`);
  if (o.label !== undefined && !(Number.isInteger(o.label) && o.label > 0)) throw new Error(`--label must be a positive integer, got ${o.label}`);
  const axis = o.axis ?? 0;
  if (axis !== 0 && axis !== 2) throw new Error(`--axis must be 0 or 2, got ${String(axis)}`);
  const preds = list(o.pred, '--pred');
  const gts = list(o.gt, '--gt');
  const unmatched = { pred: [...preds.keys()].filter((k) => !gts.has(k)).map((k) => preds.get(k)!), gt: [...gts.keys()].filter((k) => !preds.has(k)).map((k) => gts.get(k)!) };
  const names = [...preds.keys()].filter((k) => gts.has(k));
  if (names.length === 0) throw new Error(`evaluate: no file of --pred '${o.pred}' has a ground truth of the same name in --gt '${o.gt}' (${preds.size} prediction(s), ${gts.size} ground truth(s))`);
  const data = await import('@mrlseg/data');
  const metrics = await import('@mrlseg/metrics');
  const hd95Convention = o.hd95 ?? 'directed';
  const rows: EvaluateRow[] = [];
  const failed: EvaluateResult['failed'] = [];
  for (const name of names) {
    const pf = preds.get(name)!;
    const gf = gts.get(name)!;
    try {
      if (isNifti(pf) !== isNifti(gf)) throw new Error(`one of '${pf}' and '${gf}' is a volume, the other an image`);
      if (!isNifti(gf)) {
        const p = await data.readBinaryMask(pf, threshold);
        const g = await data.readBinaryMask(gf, threshold);
        if (p.width !== g.width || p.height !== g.height) throw new Error(`prediction is ${p.width}x${p.height}, ground truth ${g.width}x${g.height}`);
        const m = metrics.computeSegmentationMetrics(p.data, g.data, { width: g.width, height: g.height, hd95Convention });
        rows.push({ case: name, slice: null, kind: 'image', pred: pf, gt: gf, dims: [g.width, g.height], spacing: [1, 1], dice: m.dice, iou: m.iou, hd: m.hd, hd95: m.hd95, assd: m.assd, nsd: m.nsd, predForeground: m.predForeground, gtForeground: m.gtForeground });
        continue;
      }
      const pi = await data.readNiftiInfo(pf);
      const gi = await data.readNiftiInfo(gf);
      if (pi.dims.join('x') !== gi.dims.join('x')) throw new Error(`prediction is ${pi.dims.join('x')}, ground truth ${gi.dims.join('x')}`);
      const fg = (v: Float32Array) => {
        const out = new Uint8Array(v.length);
        for (let i = 0; i < v.length; i++) out[i] = o.label === undefined ? (v[i] !== 0 ? 1 : 0) : Math.round(v[i]) === o.label ? 1 : 0;
        return out;
      };
      const pv = fg(await data.readVolume(pi));
      const gv = fg(await data.readVolume(gi));
      const spacing = gi.spacing;
      if (!o.perSlice) {
        const m = metrics.computeVolumeMetrics(pv, gv, { dims: gi.dims, spacing, hd95Convention });
        rows.push({ case: name, slice: null, kind: 'volume', pred: pf, gt: gf, dims: [...gi.dims], spacing: [...spacing], dice: m.dice, iou: m.iou, hd: m.hd, hd95: m.hd95, assd: m.assd, nsd: m.nsd, predForeground: m.predForeground, gtForeground: m.gtForeground });
        continue;
      }
      const { width, height, slices } = data.sliceGeometry(gi, axis);
      // Slice pixel (row, col): axis 0 -> voxel (i, row, col), x = col along dim 3; axis 2 -> (col, row, k).
      const inPlane: [number, number] = axis === 0 ? [spacing[2], spacing[1]] : [spacing[0], spacing[1]];
      for (let n = 0; n < slices; n++) {
        const ps = new Uint8Array(data.volumeSlice(pv, gi.dims, axis, n));
        const gs = new Uint8Array(data.volumeSlice(gv, gi.dims, axis, n));
        if (!ps.some((v) => v) && !gs.some((v) => v)) continue;
        const m = metrics.computeSegmentationMetrics(ps, gs, { width, height, spacing: inPlane, hd95Convention });
        rows.push({ case: name, slice: n, kind: 'volume', pred: pf, gt: gf, dims: [width, height], spacing: inPlane, dice: m.dice, iou: m.iou, hd: m.hd, hd95: m.hd95, assd: m.assd, nsd: m.nsd, predForeground: m.predForeground, gtForeground: m.gtForeground });
      }
    } catch (e) {
      failed.push({ case: name, error: firstLine(e) });
    }
  }
  const sum = (k: 'dice' | 'hd' | 'hd95') => {
    const s = metrics.summarize(rows.map((r) => r[k]));
    return { mean: s.mean, std: s.std, count: s.count, n: s.n };
  };
  return { rows, failed, unmatched, summary: { dice: sum('dice'), hd: sum('hd'), hd95: sum('hd95') }, perSlice: o.perSlice === true };
}

const f = (v: number | null, d = 4) => (v === null ? '-' : v.toFixed(d));
const CSV_COLUMNS = ['case', 'slice', 'kind', 'dice', 'iou', 'hd', 'hd95', 'assd', 'nsd', 'predForeground', 'gtForeground', 'dims', 'spacing', 'pred', 'gt'] as const;
const csvCell = (v: unknown): string => {
  const s = v === null || v === undefined ? '' : Array.isArray(v) ? v.join('x') : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** The result as CSV: one line per scored case (or slice), then one per unmatched or failed file as comment lines. */
export function evaluateCsv(r: EvaluateResult): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const row of r.rows) lines.push(CSV_COLUMNS.map((c) => csvCell(row[c])).join(','));
  return lines.join('\n');
}

/** The result as a Markdown table, the summary, and the unmatched and failed files. */
export function evaluateText(r: EvaluateResult): string {
  const out: string[] = [];
  const unit = (row: EvaluateRow) => (row.kind === 'volume' ? 'mm' : 'px');
  out.push(`| case${r.perSlice ? ' | slice' : ''} | Dice | HD | HD95 | unit | pred voxels | gt voxels |`);
  out.push(`|---${r.perSlice ? '|---:' : ''}|---:|---:|---:|---|---:|---:|`);
  for (const row of r.rows) out.push(`| ${row.case}${r.perSlice ? ` | ${row.slice ?? ''}` : ''} | ${f(row.dice)} | ${f(row.hd, 3)} | ${f(row.hd95, 3)} | ${unit(row)} | ${row.predForeground} | ${row.gtForeground} |`);
  out.push('');
  const s = r.summary;
  const line = (k: 'dice' | 'hd' | 'hd95', label: string, d: number) => `${label} ${f(s[k].mean, d)} ± ${f(s[k].std, d)} (${s[k].count} of ${s[k].n} ${r.perSlice ? 'slices' : 'cases'} defined)`;
  out.push(`${r.rows.length} ${r.perSlice ? 'slice(s)' : 'case(s)'} scored: ${line('dice', 'Dice', 4)}; ${line('hd', 'HD', 3)}; ${line('hd95', 'HD95', 3)}`);
  if (r.unmatched.pred.length) out.push(`predictions without a ground truth (${r.unmatched.pred.length}): ${r.unmatched.pred.join(', ')}`);
  if (r.unmatched.gt.length) out.push(`ground truths without a prediction (${r.unmatched.gt.length}): ${r.unmatched.gt.join(', ')}`);
  for (const x of r.failed) out.push(`failed ${x.case}: ${x.error}`);
  return out.join('\n');
}

/** JSON with non-finite numbers written as null. */
const toJson = (v: unknown): string => JSON.stringify(v, (_k, x) => (typeof x === 'number' && !Number.isFinite(x) ? null : x));

export function register(program: Command): void {
  program
    .command('evaluate')
    .description('Dice, HD and HD95 of a folder of predictions against a folder of ground truths (images or NIfTI volumes, paired by name; volumes in 3-D with their voxel spacing)')
    .requiredOption('--pred <folder>', 'predictions (PNG/JPEG/TIFF/WebP masks, NIfTI label volumes)')
    .requiredOption('--gt <folder>', 'ground truths with the same names (extension aside)')
    .option('--json', 'print one JSON object (rows, summary, unmatched, failed)')
    .option('--csv', 'print one CSV line per case (or slice)')
    .option('--per-slice', 'score volumes slice by slice (slices with foreground in either volume), as the paper\'s tables do')
    .option('--axis <n>', 'slice axis for --per-slice: 0 or 2', (v: string) => {
      if (v !== '0' && v !== '2') throw new Error(`--axis must be 0 or 2, got '${v}'`);
      return Number(v) as 0 | 2;
    }, 0 as 0 | 2)
    .option('--label <n>', 'volumes: the foreground label (default: any non-zero voxel)', (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new Error(`--label must be a positive integer, got '${v}'`);
      return n;
    })
    .option('--threshold <n>', 'images: grey value above which a pixel is foreground', (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 254) throw new Error(`--threshold must be an integer in [0, 254], got '${v}'`);
      return n;
    }, 127)
    .option('--hd95 <convention>', 'HD95 convention: directed (MONAI) or pooled (medpy)', (v: string) => {
      if (v !== 'directed' && v !== 'pooled') throw new Error(`--hd95 must be directed or pooled, got '${v}'`);
      return v as Hd95Convention;
    }, 'directed' as Hd95Convention)
    .action(async (o: EvaluateOptions & { json?: boolean; csv?: boolean }) => {
      if (o.json && o.csv) throw new Error('evaluate: give --json or --csv, not both');
      const r = await evaluateFolders(o);
      if (o.json) console.log(toJson(r));
      else if (o.csv) {
        console.log(evaluateCsv(r));
        for (const x of [...r.unmatched.pred, ...r.unmatched.gt]) console.error(`unmatched: ${x}`);
        for (const x of r.failed) console.error(`failed ${x.case}: ${x.error}`);
      } else console.log(evaluateText(r));
    });
}
