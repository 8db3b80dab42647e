// @vitest-environment node
/**
 * End to end in headless Chromium (Debian's /usr/bin/chromium through playwright-core) against the
 * real evaluation API serving a store made by a short real run of the experiments pipeline:
 * the tables show the variants, a case view shows the three overlays, an upload is segmented in
 * the browser. Screenshots go to apps/viewer/test-artifacts/ (git-ignored).
 *
 * The store and the API are other projects: this test drives them as child processes (a generated
 * script under test-artifacts/ for the pipeline, `mrlseg-api` for the server), so the viewer itself
 * never imports Node-side code. The store is reused between runs while `ready.json` matches the
 * script (MRLSEG_E2E_FRESH=1 rebuilds it).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CHROMIUM = '/usr/bin/chromium';
const VIEWER = resolve(import.meta.dirname, '..');
const ROOT = resolve(VIEWER, '..', '..');
const ARTIFACTS = join(VIEWER, 'test-artifacts');
const STORE = join(ARTIFACTS, 'e2e-store');
const hasChromium = existsSync(CHROMIUM);
/** Waits sized for a loaded 2-core machine (the API answers slowly when other suites run). */
const SLOW = { timeout: 30_000, interval: 200 };
if (!hasChromium) console.warn(`viewer e2e: skipped, ${CHROMIUM} is absent (apt-get install chromium to run it)`);

/** A tiny real experiment: 8 synthetic 32 px slices, fold 0 of 2, 1 epoch pre-training + 1 RL epoch, three ablation variants. */
const MAKE_STORE = `
import { exportRunOnnx, openStore, runExperiment } from '@mrlseg/experiments';
import { usePortableBackend } from '@mrlseg/models';
import { ExperimentConfigSchema } from '@mrlseg/types';
const dir = process.argv[2];
await usePortableBackend('wasm');
const cfg = ExperimentConfigSchema.parse({
  name: 'viewer-e2e',
  dataset: { format: 'synthetic', synthetic: { count: 8, slicesPerPatient: 2, size: 32, seed: 1 } },
  preprocessing: { size: 32, augmentation: { enabled: false } },
  model: { segNet: { channels: [4, 8, 8, 8], hidden: 8, layers: 1, heads: 1, mlp: 8, decoderChannels: [8, 8, 4, 4] } },
  rl: { episodeLength: 2 },
  training: { epochs: 1, batchSize: 4, rlEpochs: 1, rlBatchSize: 4, select: 'last' }, // 'last': the Try-it test needs the RL run's agent in its ONNX export
  folds: { k: 2, only: [0] },
  variants: ['onlyseg', 'rl-seg', 'rl-fb-adp-seg'],
});
const store = await openStore(dir);
const res = await runExperiment(cfg, { store, backend: 'wasm', repoDir: process.cwd() });
for (const o of res.runs) if (o.status === 'completed') await exportRunOnnx(store, o.runId, dir + '/' + o.runId + '.onnx');
await store.close();
console.log(JSON.stringify({ experimentId: res.experimentId, runs: res.runs.map((r) => ({ id: r.runId, variant: r.plan.variant, status: r.status })) }));
`;

interface StoreInfo {
  hash: string;
  experimentId: string;
  runs: { id: string; variant: string; status: string }[];
}

function ensureStore(): StoreInfo {
  const hash = createHash('sha256').update(MAKE_STORE).digest('hex').slice(0, 16);
  const marker = join(STORE, 'ready.json');
  if (!process.env.MRLSEG_E2E_FRESH && existsSync(marker)) {
    const info = JSON.parse(readFileSync(marker, 'utf8')) as StoreInfo;
    if (info.hash === hash) return info;
  }
  rmSync(STORE, { recursive: true, force: true });
  mkdirSync(STORE, { recursive: true });
  const script = join(ARTIFACTS, 'make-store.mts');
  writeFileSync(script, MAKE_STORE);
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, STORE], { cwd: VIEWER, encoding: 'utf8', timeout: 240_000 });
  if (r.status !== 0) throw new Error(`viewer e2e: making the store failed (exit ${r.status}):\n${r.stderr.slice(-3000)}`);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as Omit<StoreInfo, 'hash'>;
  const info = { hash, ...out };
  writeFileSync(marker, JSON.stringify(info));
  return info;
}

/** Newest modification time under `dir` (ms). */
function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** Builds the viewer when dist/ is missing or older than the sources. */
function ensureViewerBuilt(): void {
  const index = join(VIEWER, 'dist', 'index.html');
  if (existsSync(index) && statSync(index).mtimeMs >= Math.max(newest(join(VIEWER, 'src')), statSync(join(VIEWER, 'index.html')).mtimeMs)) return;
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build'], { cwd: VIEWER, encoding: 'utf8', timeout: 180_000 });
  if (r.status !== 0) throw new Error(`viewer e2e: vite build failed:\n${r.stdout.slice(-2000)}${r.stderr.slice(-2000)}`);
}

const API_BIN = join(ROOT, 'apps', 'eval-api', 'bin', 'mrlseg-api.mjs');
const MRLSEG_BIN = join(ROOT, 'apps', 'trainer', 'bin', 'mrlseg.mjs');

/**
 * A throwaway PostgreSQL for the team-store test, as a child process (@mrlseg/test-servers), like
 * the store and the API: `check` prints why none can start here (null: one can; with
 * MRLSEG_REQUIRE_SERVERS=1 a missing server exits non-zero instead); otherwise it prints the URL of
 * a fresh database and stops the server when its stdin closes.
 */
const PG_SERVER = `
import { postgresUnavailable, startPostgres } from '@mrlseg/test-servers';
const why = postgresUnavailable();
if (process.argv[2] === 'check') {
  console.log(JSON.stringify(why));
} else {
  const pg = await startPostgres();
  console.log(JSON.stringify({ url: await pg.createDatabase('viewer_e2e'), port: pg.port }));
  process.stdin.on('end', () => pg.stop().then(() => process.exit(0)));
  process.stdin.resume();
}
`;
const PG_SCRIPT = join(ARTIFACTS, 'pg-server.mts');

function postgresMissing(): string | null {
  if (!hasChromium) return 'no chromium';
  mkdirSync(ARTIFACTS, { recursive: true });
  writeFileSync(PG_SCRIPT, PG_SERVER);
  const r = spawnSync(process.execPath, ['--import', 'tsx', PG_SCRIPT, 'check'], { cwd: VIEWER, encoding: 'utf8', timeout: 60_000 });
  // MRLSEG_REQUIRE_SERVERS=1 (CI) and no server: this file fails instead of skipping
  if (r.status !== 0) throw new Error(`viewer e2e: ${r.stderr.trim().split('\n').find((l) => /PostgreSQL|Error/.test(l)) ?? r.stderr.slice(-500)}`);
  const why = JSON.parse(r.stdout.trim()) as string | null;
  if (why) console.warn(`viewer e2e: the PostgreSQL test skipped: ${why}`);
  return why;
}
const pgMissing = postgresMissing();

function startPostgresChild(): Promise<{ proc: ChildProcess; url: string; port: number }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', PG_SCRIPT], { cwd: VIEWER, stdio: ['pipe', 'pipe', 'pipe'] });
  return new Promise((resolveUrl, reject) => {
    let out = '';
    let err = '';
    proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolveUrl({ proc, ...(JSON.parse(out.split('\n')[0]) as { url: string; port: number }) });
    });
    proc.on('exit', (code) => reject(new Error(`viewer e2e: the PostgreSQL helper exited with ${code}:\n${err}`)));
  });
}

function startApi(extra: string[] = [], store: string[] = ['--store', STORE]): Promise<{ proc: ChildProcess; url: string }> {
  const proc = spawn(process.execPath, [API_BIN, ...store, '--port', '0', '--host', '127.0.0.1', '--viewer', join(VIEWER, 'dist'), '--log-level', 'warn', ...extra], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolveUrl, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`viewer e2e: mrlseg-api did not start within 60 s:\n${err}`)), 60_000);
    proc.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolveUrl({ proc, url: m[1] });
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`viewer e2e: mrlseg-api exited with ${code}:\n${err}`));
    });
  });
}

describe.skipIf(!hasChromium)('viewer in headless Chromium against the real API', () => {
  let api: { proc: ChildProcess; url: string };
  let browser: BrowserContext;
  let page: Page;
  let info: StoreInfo;
  const pageErrors: string[] = [];
  const userDir = join(ARTIFACTS, `chromium-profile-${process.pid}`);

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    ensureViewerBuilt();
    info = ensureStore();
    rmSync(userDir, { recursive: true, force: true });
    // A fresh profile (playwright passes it as --user-data-dir); Chromium starts while the API does.
    [api, browser] = await Promise.all([startApi(), chromium.launchPersistentContext(userDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1280, height: 900 },
    })]);
    page = browser.pages()[0] ?? (await browser.newPage());
    page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(`console: ${m.text()} (${m.location().url})`);
    });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    api?.proc.kill('SIGTERM');
    rmSync(userDir, { recursive: true, force: true });
  });

  it('lists the runs of the store', async () => {
    expect(info.runs.map((r) => r.status)).toEqual(['completed', 'completed', 'completed']);
    await page.goto(`${api.url}/?view=runs`);
    const rows = page.getByRole('table', { name: 'runs' }).locator('tbody tr');
    await expect.poll(() => rows.count(), SLOW).toBe(3);
    const text = await rows.allInnerTexts();
    for (const v of ['OnlySeg', 'RL+Seg', 'RL+FB+ADP+Seg']) expect(text.join('\n')).toContain(v);
    expect(text.join('\n')).toContain('completed');
    await page.screenshot({ path: join(ARTIFACTS, 'runs-1280.png'), fullPage: true });
    // side by side: tick two runs and compare
    await page.getByLabel(`compare ${info.runs[0].id}`).check();
    await page.getByLabel(`compare ${info.runs[2].id}`).check();
    await page.getByRole('button', { name: /Compare 2 selected/ }).click();
    const dice = page.getByRole('table', { name: /Dice \(%\) at various/ });
    await dice.waitFor({ timeout: 30_000 });
    expect(await dice.locator('tbody th').allInnerTexts()).toEqual(['OnlySeg · fold 0 · seed 0', 'RL+FB+ADP+Seg · fold 0 · seed 0']);
    await page.screenshot({ path: join(ARTIFACTS, 'compare-1280.png'), fullPage: true });
  });

  it("leads with results: the landing page shows each run's mean Dice, the Cases tab an image without a click", async () => {
    const res = await fetch(`${api.url}/api/v1/runs`);
    const runs = ((await res.json()) as { items: { id: string; summary: { meanDice: number | null; cases: number } | null }[] }).items;
    expect(runs).toHaveLength(3);
    await page.goto(`${api.url}/`);
    const table = page.getByRole('table', { name: 'runs' });
    await expect.poll(() => table.locator('tbody tr').count(), SLOW).toBe(3);
    const rows = await table.locator('tbody tr').allInnerTexts();
    for (const r of runs) {
      expect(r.summary?.meanDice).toEqual(expect.any(Number));
      expect(rows.join('\n')).toContain(`${r.summary!.meanDice!.toFixed(4)} n=`);
    }
    // best first: the rows' order is the runs' order by mean Dice, descending
    const byDice = [...runs].sort((a, b) => b.summary!.meanDice! - a.summary!.meanDice!);
    expect(await table.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-run')))).toEqual(byDice.map((r) => r.id));
    await page.screenshot({ path: join(ARTIFACTS, 'landing-1280.png'), fullPage: true });
    // the Cases tab opened from a link without a run: the best run's first case, drawn
    await page.goto(`${api.url}/?view=cases`);
    const canvas = page.getByTestId('case-canvas');
    await expect.poll(() => canvas.count(), SLOW).toBe(1);
    expect(await page.getByLabel('run', { exact: true }).inputValue()).toBe(byDice[0].id);
    const lit = () =>
      canvas.evaluate((c: HTMLCanvasElement) => {
        const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4) if (d[i] + d[i + 1] + d[i + 2] > 0) n++;
        return n;
      });
    await expect.poll(lit, SLOW).toBeGreaterThan(0);
    await page.screenshot({ path: join(ARTIFACTS, 'cases-default-1280.png'), fullPage: true });
  });

  it('shows Dice per interval with the variants by name, and the ablation table', async () => {
    await page.goto(`${api.url}/?view=tables&exp=${encodeURIComponent(info.experimentId)}`);
    const dice = page.getByRole('table', { name: /Dice \(%\) at various/ });
    await dice.waitFor({ timeout: 30_000 });
    const heads = await dice.locator('thead th').allInnerTexts();
    expect(heads.map((h) => h.trim())).toEqual(['Method', '0-2%', '2-4%', '4-6%', '6-8%', '8-10%', 'Avg']);
    const rowNames = await dice.locator('tbody th').allInnerTexts();
    expect(rowNames).toEqual(['OnlySeg', 'RL+Seg', 'RL+FB+ADP+Seg']);
    const avg = await dice.locator('tbody tr td:last-child').allInnerTexts();
    for (const cell of avg) expect(cell).toMatch(/^\d+\.\d\d±\d+\.\d\d\*?$/);
    await expect.poll(() => page.getByRole('table', { name: 'ablation' }).locator('tbody tr').count(), SLOW).toBe(3);
    await page.screenshot({ path: join(ARTIFACTS, 'tables-1280.png'), fullPage: true });
    await page.setViewportSize({ width: 800, height: 1100 });
    await page.screenshot({ path: join(ARTIFACTS, 'tables-tablet-800.png'), fullPage: true });
    expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('plots the training curves of a run', async () => {
    const rl = info.runs.find((r) => r.variant === 'rl-fb-adp-seg')!;
    await page.goto(`${api.url}/?view=curves&exp=${encodeURIComponent(info.experimentId)}&run=${encodeURIComponent(rl.id)}`);
    await page.getByRole('img', { name: 'Training loss per epoch' }).waitFor({ timeout: 20_000 });
    expect(await page.getByTestId('line-series').count()).toBeGreaterThanOrEqual(2);
    await page.screenshot({ path: join(ARTIFACTS, 'curves-1280.png'), fullPage: true });
  });

  it('opens a case with prediction, ground truth and overlap drawn on the canvas', async () => {
    const rl = info.runs.find((r) => r.variant === 'rl-fb-adp-seg')!;
    await page.goto(`${api.url}/?view=cases&exp=${encodeURIComponent(info.experimentId)}&run=${encodeURIComponent(rl.id)}&sort=dice&order=desc`);
    const first = page.getByRole('table', { name: 'cases' }).locator('tbody tr').first();
    await first.click();
    const canvas = page.getByTestId('case-canvas');
    await expect.poll(async () => Number(await canvas.getAttribute('data-overlap')), SLOW).toBeGreaterThan(0);
    expect(Number(await canvas.getAttribute('data-prediction-only')) + Number(await canvas.getAttribute('data-ground-truth-only'))).toBeGreaterThan(0);
    // the pixels themselves: count red, green and yellow on the canvas
    const colours = await canvas.evaluate((c: HTMLCanvasElement) => {
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      const n = { red: 0, green: 0, yellow: 0 };
      for (let i = 0; i < d.length; i += 4) {
        const [r, g, b] = [d[i], d[i + 1], d[i + 2]];
        if (r > 150 && g > 150 && b < 110) n.yellow++;
        else if (r > 150 && g < 110 && b < 110) n.red++;
        else if (g > 150 && r < 110 && b < 110) n.green++;
      }
      return n;
    });
    expect(colours.yellow).toBeGreaterThan(0);
    expect(colours.red + colours.green).toBeGreaterThan(0);
    await expect.poll(() => page.getByTestId('represented-canvas').count(), SLOW).toBe(1);
    const before = new URL(page.url()).searchParams.get('case');
    await page.keyboard.press('ArrowRight');
    await expect.poll(() => new URL(page.url()).searchParams.get('case'), SLOW).not.toBe(before);
    await page.keyboard.press('ArrowLeft');
    await expect.poll(() => new URL(page.url()).searchParams.get('case'), SLOW).toBe(before);
    await expect.poll(() => page.locator('[aria-busy="true"]').count(), SLOW).toBe(0); // the case has loaded, not the previous one dimmed
    await expect.poll(async () => Number(await canvas.getAttribute('data-overlap')), SLOW).toBeGreaterThan(0);
    await page.screenshot({ path: join(ARTIFACTS, 'case-1280.png'), fullPage: true });
    await page.setViewportSize({ width: 800, height: 1100 });
    await page.screenshot({ path: join(ARTIFACTS, 'case-tablet-800.png'), fullPage: true });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('segments an uploaded image in the browser (onnxruntime-web) and shows the mask and the action mask', async () => {
    const rl = info.runs.find((r) => r.variant === 'rl-fb-adp-seg')!;
    const caseDir = join(STORE, 'artifacts', rl.id, 'cases');
    const caseId = readdirSync(caseDir).sort()[0];
    const image = join(caseDir, caseId, 'image.png');
    const segmentCalls: string[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/segment')) segmentCalls.push(r.url());
    });
    await page.goto(`${api.url}/?view=try&exp=${encodeURIComponent(info.experimentId)}&run=${encodeURIComponent(rl.id)}`);
    await page.getByLabel('image to segment').setInputFiles(image);
    const result = page.getByTestId('try-result');
    await result.waitFor({ timeout: 60_000 });
    const fg = Number(await result.getAttribute('data-foreground'));
    expect(Number.isInteger(fg)).toBe(true);
    expect(await page.getByTestId('try-mask').count()).toBe(1);
    expect(await page.getByTestId('try-actions').count()).toBe(1);
    const size = await page.getByTestId('try-mask').evaluate((c: HTMLCanvasElement) => [c.width, c.height]);
    expect(size).toEqual([32, 32]);
    expect(segmentCalls).toEqual([]);
    // The browser's mask against the pipeline's stored prediction of the same case (TensorFlow.js,
    // float input; the upload is the 8-bit PNG of it, so a pixel near p = 0.5 may flip).
    const agreement = await page.evaluate(async ([src, actionsSrc]) => {
      const whiteOf = async (url: string) => {
        const a = new Image();
        a.src = url;
        await a.decode();
        const cv = document.createElement('canvas');
        [cv.width, cv.height] = [a.width, a.height];
        cv.getContext('2d')!.drawImage(a, 0, 0);
        const d = cv.getContext('2d')!.getImageData(0, 0, a.width, a.height).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4) if (d[i] >= 128) n++;
        return n;
      };
      const storedMasked = await whiteOf(actionsSrc);
      const img = new Image();
      img.src = src;
      await img.decode();
      const c = document.createElement('canvas');
      c.width = img.width;
      c.height = img.height;
      const ctx = c.getContext('2d')!;
      ctx.drawImage(img, 0, 0);
      const stored = ctx.getImageData(0, 0, c.width, c.height).data;
      const mask = document.querySelector<HTMLCanvasElement>('[data-testid="try-mask"]')!;
      const mine = mask.getContext('2d')!.getImageData(0, 0, mask.width, mask.height).data;
      let same = 0;
      for (let i = 0; i < mine.length; i += 4) if (mine[i] >= 128 === stored[i] >= 128) same++;
      return { mask: same / (mine.length / 4), storedMasked };
    }, [`/api/v1/runs/${encodeURIComponent(rl.id)}/cases/${encodeURIComponent(caseId)}/prediction.png`, `/api/v1/runs/${encodeURIComponent(rl.id)}/cases/${encodeURIComponent(caseId)}/actions.png`]);
    const masked = Number(await result.getAttribute('data-masked'));
    console.log(`viewer e2e: in-browser mask agrees with the stored prediction on ${(agreement.mask * 100).toFixed(2)}% of pixels; agent masked ${masked} px in the browser, ${agreement.storedMasked} px in the stored actions.png`);
    expect(agreement.mask).toBeGreaterThanOrEqual(0.95);
    expect(Math.abs(masked - agreement.storedMasked)).toBeLessThanOrEqual(0.05 * 32 * 32);
    await page.screenshot({ path: join(ARTIFACTS, 'try-it-1280.png'), fullPage: true });
  });

  it('raised no page errors', async () => {
    expect(pageErrors).toEqual([]);
  });

  it('behind tokens (--auth required): asks for the token once, then shows the tables and the cases with a reader token', async () => {
    const made = spawnSync(process.execPath, [API_BIN, 'token', 'create', '--role', 'reader', '--store', STORE, '--label', 'viewer-e2e'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(made.status).toBe(0);
    const token = made.stdout.trim();
    const tokenId = /token (\w+) \(viewer-e2e\)/.exec(made.stderr)![1];
    const secured = await startApi(['--auth', 'required']);
    const tab = await browser.newPage();
    const authErrors: string[] = [];
    const sent: [string, string | undefined][] = [];
    tab.on('pageerror', (e) => authErrors.push(`pageerror: ${e.message}`));
    tab.on('request', (r) => {
      if (r.url().includes('/api/v1/')) sent.push([new URL(r.url()).pathname, r.headers().authorization]);
    });
    try {
      const rl = info.runs.find((r) => r.variant === 'rl-fb-adp-seg')!;
      await tab.goto(`${secured.url}/?view=tables&exp=${encodeURIComponent(info.experimentId)}`);
      const form = tab.getByRole('form', { name: 'API token' });
      await form.waitFor({ timeout: 30_000 });
      // Without the token the page itself gets 401 from a data route.
      expect(await tab.evaluate(async (p) => (await fetch(p)).status, `/api/v1/runs/${encodeURIComponent(rl.id)}/cases`)).toBe(401);
      await tab.screenshot({ path: join(ARTIFACTS, 'token-prompt-1280.png'), fullPage: true });
      await tab.getByLabel('token', { exact: true }).fill(token);
      await tab.getByRole('button', { name: 'Use token' }).click();
      const dice = tab.getByRole('table', { name: /Dice \(%\) at various/ });
      await dice.waitFor({ timeout: 30_000 });
      expect(await dice.locator('tbody th').allInnerTexts()).toEqual(['OnlySeg', 'RL+Seg', 'RL+FB+ADP+Seg']);
      expect(await tab.evaluate(() => sessionStorage.getItem('mrlseg.apiToken'))).toBe(token);
      await tab.screenshot({ path: join(ARTIFACTS, 'tables-with-token-1280.png'), fullPage: true });

      // Another view in the same tab: no prompt; the case PNGs arrive (fetched with the header) and are drawn.
      const from = sent.length;
      await tab.goto(`${secured.url}/?view=cases&exp=${encodeURIComponent(info.experimentId)}&run=${encodeURIComponent(rl.id)}&sort=dice&order=desc`);
      await tab.getByRole('table', { name: 'cases' }).locator('tbody tr').first().click();
      const canvas = tab.getByTestId('case-canvas');
      await expect.poll(async () => Number(await canvas.getAttribute('data-overlap')), SLOW).toBeGreaterThan(0);
      expect(await tab.getByRole('form', { name: 'API token' }).count()).toBe(0);
      const after = sent.slice(from);
      expect(after.some(([p]) => p.endsWith('/prediction.png'))).toBe(true);
      expect(after.filter(([, a]) => a !== `Bearer ${token}`)).toEqual([]);
      await tab.screenshot({ path: join(ARTIFACTS, 'case-with-token-1280.png'), fullPage: true });
      expect(authErrors).toEqual([]);
    } finally {
      await tab.close();
      secured.proc.kill('SIGTERM');
      spawnSync(process.execPath, [API_BIN, 'token', 'revoke', tokenId, '--store', STORE], { cwd: ROOT, timeout: 60_000 });
    }
  }, 180_000);
  it.skipIf(pgMissing)(
    'a team store: the API on PostgreSQL behind tokens answers 401 on every data route without one; with a reader token the runs table and the cases appear',
    async () => {
      const pg = await startPostgresChild();
      const pgArtifacts = join(ARTIFACTS, `pg-artifacts-${process.pid}`);
      let secured: { proc: ChildProcess; url: string } | undefined;
      const tab = await browser.newPage();
      const errors: string[] = [];
      tab.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
      try {
        // The e2e store moved into PostgreSQL the way a team would (README, "Running as a team").
        const { url } = pg;
        const copy = spawnSync(process.execPath, [MRLSEG_BIN, 'store', 'copy', '--from', STORE, '--to', url, '--to-artifacts', pgArtifacts], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
        expect(copy.status, copy.stderr).toBe(0);
        const made = spawnSync(process.execPath, [API_BIN, 'token', 'create', '--role', 'reader', '--store', url, '--label', 'team'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
        expect(made.status, made.stderr).toBe(0);
        const token = made.stdout.trim();
        secured = await startApi(['--auth', 'required'], ['--store', url, '--artifacts', pgArtifacts]);
        const base = secured.url;
        const withToken = { headers: { Authorization: `Bearer ${token}` } };

        // /health answers anyone, and says only which kind of store it is
        const health = await (await fetch(`${base}/health`)).json();
        expect(health.store).toBe('postgres');
        expect(JSON.stringify(health)).not.toContain(String(pg.port));
        // every operation of the served document, with real ids filled in: 401 without a token
        const doc = (await (await fetch(`${base}/api/v1/openapi.json`, withToken)).json()) as { paths: Record<string, Record<string, unknown>> };
        const rl = info.runs.find((r) => r.variant === 'rl-fb-adp-seg')!;
        const firstCase = ((await (await fetch(`${base}/api/v1/runs/${encodeURIComponent(rl.id)}/cases?pageSize=1`, withToken)).json()) as { items: { caseId: string }[] }).items[0].caseId;
        const ops = Object.entries(doc.paths)
          .filter(([p]) => p !== '/health')
          .flatMap(([p, item]) => Object.keys(item).map((m) => [m.toUpperCase(), p.replace('{id}', encodeURIComponent(rl.id)).replace('{caseId}', encodeURIComponent(firstCase))] as const));
        expect(ops.length).toBeGreaterThanOrEqual(17);
        const statuses = await Promise.all(ops.map(async ([method, p]) => `${method} ${p} ${(await fetch(`${base}${p}`, { method })).status}`));
        expect(statuses.filter((x) => !x.endsWith(' 401'))).toEqual([]);
        // with the token the same case image is served from the shared artifacts folder
        const png = await fetch(`${base}/api/v1/runs/${encodeURIComponent(rl.id)}/cases/${encodeURIComponent(firstCase)}/prediction.png`, withToken);
        expect([png.status, png.headers.get('content-type')]).toEqual([200, 'image/png']);

        // the viewer: the prompt, then the runs table (results first) and a drawn case
        await tab.goto(`${base}/?view=runs`);
        await tab.getByRole('form', { name: 'API token' }).waitFor({ timeout: 30_000 });
        await tab.getByLabel('token', { exact: true }).fill(token);
        await tab.getByRole('button', { name: 'Use token' }).click();
        const rows = tab.getByRole('table', { name: 'runs' }).locator('tbody tr');
        await expect.poll(() => rows.count(), SLOW).toBe(3);
        const text = (await rows.allInnerTexts()).join('\n');
        for (const v of ['OnlySeg', 'RL+Seg', 'RL+FB+ADP+Seg']) expect(text).toContain(v);
        expect(text).toMatch(/\d\.\d{4} n=/); // each run's summary, computed by PostgreSQL
        await tab.screenshot({ path: join(ARTIFACTS, 'runs-postgres-1280.png'), fullPage: true });
        await tab.goto(`${base}/?view=cases&exp=${encodeURIComponent(info.experimentId)}&run=${encodeURIComponent(rl.id)}&sort=dice&order=desc`);
        await tab.getByRole('table', { name: 'cases' }).locator('tbody tr').first().click();
        const canvas = tab.getByTestId('case-canvas');
        await expect.poll(async () => Number(await canvas.getAttribute('data-overlap')), SLOW).toBeGreaterThan(0);
        await tab.screenshot({ path: join(ARTIFACTS, 'case-postgres-1280.png'), fullPage: true });
        expect(errors).toEqual([]);
      } finally {
        await tab.close();
        secured?.proc.kill('SIGTERM');
        pg.proc.stdin!.end();
        await new Promise((r) => pg.proc.once('exit', r));
        rmSync(pgArtifacts, { recursive: true, force: true });
      }
    },
    240_000,
  );
});
