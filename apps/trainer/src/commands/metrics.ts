/**
 * `mrlseg metrics`: segmentation metrics of predicted masks against ground-truth masks.
 *
 *   mrlseg metrics --pred A.png --gt B.png [--threshold 127] [--spacing sx,sy] [--nsd-tolerance t] --json
 *   mrlseg metrics --pred-dir P --gt-dir G [--gt-suffix _mask] [--intervals ct|busi|e1,e2,...] [--format md|csv|latex] [--json]
 *
 * Masks are decoded with @mrlseg/data's readBinaryMask (sharp: PNG, JPEG, TIFF, WebP; grey value >
 * threshold = foreground). Conventions (empty masks, HD95) are those of @mrlseg/metrics (its README).
 * Results go to stdout; progress (directories on a terminal) to stderr. @mrlseg/metrics and
 * @mrlseg/data (sharp) load when the command runs, not for `--help`.
 */
import { readdirSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import type { BinaryMask } from '@mrlseg/data';
import type { IntervalSpec, SegmentationMetrics } from '@mrlseg/metrics';
import { HD95_CONVENTIONS, type Hd95Convention } from '@mrlseg/types/constants';

const IMAGE_EXT = new Set(['.png', '.jpg', '.jpeg', '.tif', '.tiff', '.webp']);
const TABLE_METRICS = ['dice', 'iou', 'precision', 'recall', 'hd', 'hd95', 'assd', 'nsd'] as const;
const TABLE_FORMATS = ['md', 'csv', 'latex'] as const;

interface MetricsCliOptions {
  pred?: string;
  gt?: string;
  predDir?: string;
  gtDir?: string;
  gtSuffix: string;
  threshold: number;
  spacing?: [number, number];
  nsdTolerance: number;
  hd95: Hd95Convention;
  emptyBoth: 'undefined' | 'perfect';
  /** --intervals as given; parsed (and checked) when the command runs. */
  intervals: string;
  format: (typeof TABLE_FORMATS)[number];
  json?: boolean;
}

const parseThreshold = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 254) throw new Error(`--threshold must be an integer in [0, 254], got '${v}'`);
  return n;
};
const parseSpacing = (v: string): [number, number] => {
  const parts = v.split(',').map((s) => Number(s.trim()));
  if (parts.length !== 2 || !parts.every((p) => Number.isFinite(p) && p > 0)) throw new Error(`--spacing must be 'sx,sy' with two positive numbers, got '${v}'`);
  return [parts[0], parts[1]];
};
const parseTolerance = (v: string): number => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0) throw new Error(`--nsd-tolerance must be a number >= 0, got '${v}'`);
  return n;
};
async function parseIntervals(v: string): Promise<IntervalSpec> {
  const { parseIntervalSpec } = await import('@mrlseg/metrics');
  try {
    return parseIntervalSpec(v);
  } catch (e) {
    throw new Error(`--intervals must be ct, busi or increasing percentages like 0,5,10: ${(e as Error).message}`, { cause: e });
  }
};
const oneOf =
  <T extends string>(name: string, allowed: readonly T[]) =>
  (v: string): T => {
    if (!allowed.includes(v as T)) throw new Error(`--${name} must be one of ${allowed.join(', ')}, got '${v}'`);
    return v as T;
  };

/** JSON with non-finite numbers written as null (JSON has no Infinity or NaN). */
/** The options once --intervals is parsed. */
type MetricsRun = Omit<MetricsCliOptions, 'intervals'> & { intervals: IntervalSpec };

const toJson = (v: unknown): string => JSON.stringify(v, (_k, x) => (typeof x === 'number' && !Number.isFinite(x) ? null : x));

async function readMask(file: string, threshold: number, role: string): Promise<BinaryMask> {
  const { readBinaryMask } = await import('@mrlseg/data');
  try {
    return await readBinaryMask(file, threshold);
  } catch (e) {
    throw new Error(`metrics: cannot read ${role} mask: ${(e as Error).message}`, { cause: e });
  }
}

async function metricsOf(pred: BinaryMask, gt: BinaryMask, predFile: string, gtFile: string, o: MetricsRun): Promise<SegmentationMetrics> {
  const { computeSegmentationMetrics } = await import('@mrlseg/metrics');
  if (pred.width !== gt.width || pred.height !== gt.height) {
    throw new Error(`metrics: masks differ in size: prediction '${predFile}' is ${pred.width}x${pred.height}, ground truth '${gtFile}' is ${gt.width}x${gt.height} (width x height)`);
  }
  return computeSegmentationMetrics(pred.data, gt.data, {
    width: gt.width,
    height: gt.height,
    spacing: o.spacing,
    nsdTolerance: o.nsdTolerance,
    hd95Convention: o.hd95,
    emptyBoth: o.emptyBoth,
    intervals: o.intervals,
  });
}

/** The fields printed per case, in a stable order. */
function caseRow(m: SegmentationMetrics) {
  return {
    dice: m.dice,
    iou: m.iou,
    precision: m.precision,
    recall: m.recall,
    hd: m.hd,
    hd95: m.hd95,
    assd: m.assd,
    nsd: m.nsd,
    fbRatio: m.fbRatio,
    foregroundFraction: m.foregroundFraction,
    interval: m.interval,
    emptyGt: m.emptyGt,
    emptyPred: m.emptyPred,
    predForeground: m.predForeground,
    gtForeground: m.gtForeground,
    spacing: m.spacing,
    nsdTolerance: m.nsdTolerance,
    hd95Convention: m.hd95Convention,
  };
}

async function runPair(o: MetricsRun): Promise<void> {
  const pred = await readMask(o.pred!, o.threshold, 'prediction');
  const gt = await readMask(o.gt!, o.threshold, 'ground-truth');
  const m = await metricsOf(pred, gt, o.pred!, o.gt!, o);
  const row = { pred: o.pred, gt: o.gt, width: gt.width, height: gt.height, ...caseRow(m) };
  if (o.json) {
    console.log(toJson(row));
    return;
  }
  const f = (v: number | null, d = 4) => (v === null ? 'undefined' : v.toFixed(d));
  const unit = o.spacing ? 'spacing units' : 'px';
  console.log(`prediction ${o.pred} vs ground truth ${o.gt} (${gt.width}x${gt.height})`);
  console.log(`Dice ${f(m.dice)}  IoU ${f(m.iou)}  precision ${f(m.precision)}  recall ${f(m.recall)}`);
  console.log(`HD ${f(m.hd, 3)}  HD95 (${m.hd95Convention}) ${f(m.hd95, 3)}  ASSD ${f(m.assd, 3)} ${unit}  NSD@${m.nsdTolerance} ${f(m.nsd)}`);
  console.log(`fbRatio ${m.fbRatio.toFixed(6)} (foreground ${(m.foregroundFraction * 100).toFixed(3)}%, interval ${m.interval ?? 'outside'})${m.emptyGt ? '  [empty ground truth]' : ''}${m.emptyPred ? '  [empty prediction]' : ''}`);
}

function listImages(dir: string, flag: string): Map<string, string> {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new Error('not a directory');
    names = readdirSync(dir);
  } catch (e) {
    throw new Error(`metrics: ${flag} '${dir}' cannot be listed: ${(e as Error).message.split('\n')[0]}`, { cause: e });
  }
  const out = new Map<string, string>();
  for (const n of names.sort()) {
    const ext = extname(n).toLowerCase();
    if (!IMAGE_EXT.has(ext)) continue;
    const stem = basename(n, extname(n));
    if (out.has(stem)) throw new Error(`metrics: ${flag} '${dir}' holds two images named '${stem}' (${basename(out.get(stem)!)} and ${n}); names must pair one to one`);
    out.set(stem, join(dir, n));
  }
  return out;
}

function pairFiles(o: MetricsRun): Array<{ id: string; pred: string; gt: string }> {
  const preds = listImages(o.predDir!, '--pred-dir');
  const gtsRaw = listImages(o.gtDir!, '--gt-dir');
  const gts = new Map<string, string>();
  for (const [stem, file] of gtsRaw) {
    if (o.gtSuffix && !stem.endsWith(o.gtSuffix)) continue; // e.g. BUSI images next to their masks
    const id = o.gtSuffix ? stem.slice(0, -o.gtSuffix.length) : stem;
    gts.set(id, file);
  }
  if (preds.size === 0) throw new Error(`metrics: --pred-dir '${o.predDir}' holds no images (${[...IMAGE_EXT].join(', ')})`);
  const noGt = [...preds.keys()].filter((k) => !gts.has(k));
  const noPred = [...gts.keys()].filter((k) => !preds.has(k));
  if (noGt.length > 0 || noPred.length > 0) {
    const list = (v: string[], m: Map<string, string>) => v.slice(0, 10).map((k) => `'${basename(m.get(k)!)}'`).join(', ') + (v.length > 10 ? `, ... (${v.length} in all)` : '');
    const parts = [];
    if (noGt.length > 0) parts.push(`${noGt.length} prediction(s) without a ground truth in '${o.gtDir}'${o.gtSuffix ? ` (looking for <name>${o.gtSuffix}.<ext>)` : ''}: ${list(noGt, preds)}`);
    if (noPred.length > 0) parts.push(`${noPred.length} ground truth(s) without a prediction in '${o.predDir}': ${list(noPred, gts)}`);
    throw new Error(`metrics: unpaired files: ${parts.join('; ')}`);
  }
  return [...preds.keys()].map((id) => ({ id, pred: preds.get(id)!, gt: gts.get(id)! }));
}

async function runDirs(o: MetricsRun): Promise<void> {
  const { buildComparisonTable, renderTable, resolveIntervalEdges } = await import('@mrlseg/metrics');
  const pairs = pairFiles(o);
  const bar = !o.json && process.stderr.isTTY && pairs.length > 20 ? new cliProgress.SingleBar({ stream: process.stderr, format: 'metrics |{bar}| {value}/{total} cases | ETA {eta_formatted}' }, cliProgress.Presets.shades_classic) : null;
  bar?.start(pairs.length, 0);
  const rows: Array<{ case: string; pred: string; gt: string; width: number; height: number; m: SegmentationMetrics }> = [];
  try {
    for (const p of pairs) {
      const pred = await readMask(p.pred, o.threshold, 'prediction');
      const gt = await readMask(p.gt, o.threshold, 'ground-truth');
      rows.push({ case: p.id, pred: p.pred, gt: p.gt, width: gt.width, height: gt.height, m: await metricsOf(pred, gt, p.pred, p.gt, o) });
      bar?.increment(1);
    }
  } finally {
    bar?.stop();
  }
  const table = buildComparisonTable(
    TABLE_METRICS.map((k) => ({ label: k, cases: rows.map((r) => ({ caseId: r.case, fbRatio: r.m.fbRatio, value: r.m[k] })) })),
    { intervals: o.intervals, rowHeader: 'Metric', digits: 4, title: `${rows.length} case(s), mean±std per fbRatio interval of the ground truth` },
  );
  const empties = {
    emptyGt: rows.filter((r) => r.m.emptyGt).length,
    emptyPred: rows.filter((r) => r.m.emptyPred).length,
    outside: rows.filter((r) => r.m.interval === null).length,
  };
  if (o.json) {
    console.log(
      toJson({
        cases: rows.map((r) => ({ case: r.case, pred: r.pred, gt: r.gt, width: r.width, height: r.height, ...caseRow(r.m) })),
        intervals: { edges: resolveIntervalEdges(o.intervals) },
        counts: { cases: rows.length, ...empties },
        table,
      }),
    );
    return;
  }
  const f = (v: number | null, d = 4) => (v === null ? '-' : v.toFixed(d));
  console.log('| case | Dice | IoU | HD | HD95 | ASSD | NSD | fbRatio | interval | empty |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---|---|');
  for (const r of rows) {
    const m = r.m;
    const empty = [m.emptyGt ? 'gt' : '', m.emptyPred ? 'pred' : ''].filter(Boolean).join('+');
    console.log(`| ${r.case.replace(/\|/g, '\\|')} | ${f(m.dice)} | ${f(m.iou)} | ${f(m.hd, 3)} | ${f(m.hd95, 3)} | ${f(m.assd, 3)} | ${f(m.nsd)} | ${m.fbRatio.toFixed(6)} | ${m.interval ?? 'outside'} | ${empty} |`);
  }
  console.log('');
  console.log(renderTable(table, o.format).trimEnd());
  console.log('');
  console.log(`empty ground truth: ${empties.emptyGt}, empty prediction: ${empties.emptyPred}, fbRatio outside the intervals: ${empties.outside}`);
}

export function register(program: Command): void {
  program
    .command('metrics')
    .description('Dice, IoU, precision, recall, HD, HD95, ASSD and NSD of predicted masks against ground truth (one pair, or two folders paired by file name)')
    .option('--pred <file>', 'predicted mask image (PNG, JPEG, TIFF, WebP)')
    .option('--gt <file>', 'ground-truth mask image')
    .option('--pred-dir <dir>', 'folder of predicted masks (paired with --gt-dir by file name without extension)')
    .option('--gt-dir <dir>', 'folder of ground-truth masks')
    .option('--gt-suffix <suffix>', "ground-truth names are <name><suffix>.<ext> (e.g. '_mask' for BUSI); other files in --gt-dir are ignored", '')
    .option('--threshold <n>', 'grey value above which a pixel is foreground', parseThreshold, 127)
    .option('--spacing <sx,sy>', 'pixel spacing (x within a row, y down a column); distances are then in its units', parseSpacing)
    .option('--nsd-tolerance <t>', 'normalised surface Dice tolerance, in pixels or spacing units', parseTolerance, 1)
    .option('--hd95 <convention>', `HD95 convention (${HD95_CONVENTIONS.join('|')}): per-direction 95th percentile then max (MONAI), or both directions pooled (medpy)`, oneOf('hd95', HD95_CONVENTIONS), 'directed')
    .option('--empty-both <how>', 'two empty masks: undefined (null metrics) or perfect (Dice 1, HD 0)', oneOf('empty-both', ['undefined', 'perfect'] as const), 'undefined')
    .option('--intervals <spec>', 'fbRatio intervals: ct (0-2..8-10%), busi (0-10..50-60%) or percentages e1,e2,...', 'ct')
    .option('--format <fmt>', `interval table format for folders (${TABLE_FORMATS.join('|')})`, oneOf('format', TABLE_FORMATS), 'md')
    .option('--json', 'print one JSON object')
    .action(async (flags: MetricsCliOptions) => {
      const o: MetricsRun = { ...flags, intervals: await parseIntervals(flags.intervals) };
      const pair = o.pred !== undefined || o.gt !== undefined;
      const dirs = o.predDir !== undefined || o.gtDir !== undefined;
      if (pair && dirs) throw new Error('metrics: use either --pred/--gt or --pred-dir/--gt-dir, not both');
      if (pair) {
        if (o.pred === undefined || o.gt === undefined) throw new Error('metrics: --pred and --gt must be given together');
        await runPair(o);
      } else if (dirs) {
        if (o.predDir === undefined || o.gtDir === undefined) throw new Error('metrics: --pred-dir and --gt-dir must be given together');
        await runDirs(o);
      } else {
        throw new Error('metrics: give --pred A.png --gt B.png, or --pred-dir and --gt-dir');
      }
    });
}
