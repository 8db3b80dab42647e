// The credit landscape of issue 15 (docs/results.md, sections 4.3, 4.7 and 4.8): per unit of the agent's
// unit map, the counterfactual credit under the cross-entropy value and under the soft-Dice value
// (nothing else masked, FB and ADP off), split by what the unit holds (lesion, distractor, plain
// background), with the frozen pre-trained Segmentation-Net; then "rule oracles": the Dice on the
// held-out slices when exactly the units a labelling rule calls "mask" are masked. The rules use the
// ground truth (through the credit), so they bound what a policy imitating them could reach.
//   DATA_SEED=11 SEEDS=0,1,2 RL='{"credit":"counterfactual","unitSize":8,"unitShape":"superpixel"}' \
//     npx tsx packages/experiments/bench/credit-landscape.ts
import * as tf from '@tensorflow/tfjs';
import { ExperimentConfigSchema } from '@mrlseg/types';
import { usePortableBackend } from '@mrlseg/models';
import { computeCounterfactualCredit, unitMapsOf, forwardSegmentation, representState } from '@mrlseg/rl-core';
import { pairedTTest as ptt } from '@mrlseg/metrics';
import { BENCHMARK_RL_INPUT, DEMO_CONFIG_INPUT, loadSlices, diagnosisSplit, makeBatch, makeImageBatch } from '../src/index';
import { pretrainForDiagnosis } from '../src/pipeline/diagnose-rl';
await usePortableBackend('wasm');
const dataSeed = Number(process.env.DATA_SEED ?? 11);
const seeds = (process.env.SEEDS ?? '0,1,2').split(',').map(Number);
const rlOver = JSON.parse(process.env.RL ?? '{"credit":"counterfactual","unitSize":8,"unitShape":"superpixel"}');
const config0 = ExperimentConfigSchema.parse({
  ...DEMO_CONFIG_INPUT,
  dataset: { ...DEMO_CONFIG_INPUT.dataset, synthetic: { ...(DEMO_CONFIG_INPUT.dataset as { synthetic: object }).synthetic, distractors: 2, seed: dataSeed } },
  // MASK_OUT: training.maskOut of the pre-training (section 4.9; default 0: off).
  training: { ...DEMO_CONFIG_INPUT.training, epochs: 12, maskOut: Number(process.env.MASK_OUT ?? 0) },
  rl: { ...BENCHMARK_RL_INPUT, ...rlOver, useFb: false, useAdp: false },
  variants: undefined,
});
const { slices } = await loadSlices(config0);
const { train, test } = diagnosisSplit([...slices.values()]);
const q = (v: number[], p: number) => { const s = [...v].sort((a, b) => a - b); return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : NaN; };
const dice = (p: ArrayLike<number>, y: Uint8Array) => { let i2 = 0, sp = 0, sy = 0; for (let i = 0; i < y.length; i++) { const b = p[i] > 0.5 ? 1 : 0; i2 += b * y[i]; sp += b; sy += y[i]; } return sp + sy === 0 ? 1 : (2 * i2) / (sp + sy); };
type U = { cls: string; ce: number; dc: number; pmax: number; pmean: number; size: number; dpx: number; lpx: number };
function landscape(seg: tf.LayersModel, set: typeof train) {
  const out: { units: U[]; ids: Int32Array; n: number; k: number }[] = [];
  for (let s0 = 0; s0 < set.length; s0 += 8) {
    const idx = set.slice(s0, s0 + 8).map((_, i) => s0 + i);
    const { images, labels } = makeBatch(set, idx, null);
    const [, h, w] = images.shape; const n = h * w;
    const units = unitMapsOf(seg, images, config0.rl);
    const prob = tf.tidy(() => forwardSegmentation(seg, images)); const pd = prob.dataSync(); prob.dispose();
    const masked = units.map((u) => Array.from({ length: u.count }, () => false));
    const ce = computeCounterfactualCredit(seg, images, labels, units, masked, { ...config0.rl, objective: 'ce' });
    const dc = computeCounterfactualCredit(seg, images, labels, units, masked, { ...config0.rl, objective: 'dice' });
    units.forEach((u, k) => {
      const s = set[idx[k]];
      const us: U[] = Array.from({ length: u.count }, (_, j) => ({ cls: '', ce: ce[k][j], dc: dc[k][j], pmax: 0, pmean: 0, size: u.sizes[j], dpx: 0, lpx: 0 }));
      for (let i = 0; i < n; i++) { const x = us[u.ids[i]]; x.pmax = Math.max(x.pmax, pd[k * n + i]); x.pmean += pd[k * n + i] / u.sizes[u.ids[i]]; if (s.mask[i]) x.lpx++; if (s.distractor?.[i]) x.dpx++; }
      for (const x of us) x.cls = x.lpx > 0 ? 'lesion' : x.dpx >= 0.5 * x.size ? 'distractor' : x.dpx > 0 ? 'partdistr' : 'plain';
      out.push({ units: us, ids: u.ids, n, k: idx[k] });
    });
    tf.dispose([images, labels]);
  }
  return out;
}
const rules: [string, (u: U) => boolean][] = [];
for (const tau of [0.1, 0.5, 1, 2]) for (const del of [0, 0.01, 0.05]) rules.push([`ce>${tau}&dice>=-${del}`, (u) => u.ce > tau && u.dc >= -del]);
rules.push(['dice>0', (u) => u.dc > 0]);
rules.push(['dice>0.01', (u) => u.dc > 0.01]);
rules.push(['ce>0', (u) => u.ce > 0]);
rules.push(['pmean>0.05&dice>=0', (u) => u.pmean > 0.05 && u.dc >= 0]);
// "Mask unless it costs" (a negative margin): every unit whose masking alone does not raise the
// cross-entropy by more than tau nats nor lower the soft Dice by more than 0.01 points.
for (const tau of [1, 5, 20]) rules.push([`ce>-${tau}&dice>=-0.01`, (u) => u.ce > -tau && u.dc >= -0.01]);
rules.push(['not-lesion', (u) => u.cls !== 'lesion']);
rules.push(['distractor-only', (u) => u.cls === 'distractor' || u.cls === 'partdistr']);
for (const seed of seeds) {
  const cfg = { ...config0, seed };
  const seg = pretrainForDiagnosis(cfg, train);
  const L = landscape(seg, train.slice(0, 48));
  const all = L.flatMap((x) => x.units);
  for (const cls of ['lesion', 'distractor', 'partdistr', 'plain']) {
    const us = all.filter((u) => u.cls === cls);
    const f = (g: (u: U) => number) => [0.1, 0.25, 0.5, 0.75, 0.9].map((p) => q(us.map(g), p).toPrecision(2)).join('/');
    console.log(`seed ${seed} ${cls} n=${us.length} ce q10..90 ${f((u) => u.ce)} | dice ${f((u) => u.dc)} | pmean ${f((u) => u.pmean)} | ce>0 ${(us.filter((u) => u.ce > 0).length / us.length).toFixed(2)} dice>0 ${(us.filter((u) => u.dc > 0).length / us.length).toFixed(2)}`);
  }
  // rule-oracles on test: mask units the rule labels, compute Dice.
  const T = landscape(seg, test);
  const raw: number[] = []; const rs = new Map<string, number[]>();
  for (let s0 = 0; s0 < T.length; s0 += 8) {
    const chunk = T.slice(s0, s0 + 8);
    const images = makeImageBatch(test, chunk.map((c) => c.k));
    const n = chunk[0].n;
    const pr = tf.tidy(() => forwardSegmentation(seg, images).dataSync());
    chunk.forEach((c, b) => raw.push(dice(pr.subarray(b * n, (b + 1) * n), test[c.k].mask)));
    for (const [name, rule] of rules) {
      const keep = new Float32Array(chunk.length * n);
      chunk.forEach((c, b) => { for (let i = 0; i < n; i++) keep[b * n + i] = rule(c.units[c.ids[i]]) ? 0 : 1; });
      const pm = tf.tidy(() => { const r = tf.tensor4d(keep, images.shape); return forwardSegmentation(seg, representState(images, r, config0.rl.maskValue)).dataSync(); });
      const arr = rs.get(name) ?? []; chunk.forEach((c, b) => arr.push(dice(pm.subarray(b * n, (b + 1) * n), test[c.k].mask))); rs.set(name, arr);
    }
    images.dispose();
  }
  const tAll = T.flatMap((x) => x.units);
  for (const [name, rule] of rules) {
    const px = (cls: (u: U) => number, sel: (u: U) => boolean) => tAll.filter(sel).reduce((p, u) => p + cls(u), 0);
    const les = px((u) => u.lpx, rule) / px((u) => u.lpx, () => true);
    const dis = px((u) => u.dpx, rule) / px((u) => u.dpx, () => true);
    const oth = px((u) => u.size - u.lpx - u.dpx, rule) / px((u) => u.size - u.lpx - u.dpx, () => true);
    const m = rs.get(name)!; const t = ptt(m, raw);
    console.log(`seed ${seed} test-oracle ${name}: lesion ${(100 * les).toFixed(1)} distr ${(100 * dis).toFixed(1)} other ${(100 * oth).toFixed(1)} dice ${(100 * raw.reduce((a, b) => a + b) / raw.length).toFixed(2)} -> ${(100 * m.reduce((a, b) => a + b) / m.length).toFixed(2)} p=${t.pValue.toPrecision(2)}`);
  }
  seg.dispose();
}
