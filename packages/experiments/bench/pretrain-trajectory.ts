// The pre-training trajectory of the known-answer benchmark's Segmentation-Net (issue 15;
// docs/results.md, section 4.11): after each pre-training epoch, its held-out Dice and its false
// positives on the (known) distractors of the held-out and the training slices; then, for the
// credit committee of rl.creditNet 'snapshots', the share of lesion / distractor / plain units
// that each committee's credit labels "mask" (credit above rl.creditMargin, every other unit kept).
// With --oracle, the same labels on the held-out slices as masks (label oracles): the final network's
// Dice on the held-out slices when exactly the units a committee labels "mask" are masked.
// The same deterministic pre-training as bench/known-answer.ts with the same --data-seed.
//   npx tsx packages/experiments/bench/pretrain-trajectory.ts [--seeds 0,1,2] [--data-seed 11]
//        [--rl '{"unitSize":8,"unitShape":"superpixel","objective":"ce-safe","creditMargin":5}'] [--label-slices 48] [--margins 10,20] [--gates 0.3,0.5] [--oracle]
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { ExperimentConfigSchema } from '@mrlseg/types';
import { usePortableBackend } from '@mrlseg/models';
import { combineCommitteeCredits, computeCommitteeCredit, computeCounterfactualCredit, forwardSegmentation, plainUnitMaps, representState, retainedOfUnits } from '@mrlseg/rl-core';
import { pairedTTest } from '@mrlseg/metrics';
import { BENCHMARK_RL_INPUT, DEMO_CONFIG_INPUT, diagnosisSplit, loadSlices, makeBatch, makeImageBatch, buildSegModel, type Slice } from '../src/index';
import { pretrainForDiagnosis } from '../src/pipeline/diagnose-rl';
import { copySegNet } from '../src/pipeline/credit-snapshots';

const { values: a } = parseArgs({
  options: {
    seeds: { type: 'string', default: '0,1,2' },
    'data-seed': { type: 'string', default: '11' },
    rl: { type: 'string', default: '{"unitSize":8,"unitShape":"superpixel","objective":"ce-safe","creditMargin":5}' },
    'label-slices': { type: 'string', default: '48' },
    // Extra credit margins at which the committees' labels are also counted (the credit's units, nats for 'ce-safe').
    margins: { type: 'string', default: '' },
    // Probability gates at which the quorums' labels are also counted: a member's "mask" label of a unit
    // stands only if that member's probability exceeds the gate at some pixel of the unit (raw image).
    gates: { type: 'string', default: '' },
    // Label oracles on the held-out slices: the frozen final network's Dice when exactly the units that a
    // committee's credit labels "mask" (computed with the ground truth) are masked.
    oracle: { type: 'boolean', default: false },
  },
});
await usePortableBackend((process.env.BACKEND as 'wasm' | 'cpu') ?? 'wasm');
// FB and ADP off, as in the rl-seg variant the benchmark's rows use.
const config0 = ExperimentConfigSchema.parse({
  ...DEMO_CONFIG_INPUT,
  dataset: { ...DEMO_CONFIG_INPUT.dataset, synthetic: { ...(DEMO_CONFIG_INPUT.dataset as { synthetic: object }).synthetic, distractors: 2, seed: Number(a['data-seed']) } },
  rl: { ...BENCHMARK_RL_INPUT, credit: 'counterfactual', creditContext: 'raw', ...JSON.parse(a.rl!), useFb: false, useAdp: false },
  variants: undefined,
});
const { slices } = await loadSlices(config0);
const { train, test } = diagnosisSplit([...slices.values()]);

/** Dice (threshold 0.5), false-positive distractor pixels per slice, and the share of distractor pixels with p > 0.1. */
function trajectoryPoint(seg: tf.LayersModel, set: readonly Slice[]) {
  let fp = 0;
  let pixels = 0;
  let soft = 0;
  let dice = 0;
  for (let s0 = 0; s0 < set.length; s0 += 16) {
    const idx = set.slice(s0, s0 + 16).map((_, i) => s0 + i);
    const images = makeImageBatch(set, idx);
    const n = images.shape[1] * images.shape[2];
    const p = tf.tidy(() => (seg.apply(images, { training: false }) as tf.Tensor).dataSync());
    images.dispose();
    idx.forEach((k, b) => {
      const { mask, distractor } = set[k];
      let inter = 0;
      let sp = 0;
      let sy = 0;
      for (let i = 0; i < n; i++) {
        const on = p[b * n + i] > 0.5 ? 1 : 0;
        inter += on * mask[i];
        sp += on;
        sy += mask[i];
        if (distractor?.[i]) {
          pixels++;
          fp += on;
          if (p[b * n + i] > 0.1) soft++;
        }
      }
      dice += sp + sy === 0 ? 1 : (2 * inter) / (sp + sy);
    });
  }
  const r = (v: number, d = 2) => +v.toFixed(d);
  return { dice: r(dice / set.length, 4), distractorFpPerSlice: r(fp / set.length), distractorShareAbove01: r(soft / Math.max(1, pixels), 3) };
}

/** Dice (threshold 0.5) of one slice's prediction. */
function diceOf(p: ArrayLike<number>, y: Uint8Array, at: number): number {
  let inter = 0;
  let sp = 0;
  let sy = 0;
  for (let i = 0; i < y.length; i++) {
    const on = p[at + i] > 0.5 ? 1 : 0;
    inter += on * y[i];
    sp += on;
    sy += y[i];
  }
  return sp + sy === 0 ? 1 : (2 * inter) / (sp + sy);
}

/**
 * Label oracles on `set` (the held-out slices): each committee's labels, computed with the ground
 * truth as in training (credit above rl.creditMargin), used as the mask; the last member (the final
 * network) segments the masked slices. Per rule: masked lesion / distractor / other pixels, Dice raw
 * and masked, paired p. The members' credits are computed once; rl-core's combineCommitteeCredits
 * gives each committee's (rl.creditCommittee 'quorum', with and without rl.creditLastVeto).
 */
function labelOracles(members: tf.LayersModel[], rl: typeof config0.rl, set: readonly Slice[]) {
  const last = members.length - 1;
  // Each rule: the members' credits -> the committee's credit per image and unit.
  const rules: [string, (c: Float64Array[][]) => Float64Array[]][] = [['final network', (c) => c[last]]];
  for (let q = 1; q <= Math.min(3, members.length); q++) {
    rules.push([`quorum ${q}`, (c) => combineCommitteeCredits(c, { creditCommittee: 'quorum', creditQuorum: q })]);
    rules.push([`quorum ${q}, last member's veto`, (c) => combineCommitteeCredits(c, { creditCommittee: 'quorum', creditQuorum: q, creditLastVeto: true })]);
  }
  const raw: number[] = [];
  const dice = rules.map(() => [] as number[]);
  const px = rules.map(() => [0, 0, 0, 0, 0, 0]);
  for (let s0 = 0; s0 < set.length; s0 += 8) {
    const part = set.slice(s0, s0 + 8);
    const { images, labels } = makeBatch(part, part.map((_, i) => i), null);
    const [, h, w] = images.shape;
    const n = h * w;
    const units = plainUnitMaps(images, rl);
    const kept = units.map((u) => new Array<boolean>(u.count).fill(false));
    const credits = members.map((net) => computeCounterfactualCredit(net, images, labels, units, kept, rl));
    const p0 = tf.tidy(() => forwardSegmentation(members[last], images).dataSync());
    part.forEach((sl, b) => raw.push(diceOf(p0, sl.mask, b * n)));
    rules.forEach(([, rule], r) => {
      const credit = rule(credits);
      const off = units.map((u, k) => Array.from({ length: u.count }, (_, q) => credit[k][q] > rl.creditMargin));
      const pm = tf.tidy(() => forwardSegmentation(members[last], representState(images, retainedOfUnits(units, off, h, w), rl.maskValue)).dataSync());
      part.forEach((sl, b) => {
        dice[r].push(diceOf(pm, sl.mask, b * n));
        for (let i = 0; i < n; i++) {
          const kind = sl.mask[i] ? 0 : sl.distractor?.[i] ? 1 : 2;
          px[r][kind + 3]++;
          if (off[b][units[b].ids[i]]) px[r][kind]++;
        }
      });
    });
    tf.dispose([images, labels]);
  }
  const mean = (v: number[]) => +((100 * v.reduce((x, y) => x + y, 0)) / v.length).toFixed(2);
  const pct = (m: number, t: number) => +((100 * m) / Math.max(1, t)).toFixed(2);
  return Object.fromEntries(
    rules.map(([name], r) => [
      name,
      { maskedLesion: pct(px[r][0], px[r][3]), maskedDistractor: pct(px[r][1], px[r][4]), maskedOther: pct(px[r][2], px[r][5]), diceRaw: mean(raw), diceMasked: mean(dice[r]), p: +pairedTTest(dice[r], raw).pValue.toPrecision(2) },
    ]),
  );
}

const E = config0.training.epochs;
for (const seed of a.seeds!.split(',').map(Number)) {
  const config = { ...config0, seed };
  const nets: tf.LayersModel[] = [];
  const seg = pretrainForDiagnosis(config, train, (e, net) => {
    console.log(JSON.stringify({ seed, epoch: e + 1, heldOut: trajectoryPoint(net, test), training: trajectoryPoint(net, train) }));
    if (e < E - 1) nets.push(copySegNet(net, () => buildSegModel({ ...config, variant: 'onlyseg' })));
  });
  nets.push(seg); // nets[e] = the network after epoch e + 1
  // Committees: the final network alone; K = 3 (epochs E/3, 2E/3, E); K = 6 (every other epoch).
  const committees: Record<string, number[]> = { final: [E - 1], k3: [E / 3 - 1, (2 * E) / 3 - 1, E - 1].map(Math.round), k6: Array.from({ length: 6 }, (_, k) => Math.round(((k + 1) * E) / 6) - 1) };
  const probe = train.slice(0, Number(a['label-slices']));
  const { images, labels } = makeBatch(probe, probe.map((_, i) => i), null);
  const units = plainUnitMaps(images, config.rl);
  const kept = units.map((u) => new Array<boolean>(u.count).fill(false));
  // Unit kinds: any lesion pixel; else at least half distractor; else plain.
  const kind = units.map((u, k) => {
    const les = new Uint32Array(u.count);
    const dis = new Uint32Array(u.count);
    probe[k].mask.forEach((v, i) => (les[u.ids[i]] += v));
    probe[k].distractor?.forEach((v, i) => (dis[u.ids[i]] += v));
    return Array.from({ length: u.count }, (_, q) => (les[q] ? 'lesion' : 2 * dis[q] >= u.sizes[q] ? 'distractor' : 'plain'));
  });
  const out: Record<string, string> = {};
  const count = (credit: Float64Array[], margin = config.rl.creditMargin) => {
    const c: Record<string, [number, number]> = { lesion: [0, 0], distractor: [0, 0], plain: [0, 0] };
    credit.forEach((ck, k) => ck.forEach((v, q) => {
      c[kind[k][q]][1]++;
      if (v > margin) c[kind[k][q]][0]++;
    }));
    return Object.entries(c).map(([k, [m, n]]) => `${k} ${((100 * m) / Math.max(1, n)).toFixed(1)} % of ${n}`).join(', ');
  };
  for (const [name, epochs] of Object.entries(committees)) {
    out[`mean ${name} (epochs ${epochs.map((e) => e + 1).join(', ')})`] = count(computeCommitteeCredit(epochs.map((e) => nets[e]), images, labels, units, kept, config.rl));
  }
  // Order statistics over K = 6: the q-th largest member credit is above the margin exactly when at
  // least q members label the unit "mask" (q = 1: rl.creditCommittee 'max'; section 4.13's quorum).
  const members = committees.k6.map((e) => computeCounterfactualCredit(nets[e], images, labels, units, kept, config.rl));
  const orderStat = (ms: Float64Array[][], q: number) => combineCommitteeCredits(ms, { creditCommittee: 'quorum', creditQuorum: q });
  for (let q = 1; q <= members.length; q++) out[`${q}-th largest k6`] = count(orderStat(members, q));
  members.forEach((m, j) => (out[`member epoch ${committees.k6[j] + 1}`] = count(m)));
  out['max of the last 3 of k6'] = count(orderStat(members.slice(3), 1));
  // The same labels at other margins (--margins), for the quorums of 1 to 3 and the final network alone.
  for (const m of a.margins!.split(',').filter(Boolean).map(Number)) {
    for (let q = 1; q <= Math.min(3, members.length); q++) out[`${q}-th largest k6, margin ${m}`] = count(orderStat(members, q), m);
    out[`final network, margin ${m}`] = count(members[members.length - 1], m);
  }
  // The same labels with a probability gate (--gates): member j's credit of unit u counts as "mask" only
  // where member j's largest probability over u's pixels (raw image) exceeds the gate.
  const gates = a.gates!.split(',').filter(Boolean).map(Number);
  if (gates.length) {
    const n = images.shape[1] * images.shape[2];
    const peaks = committees.k6.map((e) => {
      const p = tf.tidy(() => (nets[e].apply(images, { training: false }) as tf.Tensor).dataSync());
      return units.map((u, k) => { const m = new Float64Array(u.count); for (let i = 0; i < n; i++) m[u.ids[i]] = Math.max(m[u.ids[i]], p[k * n + i]); return m; });
    });
    for (const g of gates) {
      const gated = members.map((m, j) => m.map((ck, k) => ck.map((v, u) => (peaks[j][k][u] > g ? v : Math.min(v, 0)))));
      for (let q = 1; q <= Math.min(3, gated.length); q++) out[`${q}-th largest k6, gate ${g}`] = count(orderStat(gated, q));
      out[`final network, gate ${g}`] = count(gated[gated.length - 1]);
    }
  }
  console.log(JSON.stringify({ seed, unitsLabelledMask: out }));
  tf.dispose([images, labels]);
  if (a.oracle) console.log(JSON.stringify({ seed, labelOracles: labelOracles(committees.k6.map((e) => nets[e]), config.rl, test) }));
  nets.forEach((n) => n.dispose());
}
