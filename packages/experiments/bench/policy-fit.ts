// The policy-fit diagnostic of issue 15 (docs/results.md, section 4.7): can the Reinforcement-Net
// learn the unit formulations' labels at all when they hold still? The frozen pre-trained
// Segmentation-Net labels every unit of every training slice once (counterfactual credit of masking
// the unit alone, rl.objective as configured); the Reinforcement-Net (initialised from it) is then
// trained on those fixed labels with the unit trainer's weighted logistic loss, and every 30 steps
// the greedy policy is scored against the labels (recall of "mask" and "keep" units) and by what
// it masks (lesion / distractor / other pixels), on training and held-out slices.
//   SEED=1 LR=0.001 STEPS=300 RL='{"credit":"counterfactual","unitSize":8,"unitShape":"superpixel","objective":"ce-safe","policyInput":"image+probability"}' \
//     npx tsx packages/experiments/bench/policy-fit.ts
import * as tf from '@tensorflow/tfjs';
import { ExperimentConfigSchema } from '@mrlseg/types';
import { usePortableBackend, initFromSegmentationNet } from '@mrlseg/models';
import { computeCounterfactualCredit, creditTargets, labelOptionsOf, trainableVariables, unitGreedy, unitLogisticLoss, unitMapsOf, unitPolicyInput, type UnitMap } from '@mrlseg/rl-core';
import { BENCHMARK_RL_INPUT, DEMO_CONFIG_INPUT, loadSlices, diagnosisSplit, makeBatch, makeImageBatch, buildRlModel } from '../src/index';
import { pretrainForDiagnosis } from '../src/pipeline/diagnose-rl';
await usePortableBackend('wasm');
const seed = Number(process.env.SEED ?? 1);
const lr = Number(process.env.LR ?? 1e-3);
const steps = Number(process.env.STEPS ?? 300);
const rlOver = JSON.parse(process.env.RL ?? '{"credit":"counterfactual","unitSize":8,"unitShape":"superpixel","objective":"ce-safe","policyInput":"image+probability"}');
const config = ExperimentConfigSchema.parse({
  ...DEMO_CONFIG_INPUT,
  dataset: { ...DEMO_CONFIG_INPUT.dataset, synthetic: { ...(DEMO_CONFIG_INPUT.dataset as { synthetic: object }).synthetic, distractors: 2, seed: 11 } },
  training: { ...DEMO_CONFIG_INPUT.training, epochs: 12 }, rl: { ...BENCHMARK_RL_INPUT, ...rlOver, useFb: false, useAdp: false }, variants: undefined, seed,
});
const { slices } = await loadSlices(config);
const { train, test } = diagnosisSplit([...slices.values()]);
const seg = pretrainForDiagnosis(config, train);
type L = { units: UnitMap; credit: Float64Array };
function labelsOf(set: typeof train): L[] {
  const out: L[] = [];
  for (let s0 = 0; s0 < set.length; s0 += 8) {
    const idx = set.slice(s0, s0 + 8).map((_, i) => s0 + i);
    const { images, labels } = makeBatch(set, idx, null);
    const units = unitMapsOf(seg, images, config.rl);
    const c = computeCounterfactualCredit(seg, images, labels, units, units.map((u) => new Array(u.count).fill(false)), config.rl);
    units.forEach((u, k) => out.push({ units: u, credit: c[k] }));
    tf.dispose([images, labels]);
  }
  return out;
}
const Ltr = labelsOf(train);
const Lte = labelsOf(test);
console.log('labels done', Ltr.length, Lte.length);
const rlNet = buildRlModel({ ...config, variant: 'rl-seg' });
initFromSegmentationNet(rlNet, seg);
const opt = tf.train.adam(lr);
function evalOn(set: typeof train, L: L[]) {
  // agreement of greedy with labels, by class, and masked fractions
  let agreeMask = 0;
  let nMask = 0;
  let agreeKeep = 0;
  let nKeep = 0; const px = { l: 0, lm: 0, d: 0, dm: 0, o: 0, om: 0 };
  const scores: [number, number][] = []; const lesionScores: number[] = []; const distractorScores: number[] = []; const plainScores: number[] = [];
  for (let s0 = 0; s0 < set.length; s0 += 16) {
    const idx = set.slice(s0, s0 + 16).map((_, i) => s0 + i);
    const images = makeImageBatch(set, idx);
    // unitGreedy rebuilds the same unit maps (they depend on the raw image and rl only).
    const g = unitGreedy(rlNet, seg, images, config.rl);
    const n = 64 * 64;
    // Each unit's mean mask logit, the score the greedy policy thresholds.
    const { masked: ul, logits: unitScores } = g;
    g.dispose();
    images.dispose();
    idx.forEach((k, b) => {
      const { units, credit } = L[k]; const s = set[k];
      const mean = unitScores[b]; const les = new Uint8Array(units.count); const dis = new Float64Array(units.count);
      for (let i = 0; i < n; i++) { const u = units.ids[i]; if (s.mask[i]) les[u] = 1; if (s.distractor?.[i]) dis[u] += 1 / units.sizes[u]; }
      units.sizes.forEach((_, u) => { scores.push([mean[u], credit[u] > 0 ? 1 : 0]); if (les[u]) lesionScores.push(mean[u]); else if (dis[u] >= 0.5) distractorScores.push(mean[u]); else if (dis[u] === 0) plainScores.push(mean[u]); });
      units.sizes.forEach((_, u) => { const m = ul[b][u]; if (credit[u] > 0) { nMask++; if (m) agreeMask++; } else { nKeep++; if (!m) agreeKeep++; } });
      for (let i = 0; i < n; i++) { const m = ul[b][units.ids[i]] ? 1 : 0; if (s.mask[i]) { px.l++; px.lm += m; } else if (s.distractor?.[i]) { px.d++; px.dm += m; } else { px.o++; px.om += m; } }
    });
  }
  // AUC (Mann-Whitney): the chance that a random positive scores above a random negative; ranking quality whatever the threshold.
  const auc = (pos: number[], neg: number[]) => { let w = 0; for (const a of pos) for (const b of neg) w += a > b ? 1 : a === b ? 0.5 : 0; return pos.length && neg.length ? w / (pos.length * neg.length) : NaN; };
  const aucLabels = auc(scores.filter((x) => x[1]).map((x) => x[0]), scores.filter((x) => !x[1]).map((x) => x[0]));
  return `AUC mask-vs-keep labels ${aucLabels.toFixed(3)} distractor-vs-lesion units ${auc(distractorScores, lesionScores).toFixed(3)} distractor-vs-plain units ${auc(distractorScores, plainScores).toFixed(3)} | mask-label recall ${(agreeMask / nMask).toFixed(2)} keep-label recall ${(agreeKeep / nKeep).toFixed(2)} | masked lesion ${(px.lm / px.l * 100).toFixed(1)} distr ${(px.dm / px.d * 100).toFixed(1)} other ${(px.om / px.o * 100).toFixed(1)}`;
}
const order = () => { const a = train.map((_, i) => i); for (let i = a.length - 1; i > 0; i--) { const j = Math.floor(Math.random() * (i + 1)); [a[i], a[j]] = [a[j], a[i]]; } return a; };
let perm = order();
let p = 0;
for (let st = 1; st <= steps; st++) {
  if (p + 8 > perm.length) { perm = order(); p = 0; }
  const idx = perm.slice(p, p + 8); p += 8;
  const images = makeImageBatch(train, idx);
  const { target, weight, totalWeight } = creditTargets(idx.map((k) => Ltr[k].units), idx.map((k) => Ltr[k].credit), labelOptionsOf(config.rl), 64, 64);
  const inp = unitPolicyInput(rlNet, seg, images);
  const value = opt.minimize(() => unitLogisticLoss(rlNet, inp, target, weight, totalWeight), true, trainableVariables(rlNet))!;
  const lv = value.dataSync()[0];
  tf.dispose([value, target, weight, images, ...inp]);
  if (st % 30 === 0 || st === 1) console.log(`step ${st} loss ${lv.toFixed(3)} | train ${evalOn(train.slice(0, 48), Ltr.slice(0, 48))} | test ${evalOn(test, Lte)}`);
}
