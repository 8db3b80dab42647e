/**
 * `mrlseg metrics` end to end, plus the accuracy check of @mrlseg/metrics on real lesion masks
 * (BUSI, ../shared/data) against two independent implementations: a brute-force O(n m) boundary
 * Hausdorff written below, and, where Debian's /usr/bin/python3 has SciPy, scipy.ndimage's exact
 * EDT used the way MONAI and medpy use it. Both skip with a message when their inputs are absent.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { encodeGreyPng, readBinaryMask } from '@mrlseg/data';
import { computeSegmentationMetrics, computeSurfaceDistances, hausdorffPercentileFromDistances } from '@mrlseg/metrics';
import { register } from '../src/commands/metrics';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..', '..', '..');
const bin = join(here, '..', 'bin', 'mrlseg.mjs');
const sharedData = process.env.MRLSEG_SHARED_DATA ?? join(repoRoot, '..', 'shared', 'data');
const run = promisify(execFile);

const W = 12;
const H = 10;
const rect = (x0: number, y0: number, w: number, h: number, width = W, height = H) => {
  const m = new Uint8Array(width * height);
  for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) m[y * width + x] = 1;
  return m;
};

let dir: string;
const png = async (name: string, mask: Uint8Array, width = W, height = H) => {
  const file = join(dir, name);
  writeFileSync(file, await encodeGreyPng(mask, width, height, { binary: true }));
  return file;
};

/** Runs `mrlseg metrics ...` in-process with only this command registered; returns stdout lines. */
async function cli(args: string[]): Promise<string[]> {
  const program = new Command('mrlseg').exitOverride();
  register(program);
  const out: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  try {
    await program.parseAsync(['node', 'mrlseg', 'metrics', ...args]);
  } finally {
    spy.mockRestore();
  }
  return out;
}

// The real binary takes seconds to boot: its two processes start here and run while the other tests do.
let binResults: Promise<[PromiseSettledResult<{ stdout: string }>, PromiseSettledResult<{ stdout: string }>]>;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mrlseg-metrics-cli-'));
  const pred = await png('bin-pred.png', rect(2, 2, 3, 3));
  const gt = await png('bin-gt.png', rect(3, 2, 3, 3));
  const small = await png('bin-small.png', rect(0, 0, 2, 2, 4, 3), 4, 3);
  binResults = Promise.allSettled([
    run(process.execPath, [bin, 'metrics', '--pred', pred, '--gt', gt, '--json']),
    run(process.execPath, [bin, 'metrics', '--pred', small, '--gt', gt, '--json']),
  ]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('mrlseg metrics --pred --gt', () => {
  it('prints one JSON object with the hand-worked metrics of two 3x3 squares shifted by one pixel', async () => {
    const pred = await png('shift-pred.png', rect(2, 2, 3, 3));
    const gt = await png('shift-gt.png', rect(3, 2, 3, 3));
    const lines = await cli(['--pred', pred, '--gt', gt, '--json']);
    expect(lines).toHaveLength(1);
    const r = JSON.parse(lines[0]);
    // Dice 2 * 6 / 18; boundaries are the 8-px rings, half of each 1 px off the other: ASSD 0.5;
    // fbRatio 9 / 111 = 8.1 % lies in the default CT interval 8-10 %.
    expect(r).toMatchObject({ width: W, height: H, iou: 0.5, hd: 1, hd95: 1, assd: 0.5, nsd: 1, emptyGt: false, emptyPred: false, interval: '8-10%' });
    expect(r.dice).toBeCloseTo(2 / 3, 12);
    expect(r.fbRatio).toBeCloseTo(9 / 111, 12);
  });

  it('honours --spacing, --threshold and --nsd-tolerance, and flags an empty ground truth', async () => {
    const a = await png('px-a.png', rect(1, 1, 1, 1));
    const b = await png('px-b.png', rect(4, 5, 1, 1));
    const r = JSON.parse((await cli(['--pred', a, '--gt', b, '--spacing', '0.5,2', '--nsd-tolerance', '9', '--json']))[0]);
    expect(r.hd).toBeCloseTo(Math.sqrt(1.5 ** 2 + 8 ** 2), 12);
    expect(r.nsd).toBe(1);
    expect(r.spacing).toEqual([0.5, 2]);
    const empty = await png('empty.png', new Uint8Array(W * H));
    const e = JSON.parse((await cli(['--pred', a, '--gt', empty, '--json']))[0]);
    expect(e).toMatchObject({ dice: 0, recall: null, hd: null, hd95: null, assd: null, nsd: 0, fbRatio: 0, emptyGt: true, emptyPred: false });
    // Grey 100 is background at the default threshold 127, foreground at --threshold 50.
    const grey = join(dir, 'grey.png');
    writeFileSync(grey, await encodeGreyPng(new Uint8Array(W * H).fill(100), W, H));
    expect(JSON.parse((await cli(['--pred', grey, '--gt', grey, '--json']))[0]).emptyGt).toBe(true);
    expect(JSON.parse((await cli(['--pred', grey, '--gt', grey, '--threshold', '50', '--json']))[0]).dice).toBe(1);
  });

  it.each([
    ['different sizes', async () => ['--pred', await png('small.png', rect(0, 0, 2, 2, 4, 3), 4, 3), '--gt', await png('big.png', rect(0, 0, 2, 2))], /masks differ in size: prediction '.*small\.png' is 4x3, ground truth '.*big\.png' is 12x10/],
    ['an unreadable file', async () => {
      const bad = join(dir, 'broken.png');
      writeFileSync(bad, 'not an image');
      return ['--pred', bad, '--gt', await png('ok.png', rect(0, 0, 2, 2))];
    }, /cannot read prediction mask: cannot decode image '.*broken\.png'/],
    ['a missing file', async () => ['--pred', join(dir, 'nope.png'), '--gt', join(dir, 'nope2.png')], /cannot read prediction mask: cannot decode image '.*nope\.png'/],
    ['--pred without --gt', async () => ['--pred', 'a.png'], /--pred and --gt must be given together/],
    ['a bad --spacing', async () => ['--pred', 'a.png', '--gt', 'b.png', '--spacing', '1'], /--spacing must be 'sx,sy' with two positive numbers, got '1'/],
    ['a bad --intervals', async () => ['--pred-dir', dir, '--gt-dir', dir, '--intervals', '5,2'], /--intervals must be ct, busi or increasing percentages.*strictly increasing/],
  ])('rejects %s with a message naming it', async (_name, args, msg) => {
    await expect(cli(await args())).rejects.toThrow(msg);
  });
});

describe('mrlseg metrics --pred-dir --gt-dir', () => {
  let pd: string;
  let gd: string;
  beforeAll(async () => {
    pd = mkdtempSync(join(dir, 'pred-'));
    gd = mkdtempSync(join(dir, 'gt-'));
    const put = async (d: string, name: string, m: Uint8Array) => writeFileSync(join(d, name), await encodeGreyPng(m, W, H, { binary: true }));
    // case a: 2 px GT (fbRatio 2/118 in 0-2%), perfect prediction; case b: 9 px GT (9/111 = 8.1%), shifted by one.
    await put(pd, 'a.png', rect(0, 0, 1, 2));
    await put(gd, 'a_mask.png', rect(0, 0, 1, 2));
    await put(pd, 'b.png', rect(2, 2, 3, 3));
    await put(gd, 'b_mask.png', rect(3, 2, 3, 3));
    await put(gd, 'b.png', rect(0, 0, 12, 10)); // an image next to its mask: ignored with --gt-suffix
    writeFileSync(join(pd, 'notes.txt'), 'not an image');
  });

  it('pairs files by name, prints per-case rows and the interval table (JSON)', async () => {
    const r = JSON.parse((await cli(['--pred-dir', pd, '--gt-dir', gd, '--gt-suffix', '_mask', '--intervals', 'ct', '--json']))[0]);
    expect(r.cases.map((c: { case: string }) => c.case)).toEqual(['a', 'b']);
    expect(r.cases[0]).toMatchObject({ dice: 1, hd: 0, interval: '0-2%' });
    expect(r.cases[1]).toMatchObject({ hd: 1, assd: 0.5, interval: '8-10%' });
    expect(r.table.columns).toEqual(['0-2%', '2-4%', '4-6%', '6-8%', '8-10%', 'Avg']);
    const dice = r.table.rows.find((x: { label: string }) => x.label === 'dice');
    expect(dice.cells[5].mean).toBeCloseTo((1 + 2 / 3) / 2, 12);
    expect(dice.cells[0].text).toBe('1.0000');
    expect(r.counts).toEqual({ cases: 2, emptyGt: 0, emptyPred: 0, outside: 0 });
  });

  it('prints a Markdown case list and table, or the table as LaTeX', async () => {
    const md = (await cli(['--pred-dir', pd, '--gt-dir', gd, '--gt-suffix', '_mask', '--intervals', '0,5,10'])).join('\n');
    expect(md).toContain('| case | Dice | IoU | HD | HD95 | ASSD | NSD | fbRatio | interval | empty |');
    expect(md).toMatch(/\| b \| 0\.6667 \| 0\.5000 \| 1\.000 \| 1\.000 \| 0\.500 \| 1\.0000 \| 0\.081081 \| 5-10% \|/);
    expect(md).toContain('| Metric | 0-5% | 5-10% | Avg |');
    const tex = (await cli(['--pred-dir', pd, '--gt-dir', gd, '--gt-suffix', '_mask', '--format', 'latex'])).join('\n');
    expect(tex).toContain('\\begin{tabular}');
  });

  it('names unpaired files', async () => {
    await expect(cli(['--pred-dir', pd, '--gt-dir', gd])).rejects.toThrow(/unpaired files: 1 prediction\(s\) without a ground truth in '.*': 'a\.png'; 2 ground truth\(s\) without a prediction in '.*': 'a_mask\.png', 'b_mask\.png'/);
    await expect(cli(['--pred-dir', join(dir, 'nowhere'), '--gt-dir', gd])).rejects.toThrow(/--pred-dir '.*nowhere' cannot be listed/);
  });
});

// ---- Accuracy on real lesion masks ------------------------------------------------------------

/** Boundary pixels as flat coordinate arrays: foreground with a 4-neighbour outside the mask or the image. */
function boundaryPoints(m: Uint8Array, w: number, h: number): { xs: Int32Array; ys: Int32Array } {
  const at = (x: number, y: number) => (x < 0 || y < 0 || x >= w || y >= h ? 0 : m[y * w + x]);
  const xs: number[] = [];
  const ys: number[] = [];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (at(x, y) && (!at(x - 1, y) || !at(x + 1, y) || !at(x, y - 1) || !at(x, y + 1))) {
        xs.push(x);
        ys.push(y);
      }
    }
  }
  return { xs: Int32Array.from(xs), ys: Int32Array.from(ys) };
}
/** O(n m) distance from each point of `from` to the nearest point of `to`. */
function directed(from: { xs: Int32Array; ys: Int32Array }, to: { xs: Int32Array; ys: Int32Array }): number[] {
  const out: number[] = [];
  for (let i = 0; i < from.xs.length; i++) {
    const x = from.xs[i];
    const y = from.ys[i];
    let best = Infinity;
    for (let j = 0; j < to.xs.length; j++) {
      const dx = x - to.xs[j];
      const dy = y - to.ys[j];
      const d = dx * dx + dy * dy;
      if (d < best) best = d;
    }
    out.push(Math.sqrt(best));
  }
  return out;
}
function pct95(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const h = (s.length - 1) * 0.95;
  const i = Math.floor(h);
  return i + 1 < s.length ? s[i] + (h - i) * (s[i + 1] - s[i]) : s[i];
}
function bruteDice(p: Uint8Array, g: Uint8Array): number {
  let inter = 0;
  let sp = 0;
  let sg = 0;
  for (let i = 0; i < p.length; i++) {
    inter += p[i] & g[i];
    sp += p[i];
    sg += g[i];
  }
  return (2 * inter) / (sp + sg);
}
/** A realistic "prediction": the ground truth shifted by (dx, dy) with a block added off its edge. */
function perturb(g: Uint8Array, w: number, h: number, dx: number, dy: number): Uint8Array {
  const p = new Uint8Array(w * h);
  let x0 = w;
  let y0 = h;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const sx = x - dx;
      const sy = y - dy;
      if (sx >= 0 && sy >= 0 && sx < w && sy < h && g[sy * w + sx]) {
        p[y * w + x] = 1;
        if (x < x0) x0 = x;
        if (y < y0) y0 = y;
      }
    }
  }
  for (let y = Math.max(0, y0 - 6); y < Math.min(h, y0 + 3); y++) for (let x = Math.max(0, x0 - 6); x < Math.min(w, x0 + 3); x++) p[y * w + x] = 1;
  return p;
}

const busi = join(sharedData, 'busi');
const haveBusi = existsSync(busi);
if (!haveBusi) console.warn(`metrics accuracy on BUSI skipped: ${busi} not found (set MRLSEG_SHARED_DATA to the shared data folder)`);

describe.runIf(haveBusi)('accuracy on BUSI lesion masks (../shared/data/busi)', () => {
  const cases: Array<{ id: string; w: number; h: number; gt: Uint8Array; pred: Uint8Array }> = [];
  beforeAll(async () => {
    const files = ['benign', 'malignant'].flatMap((cls) =>
      readdirSync(join(busi, cls))
        .filter((f) => /_mask\.png$/.test(f))
        .sort()
        .map((f) => join(busi, cls, f)),
    );
    const union = async (f: string) => {
      const m = await readBinaryMask(f);
      const extra = f.replace(/_mask\.png$/, '_mask_1.png');
      if (existsSync(extra)) {
        const m1 = await readBinaryMask(extra);
        for (let i = 0; i < m.data.length; i++) m.data[i] |= m1.data[i]; // second lesion: union
      }
      return m;
    };
    const masks = await Promise.all(files.map(union)); // sharp decodes on its thread pool
    masks.forEach((m, k) => {
      const dx = (k % 9) - 4;
      const dy = ((k * 7) % 9) - 4;
      cases.push({ id: files[k].slice(busi.length + 1), w: m.width, h: m.height, gt: m.data, pred: perturb(m.data, m.width, m.height, dx, dy) });
    });
  }, 120_000);

  // The O(n m) reference costs seconds: every sixth case by default, all of them with MRLSEG_LONG_TESTS=1.
  const long = process.env.MRLSEG_LONG_TESTS === '1';
  it(`Dice to 1e-6 and HD / HD95 (directed and pooled) to 1e-3 px against brute force (${long ? 'every case' : 'every sixth case'})`, () => {
    expect(cases.length).toBeGreaterThanOrEqual(100);
    for (const c of cases.filter((_, i) => long || i % 6 === 0)) {
      const m = computeSegmentationMetrics(c.pred, c.gt, { width: c.w, height: c.h });
      const pooled = { hd95: hausdorffPercentileFromDistances(computeSurfaceDistances(c.pred, c.gt, c.w, c.h), 95, 'pooled') };
      const bp = boundaryPoints(c.pred, c.w, c.h);
      const bg = boundaryPoints(c.gt, c.w, c.h);
      const pg = directed(bp, bg);
      const gp = directed(bg, bp);
      expect(Math.abs(m.dice! - bruteDice(c.pred, c.gt)), c.id).toBeLessThan(1e-6);
      expect(Math.abs(m.hd! - Math.max(...pg, ...gp)), c.id).toBeLessThan(1e-3);
      expect(Math.abs(m.hd95! - Math.max(pct95(pg), pct95(gp))), c.id).toBeLessThan(1e-3);
      expect(Math.abs(pooled.hd95! - pct95([...pg, ...gp])), c.id).toBeLessThan(1e-3);
    }
  });

  const py = '/usr/bin/python3';
  let haveScipy = false;
  try {
    execFileSync(py, ['-c', 'import scipy.ndimage, numpy'], { stdio: 'ignore' });
    haveScipy = true;
  } catch {
    console.warn('SciPy cross-check skipped: /usr/bin/python3 with scipy and numpy not available');
  }
  it.runIf(haveScipy)('agrees with scipy.ndimage.distance_transform_edt used as MONAI (directed HD95) and medpy (pooled) do', () => {
    const pick = cases.filter((_, i) => i % 15 === 5);
    const tmp = mkdtempSync(join(dir, 'scipy-'));
    pick.forEach((c, i) => {
      writeFileSync(join(tmp, `${i}-p.raw`), c.pred);
      writeFileSync(join(tmp, `${i}-g.raw`), c.gt);
    });
    const script = `
import json, sys, numpy as np
from scipy.ndimage import binary_erosion, distance_transform_edt, generate_binary_structure
out = []
for i, (w, h) in enumerate(json.loads(sys.argv[2])):
    p = np.fromfile(f"{sys.argv[1]}/{i}-p.raw", dtype=np.uint8).reshape(h, w).astype(bool)
    g = np.fromfile(f"{sys.argv[1]}/{i}-g.raw", dtype=np.uint8).reshape(h, w).astype(bool)
    fp = generate_binary_structure(2, 1)
    bp = p ^ binary_erosion(p, structure=fp, iterations=1)
    bg = g ^ binary_erosion(g, structure=fp, iterations=1)
    pg = distance_transform_edt(~bg)[bp]
    gp = distance_transform_edt(~bp)[bg]
    out.append(dict(dice=2 * (p & g).sum() / (p.sum() + g.sum()), hd=max(pg.max(), gp.max()),
                    hd95=max(np.percentile(pg, 95), np.percentile(gp, 95)), hd95pooled=np.percentile(np.hstack((pg, gp)), 95)))
print(json.dumps(out))
`;
    const ref = JSON.parse(execFileSync(py, ['-c', script, tmp, JSON.stringify(pick.map((c) => [c.w, c.h]))], { encoding: 'utf8' })) as Array<Record<string, number>>;
    expect(ref).toHaveLength(pick.length);
    pick.forEach((c, i) => {
      const m = computeSegmentationMetrics(c.pred, c.gt, { width: c.w, height: c.h });
      const pooled = { hd95: hausdorffPercentileFromDistances(computeSurfaceDistances(c.pred, c.gt, c.w, c.h), 95, 'pooled') };
      expect(Math.abs(m.dice! - ref[i].dice), c.id).toBeLessThan(1e-6);
      expect(Math.abs(m.hd! - ref[i].hd), c.id).toBeLessThan(1e-3);
      expect(Math.abs(m.hd95! - ref[i].hd95), c.id).toBeLessThan(1e-3);
      expect(Math.abs(pooled.hd95! - ref[i].hd95pooled), c.id).toBeLessThan(1e-3);
    });
  });
});

describe('mrlseg metrics via the real binary', () => {
  it('prints JSON on success and exits non-zero with a message on mismatched sizes', async () => {
    const [ok, bad] = await binResults;
    expect(ok.status).toBe('fulfilled');
    const r = JSON.parse((ok as PromiseFulfilledResult<{ stdout: string }>).value.stdout.trim());
    for (const k of ['dice', 'iou', 'hd', 'hd95', 'assd', 'nsd', 'fbRatio', 'emptyGt', 'emptyPred']) expect(r).toHaveProperty(k);
    expect(r.dice).toBeCloseTo(2 / 3, 12);
    expect(bad.status).toBe('rejected');
    const err = (bad as PromiseRejectedResult).reason as { code: number; stderr: string };
    expect(err.code).not.toBe(0);
    expect(err.stderr).toMatch(/mrlseg: metrics: masks differ in size: prediction '.*bin-small\.png' is 4x3, ground truth '.*bin-gt\.png' is 12x10/);
  });
});
