import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExperimentConfigSchema, type VariantId } from '@mrlseg/types';
import { applyVariant, buildReport, openStore, renderReport, type ResultsStore } from '../src/index';

// Two-sided p of Student's t with 3 degrees of freedom, closed form (independent of @stdlib):
// F(t) = 1/2 + (1/pi) [ (t/sqrt3) / (1 + t^2/3) + atan(t/sqrt3) ].
const p3 = (t: number) => {
  const u = Math.abs(t) / Math.sqrt(3);
  return 2 * (1 - (0.5 + (u / (1 + u * u) + Math.atan(u)) / Math.PI));
};

const CASES = [
  { id: 'p1_0', fb: 0.01 },
  { id: 'p1_1', fb: 0.015 },
  { id: 'p2_0', fb: 0.03 },
  { id: 'p2_1', fb: 0.035 },
];
const DICE: Partial<Record<VariantId, number[]>> = {
  'rl-fb-adp-seg': [0.9, 0.8, 0.7, 0.6],
  'rl-seg': [0.8, 0.6, 0.6, 0.4],
  onlyseg: [0.5, 0.5, 0.4, 0.3],
};
const HD: Partial<Record<VariantId, (number | null)[]>> = {
  'rl-fb-adp-seg': [2, 4, 6, 8],
  'rl-seg': [3, 5, 7, 9],
  onlyseg: [10, null, 10, 20],
};

// What the agent masked, per case: RL+FB+ADP+Seg recorded it (p1_1 has a lesion-free slice at the
// training size, so no lesion fraction); RL+Seg was stored without it (as before schema 2); OnlySeg has no agent.
const MASKED: Partial<Record<VariantId, (number | null)[]>> = { 'rl-fb-adp-seg': [0.1, 0.2, 0.3, 0.4] };
const LESION: Partial<Record<VariantId, (number | null)[]>> = { 'rl-fb-adp-seg': [0.6, null, 0.3, 0] };

let dir: string;
let store: ResultsStore;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mrlseg-report-'));
  store = await openStore(dir);
  const cfg = ExperimentConfigSchema.parse({ dataset: { intervals: 'ct' } });
  await store.createExperiment({ id: 'e1', name: 'report', dataset: 'synthetic', config: cfg, configHash: 'h', gitCommit: null });
  for (const v of Object.keys(DICE) as VariantId[]) {
    const id = `e1-${v}`;
    await store.startRun({ id, experimentId: 'e1', variant: v, fold: 0, seed: 0, dataset: 'synthetic', backend: 'cpu', gitCommit: null, config: applyVariant(cfg, v) });
    (await store.recordCases(
      CASES.map((c, i) => ({
        runId: id,
        caseId: c.id,
        patient: c.id.slice(0, 2),
        fbRatio: c.fb,
        foregroundFraction: c.fb / (1 + c.fb),
        interval: c.fb < 0.02 ? '0-2%' : '2-4%',
        dice: DICE[v]![i],
        iou: null,
        precision: null,
        recall: null,
        hd: HD[v]![i],
        hd95: null,
        assd: null,
        nsd: null,
        emptyGt: false,
        emptyPred: HD[v]![i] === null,
        ...(MASKED[v] ? { maskedFraction: MASKED[v][i], lesionMaskedFraction: LESION[v]![i] } : {}),
      })),
    ));
    await store.finishRun(id, { status: 'completed' });
  }
  // An unfinished run is reported, never counted.
  await store.startRun({ id: 'e1-unet', experimentId: 'e1', variant: 'unet', fold: 0, seed: 0, dataset: 'synthetic', backend: 'cpu', gitCommit: null, config: cfg });
  await store.finishRun('e1-unet', { status: 'incomplete', error: 'killed' });
});
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('buildReport numbers against hand computation', () => {
  it('orders rows as Table V and leaves the incomplete run out with a note', async () => {
    const r = await buildReport(store);
    expect(r.experimentId).toBe('e1');
    expect(r.variants.map((v) => v.variant)).toEqual(['onlyseg', 'rl-seg', 'rl-fb-adp-seg']);
    expect(r.tables.dice.columns).toEqual(['0-2%', '2-4%', '4-6%', '6-8%', '8-10%', 'Avg']);
    expect(r.notes.join(' ')).toMatch(/e1-unet \(incomplete\)/);
  });

  it.each([
    // variant, column, Dice text (mean±sample std, in %)
    ['rl-fb-adp-seg', '0-2%', '85.00±7.07'],
    ['rl-fb-adp-seg', '2-4%', '65.00±7.07'],
    ['rl-seg', '0-2%', '70.00±14.14'],
    ['onlyseg', '2-4%', '35.00±7.07'],
  ] as const)('Dice %s %s = %s', async (v, col, text) => {
    const r = await buildReport(store);
    const row = r.tables.dice.rows[r.variants.findIndex((x) => x.variant === v)];
    expect(row.cells[r.tables.dice.columns.indexOf(col)].text.replace('*', '')).toBe(text);
  });

  it('Avg Dice and its paired t-tests: every row against the best, the best against the runner-up', async () => {
    const r = await buildReport(store);
    const avg = (v: VariantId) => r.byVariant[v].dice.Avg;
    expect(avg('rl-fb-adp-seg').mean).toBeCloseTo(0.75, 12);
    expect(avg('rl-fb-adp-seg').std).toBeCloseTo(Math.sqrt(0.05 / 3), 12);
    // best vs runner-up rl-seg: d = [.1, .2, .1, .2], t = 0.15 / (sqrt(0.01/3) / 2)
    const t1 = 0.15 / (Math.sqrt(0.01 / 3) / 2);
    expect(avg('rl-fb-adp-seg').pValue).toBeCloseTo(p3(t1), 8);
    expect(avg('rl-seg').pValue).toBeCloseTo(p3(t1), 8);
    // onlyseg vs best: d = [.4, .3, .3, .3], mean .325, sd .05, t = 13
    expect(avg('onlyseg').pValue).toBeCloseTo(p3(13), 8);
    expect(avg('onlyseg').significant).toBe(true);
    expect(r.tables.dice.rows[2].cells[5].text).toBe('75.00±12.91*');
    expect(r.tables.dice.rows[2].cells[5].best).toBe(true);
    expect(r.tables.dice.notes[0]).toMatch(/against the best other row .*RL\+FB\+ADP\+Seg against the runner-up RL\+Seg/);
  });

  it('HD: lower is better, a missing value is excluded and noted', async () => {
    const r = await buildReport(store);
    expect(r.byVariant['rl-fb-adp-seg'].hd.Avg).toMatchObject({ mean: 5, best: true });
    expect(r.byVariant.onlyseg.hd.Avg).toMatchObject({ mean: 40 / 3, count: 3, missing: 1 });
    expect(r.tables.hd.notes.join(' ')).toMatch(/OnlySeg: undefined values .* Avg: 1/);
    // rl-seg vs best rl-fb-adp-seg: d = [1, 1, 1, 1] constant -> p = 0
    expect(r.byVariant['rl-seg'].hd.Avg.pValue).toBe(0);
  });

  it('ablation table: Table V check marks and the Avg cells', async () => {
    const t = (await buildReport(store)).tables.ablation!;
    expect(t.columns).toEqual(['w/o pre-training', 'Seg', 'RL', 'ADP', 'FB', 'Mean Dice (%)', 'Mean HD']);
    expect(t.rows.map((r) => r.label)).toEqual(['OnlySeg', 'RL+Seg', 'RL+FB+ADP+Seg']);
    expect(t.rows[2].cells.slice(0, 5).map((c) => c.text)).toEqual(['', '✓', '✓', '✓', '✓']);
    expect(t.rows[0].cells.slice(0, 5).map((c) => c.text)).toEqual(['', '✓', '', '', '']);
    expect(t.rows[2].cells[5].text).toBe('75.00±12.91*');
    expect(t.rows[2].cells[6].text).toBe('5.00±2.58*');
  });

  it('renders md, csv, latex and json with the same numbers', async () => {
    const r = await buildReport(store);
    const md = renderReport(r, 'md');
    expect(md).toContain('| RL+FB+ADP+Seg | **85.00±7.07** | **65.00±7.07** | n/a');
    expect(md).toContain('**75.00±12.91***');
    const csv = renderReport(r, 'csv');
    expect(csv.split('\n')).toContain('RL+Seg,70.00±14.14,50.00±14.14,n/a,n/a,n/a,60.00±16.33*');
    const tex = renderReport(r, 'latex');
    expect(tex).toContain('$\\checkmark$');
    expect(tex).toContain('75.00$\\pm$12.91*');
    const json = JSON.parse(renderReport(r, 'json'));
    expect(json.byVariant['rl-seg'].dice['0-2%'].mean).toBeCloseTo(0.7, 12);
    expect(json.variants.map((v: { variant: string }) => v.variant)).toEqual(['onlyseg', 'rl-seg', 'rl-fb-adp-seg']);
  });

  it('what the agent masked: means over the cases per RL variant, n/a when not recorded, none for OnlySeg', async () => {
    const r = await buildReport(store);
    const agent = Object.fromEntries(r.variants.map((v) => [v.variant, v.agent]));
    expect(agent.onlyseg).toBeNull();
    // (0.1 + 0.2 + 0.3 + 0.4) / 4 = 0.25; lesion (0.6 + 0.3 + 0) / 3 = 0.3 (p1_1 has no lesion)
    expect(agent['rl-fb-adp-seg']!.maskedFraction).toBeCloseTo(0.25, 12);
    expect(agent['rl-fb-adp-seg']!.lesionMaskedFraction).toBeCloseTo(0.3, 12);
    expect(agent['rl-fb-adp-seg']).toMatchObject({ cases: 4, recorded: 4, withLesion: 3 });
    expect(agent['rl-seg']).toEqual({ maskedFraction: null, lesionMaskedFraction: null, cases: 4, recorded: 0, withLesion: 0 });
    expect(r.variants.map((v) => v.agentOn)).toEqual([null, null, null]); // no run turned its agent off

    const json = JSON.parse(renderReport(r, 'json'));
    expect(json.variants.map((v: { agent: { maskedFraction: number | null; recorded: number } | null }) => v.agent && [v.agent.maskedFraction, v.agent.recorded])).toEqual([null, [null, 0], [0.25, 4]]);
    const line = 'Masked by the agent (deterministic policy, mean over cases): RL+Seg n/a (not recorded: evaluated before the store kept it; mrlseg eval --run <id> fills it); RL+FB+ADP+Seg 25.00% of pixels, 30.00% of lesion pixels.';
    const md = renderReport(r, 'md');
    expect(md.split('\n')).toContain(line);
    expect(md.indexOf(line)).toBeLessThan(md.indexOf('|')); // under the header, above the tables
    expect(renderReport(r, 'latex').split('\n')).toContain(`% ${line}`);
    // the paper tables are unchanged: same columns, no masking column
    expect(r.tables.dice.columns).toEqual(['0-2%', '2-4%', '4-6%', '6-8%', '8-10%', 'Avg']);
    expect(renderReport(r, 'csv')).not.toMatch(/Masked/);
    // only OnlySeg selected: no line at all
    expect(renderReport((await buildReport(store, { runIds: ['e1-onlyseg'] })), 'md')).not.toMatch(/Masked by the agent/);
  });

  it('runs whose selection turned the agent off: the line also gives the fractions of the runs with the agent on', async () => {
    const d2 = mkdtempSync(join(tmpdir(), 'mrlseg-report-'));
    const s2 = await openStore(d2);
    try {
      const cfg = ExperimentConfigSchema.parse({ dataset: { intervals: 'ct' } });
      await s2.createExperiment({ id: 'e2', name: 'report', dataset: 'synthetic', config: cfg, configHash: 'h', gitCommit: null });
      const folds = [['p1_0', 'p1_1'], ['p2_0', 'p2_1']];
      // fold 0: validation kept the pre-trained network, agent off (masks nothing); fold 1: kept rl-1.
      const masked = [[0, 0], [0.4, 0.2]];
      const lesion = [[0, 0], [0.1, 0.3]];
      for (const v of ['onlyseg', 'rl-fb-adp-seg'] as VariantId[]) {
        for (const f of [0, 1]) {
          const id = `e2-${v}-f${f}`;
          await s2.startRun({ id, experimentId: 'e2', variant: v, fold: f, seed: 0, dataset: 'synthetic', backend: 'cpu', gitCommit: null, config: applyVariant(cfg, v) });
          await s2.recordCases(folds[f].map((caseId, i) => ({
            runId: id, caseId, patient: caseId.slice(0, 2), fbRatio: 0.01, foregroundFraction: 0.01 / 1.01, interval: '0-2%', dice: 0.5 + 0.1 * i + 0.05 * f,
            iou: null, precision: null, recall: null, hd: 3, hd95: null, assd: null, nsd: null, emptyGt: false, emptyPred: false,
            ...(v === 'onlyseg' ? {} : { maskedFraction: masked[f][i], lesionMaskedFraction: lesion[f][i] }),
          })));
          if (v !== 'onlyseg') await s2.setSelection(id, { chosen: f === 0 ? 'pretrained' : 'rl-1', valDice: { pretrained: 0.5, 'rl-1': f === 0 ? 0.4 : 0.6 }, validationCases: 2 });
          await s2.finishRun(id, { status: 'completed' });
        }
      }
      const r = await buildReport(s2);
      const rl = r.variants.find((v) => v.variant === 'rl-fb-adp-seg')!;
      // over all 4 cases: (0 + 0 + 0.4 + 0.2) / 4 = 0.15, lesion (0 + 0 + 0.1 + 0.3) / 4 = 0.1
      expect(rl.agent!.maskedFraction).toBeCloseTo(0.15, 12);
      expect(rl.agent!.lesionMaskedFraction).toBeCloseTo(0.1, 12);
      // the run with the agent on: (0.4 + 0.2) / 2 = 0.3, lesion (0.1 + 0.3) / 2 = 0.2
      expect(rl.agentOn).toMatchObject({ runs: 1, ofRuns: 2, cases: 2, recorded: 2 });
      expect(rl.agentOn!.maskedFraction).toBeCloseTo(0.3, 12);
      expect(rl.agentOn!.lesionMaskedFraction).toBeCloseTo(0.2, 12);
      expect(r.variants.find((v) => v.variant === 'onlyseg')!.agentOn).toBeNull();
      expect(renderReport(r, 'md').split('\n')).toContain(
        'Masked by the agent (deterministic policy, mean over cases): RL+FB+ADP+Seg 15.00% of pixels, 10.00% of lesion pixels (the agent is off in 1 of 2 runs, where validation kept the pre-trained Segmentation-Net; in the 1 run(s) with the agent on: 30.00% of pixels, 20.00% of lesion pixels).',
      );
      // every run with the agent off
      await s2.setSelection('e2-rl-fb-adp-seg-f1', { chosen: 'pretrained', valDice: { pretrained: 0.5, 'rl-1': 0.4 }, validationCases: 2 });
      const all = await buildReport(s2);
      expect(all.variants.find((v) => v.variant === 'rl-fb-adp-seg')!.agentOn).toMatchObject({ runs: 0, ofRuns: 2, maskedFraction: null });
      expect(renderReport(all, 'md')).toMatch(/RL\+FB\+ADP\+Seg 15\.00% of pixels, 10\.00% of lesion pixels \(the agent is off in all 2 run\(s\): validation kept the pre-trained Segmentation-Net\)\./);
    } finally {
      await s2.close();
      rmSync(d2, { recursive: true, force: true });
    }
  });

  it('a partly recorded variant says how many cases its means cover', async () => {
    const r = await buildReport(store);
    const v = r.variants.find((x) => x.variant === 'rl-fb-adp-seg')!;
    v.agent = { ...v.agent!, recorded: 3 };
    expect(renderReport(r, 'md')).toMatch(/RL\+FB\+ADP\+Seg 25\.00% of pixels, 30\.00% of lesion pixels \(3 of 4 cases recorded\)/);
  });

  it('selects runs by id and names unknown experiments and runs', async () => {
    const r = await buildReport(store, { runIds: ['e1-onlyseg', 'e1-rl-seg'] });
    expect(r.variants.map((v) => v.variant)).toEqual(['onlyseg', 'rl-seg']);
    await expect(buildReport(store, { experimentId: 'nope' })).rejects.toThrow(/no experiment 'nope' .*known: e1/);
    await expect(buildReport(store, { runIds: ['ghost'] })).rejects.toThrow(/no run 'ghost'/);
  });
});
