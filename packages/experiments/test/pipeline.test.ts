import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeGrey } from '@mrlseg/data';
import { ExperimentConfigSchema, type ExperimentConfig, type ExperimentConfigInput } from '@mrlseg/types';
import { onnxModelInfo, usePortableBackend } from '@mrlseg/models';
import {
  DEMO_CONFIG_INPUT,
  RunInterrupted,
  buildRlModel,
  buildSegModel,
  demoConfig,
  evaluateStoredRun,
  exportRunOnnx,
  loadExperimentConfig,
  DB_FILE,
  openStore,
  planRuns,
  runExperiment,
  type ProgressEvent,
  type ResultsStore,
} from '../src/index';

/** A few 32-px synthetic slices and a tiny network: seconds per run on wasm. */
export const TINY: ExperimentConfigInput = {
  name: 'tiny',
  dataset: { format: 'synthetic', synthetic: { count: 16, slicesPerPatient: 2, size: 32, seed: 3 } },
  preprocessing: { size: 32 },
  model: { preset: 'custom', segNet: { channels: [4, 8, 8, 16], hidden: 16, layers: 1, heads: 2, mlp: 32, decoderChannels: [8, 8, 4, 4] } },
  // select 'last': these tests check what the final RL state stores (the selection has its own tests).
  training: { epochs: 2, rlEpochs: 1, batchSize: 4, rlBatchSize: 4, lr: 0.003, select: 'last' },
  folds: { k: 4, only: [0] },
  seed: 5,
};
const tiny = (over: ExperimentConfigInput = {}): ExperimentConfig => ExperimentConfigSchema.parse({ ...TINY, ...over });

const dirs: string[] = [];
const fresh = async (): Promise<ResultsStore> => {
  const d = mkdtempSync(join(tmpdir(), 'mrlseg-pipe-'));
  dirs.push(d);
  return await openStore(d);
};
beforeAll(async () => {
  await usePortableBackend('wasm');
});
afterAll(async () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const caseTable = async (s: ResultsStore, runId: string) => (await s.allCases(runId)).map((c) => [c.caseId, c.dice, c.hd, c.fbRatio, c.interval]);

describe('the pipeline on a tiny synthetic config (wasm)', () => {
  let store: ResultsStore;
  let runId: string;
  let events: ProgressEvent[];
  beforeAll(async () => {
    store = (await fresh());
    events = [];
    const r = await runExperiment(tiny({ variant: 'rl-fb-adp-seg' }), { store, backend: 'wasm', onProgress: (e) => events.push(e) });
    runId = r.runs[0].runId;
  }, 120_000);

  it('writes a completed run with its provenance, curves, checkpoint and held-out cases', async () => {
    const run = (await store.getRun(runId))!;
    expect(run).toMatchObject({ status: 'completed', variant: 'rl-fb-adp-seg', fold: 0, seed: 5, backend: 'wasm' });
    expect((run.config as ExperimentConfig).rl).toMatchObject({ useFb: true, useAdp: true, pretrain: true });
    expect(run.packageVersions['@mrlseg/experiments']).toBe('0.1.0');
    expect(run.timings.pretrain).toBeGreaterThan(0);
    expect(run.timings.rl).toBeGreaterThan(0);
    expect((await store.epochs(runId)).map((e) => `${e.phase}:${e.epoch}`)).toEqual(['pretrain:0', 'pretrain:1', 'rl:0']);
    expect((await store.epochs(runId))[2].reward).not.toBeNull();
    expect(existsSync(join(run.checkpointPath!, 'rl', 'weights.bin'))).toBe(true);
    const cases = (await store.allCases(runId));
    expect(cases.length).toBe(4); // one of four patient-level folds of 8 patients x 2 slices
    expect(new Set(cases.map((c) => c.patient)).size).toBe(2);
    for (const kind of ['image', 'prediction', 'groundTruth', 'actions'] as const) {
      expect(readFileSync(store.caseArtifactPath(runId, cases[0].caseId, kind)).subarray(1, 4).toString()).toBe('PNG');
    }
    const types = new Set(events.map((e) => e.type));
    expect([...types].sort()).toEqual(['epoch', 'experiment', 'phase-start', 'run-end', 'run-start', 'step']);
  });

  it("records what the policy masked per case, as the action PNG shows, and re-evaluation ('mrlseg eval --run') backfills it", async () => {
    const fractions = async () => (await store.allCases(runId)).map((c) => [c.caseId, c.maskedFraction, c.lesionMaskedFraction]);
    const cases = (await store.allCases(runId));
    for (const c of cases) {
      // independent count: white pixels of the stored action mask (white = masked)
      const png = await decodeGrey(store.caseArtifactPath(runId, c.caseId, 'actions'));
      const gt = await decodeGrey(store.caseArtifactPath(runId, c.caseId, 'groundTruth'));
      const masked = png.data.filter((v) => v > 127).length;
      const lesion = gt.data.filter((v) => v > 127).length;
      const both = png.data.filter((v, i) => v > 127 && gt.data[i] > 127).length;
      expect(c.maskedFraction).toBe(masked / png.data.length);
      expect(c.lesionMaskedFraction).toBe(lesion === 0 ? null : both / lesion);
    }
    const recorded = await fractions();
    // a store evaluated before the columns existed: the migration leaves them NULL
    const db = new Database(join(store.location, DB_FILE));
    db.prepare('UPDATE cases SET masked_fraction = NULL, lesion_masked_fraction = NULL WHERE run_id = ?').run(runId);
    db.close();
    expect((await store.allCases(runId)).every((c) => c.maskedFraction === null && c.lesionMaskedFraction === null)).toBe(true);
    const before = tf.memory().numTensors;
    const r = await evaluateStoredRun(store, runId, { writePngs: false });
    expect(tf.memory().numTensors).toBe(before);
    expect(await fractions()).toEqual(recorded); // the deterministic policy masks the same pixels again
    const m = recorded.map((c) => c[1] as number);
    expect(r.agent!.maskedFraction).toBeCloseTo(m.reduce((a, b) => a + b, 0) / m.length, 12);
    expect(r.agent!.recorded).toBe(cases.length);
  });

  it('leaves no tensors behind between runs', async () => {
    const before = tf.memory().numTensors;
    await runExperiment(tiny({ variant: 'onlyseg', training: { ...TINY.training, epochs: 1 } }), { store: (await fresh()), backend: 'wasm', writePngs: false });
    expect(tf.memory().numTensors).toBe(before);
  }, 60_000);

  it('exports the RL run as one ONNX graph', async () => {
    const file = join(store.runDir(runId), 'model.onnx');
    await exportRunOnnx(store, runId, file);
    expect(readFileSync(file).length).toBeGreaterThan(1000);
    expect((await store.getRun(runId))!.onnxPath).toBe(file);
    const run = (await store.getRun(runId))!;
    const cfg = run.config as ExperimentConfig;
    const size = cfg.preprocessing.size;
    expect(onnxModelInfo(readFileSync(file)).metadata).toEqual({
      'mrlseg.metadata_version': '1',
      'mrlseg.input_size': `${size}x${size}`,
      'mrlseg.intensity_scale': String(1 / 255),
      'mrlseg.intensity_offset': '0',
      'mrlseg.ct_window': `${cfg.preprocessing.ctWindow.min},${cfg.preprocessing.ctWindow.max}`,
      'mrlseg.slice_axis': '0',
      'mrlseg.variant': run.variant,
      'mrlseg.run_id': runId,
      'mrlseg.toolkit_version': '0.1.0',
    });
    // The checkpoints carry the same description for predict.
    const last = (await store.lastCheckpoint(runId))!;
    expect(JSON.parse(readFileSync(join(last.path, 'seg', 'config.json'), 'utf8')).meta.inference['mrlseg.run_id']).toBe(runId);
  });
});

/**
 * Runs `cfg` in a fresh store and interrupts it after its `epochs`-th finished epoch; returns the
 * store and the id the interrupted run has there (the uninterrupted `whole` run's id, renamed).
 */
async function interruptedAfter(cfg: ExperimentConfig, epochs: number, whole: Awaited<ReturnType<typeof runExperiment>>): Promise<{ store: ResultsStore; id: string }> {
  const store = await fresh();
  const ac = new AbortController();
  let seen = 0;
  const stop = (e: ProgressEvent) => {
    if (e.type === 'epoch' && ++seen === epochs) ac.abort();
  };
  await expect(runExperiment(cfg, { store, backend: 'wasm', writePngs: false, signal: ac.signal, onProgress: stop })).rejects.toThrow(RunInterrupted);
  return { store, id: whole.runs[0].runId.replace(whole.experimentId, (await store.listExperiments())[0].id) };
}

describe('reproducibility and resume', () => {
  it('same config, seed and backend give the same metrics; another seed does not', async () => {
    const cfg = tiny({ variant: 'rl-seg' });
    const a = (await fresh());
    const b = (await fresh());
    const ra = await runExperiment(cfg, { store: a, backend: 'wasm', writePngs: false });
    const rb = await runExperiment(cfg, { store: b, backend: 'wasm', writePngs: false });
    expect((await caseTable(b, rb.runs[0].runId))).toEqual((await caseTable(a, ra.runs[0].runId)));
    expect((await b.epochs(rb.runs[0].runId)).map((e) => e.loss)).toEqual((await a.epochs(ra.runs[0].runId)).map((e) => e.loss));
    const c = (await fresh());
    const rc = await runExperiment(tiny({ variant: 'rl-seg', seed: 6 }), { store: c, backend: 'wasm', writePngs: false });
    expect((await c.epochs(rc.runs[0].runId)).map((e) => e.loss)).not.toEqual((await a.epochs(ra.runs[0].runId)).map((e) => e.loss));
  }, 120_000);

  it('an interrupted run resumes at the next epoch and ends as the uninterrupted one', async () => {
    const cfg = tiny({ variant: 'rl-fb-seg', training: { ...TINY.training, epochs: 3, rlEpochs: 2 } });
    const whole = (await fresh());
    const rw = await runExperiment(cfg, { store: whole, backend: 'wasm', writePngs: false });

    const { store, id } = await interruptedAfter(cfg, 4, rw); // after pretrain 0-2 and rl 0
    expect((await store.getRun(id))).toMatchObject({ status: 'incomplete', error: expect.stringMatching(/interrupted during rl epoch 2.*--resume/) });
    expect((await store.epochs(id))).toHaveLength(4);
    expect((await store.allCases(id))).toHaveLength(0);

    const resumed: ProgressEvent[] = [];
    const rr = await runExperiment(cfg, { store, backend: 'wasm', writePngs: false, resume: true, onProgress: (e) => resumed.push(e) });
    expect(rr.resumed).toBe(true);
    expect(resumed.find((e) => e.type === 'phase-start')).toMatchObject({ phase: 'rl', startEpoch: 1 });
    expect((await store.getRun(id))!.status).toBe('completed');
    expect((await store.epochs(id)).map((e) => `${e.phase}:${e.epoch}`)).toEqual((await whole.epochs(rw.runs[0].runId)).map((e) => `${e.phase}:${e.epoch}`));
    const got = await caseTable(store, id);
    const want = await caseTable(whole, rw.runs[0].runId);
    expect(got.map((r) => r[0])).toEqual(want.map((r) => r[0]));
    got.forEach((r, i) => {
      expect(r[1] ?? -1).toBeCloseTo((want[i][1] as number | null) ?? -1, 5);
    });
    // a completed experiment resumes to nothing
    const again = await runExperiment(cfg, { store, backend: 'wasm', writePngs: false, resume: true });
    expect(again.runs.map((r) => r.status)).toEqual(['skipped']);
  }, 150_000);

  it("rl.creditNet 'pretrained': the frozen credit network survives an interruption, and the resumed run ends as the uninterrupted one", async () => {
    const cfg = tiny({ variant: 'rl-seg', rl: { credit: 'counterfactual', unitSize: 8, objective: 'ce-safe', maskBonus: 5, creditNet: 'pretrained' }, training: { ...TINY.training, epochs: 2, rlEpochs: 2 } });
    const whole = await fresh();
    const rw = await runExperiment(cfg, { store: whole, backend: 'wasm', writePngs: false });
    expect(existsSync(join(whole.runDir(rw.runs[0].runId), 'credit-net'))).toBe(false);
    // Against the current network (the default) the same run trains another agent.
    const cur = await fresh();
    const rc = await runExperiment(tiny({ ...cfg, rl: { ...cfg.rl, creditNet: 'current' } }), { store: cur, backend: 'wasm', writePngs: false });
    const rlLoss = async (s: ResultsStore, id: string) => (await s.epochs(id)).filter((e) => e.phase === 'rl').map((e) => e.loss);
    expect(await rlLoss(cur, rc.runs[0].runId)).not.toEqual(await rlLoss(whole, rw.runs[0].runId));

    const { store, id } = await interruptedAfter(cfg, 3, rw); // after pretrain 0-1 and rl 0
    expect(existsSync(join(store.runDir(id), 'credit-net', 'seg'))).toBe(true);
    await runExperiment(cfg, { store, backend: 'wasm', writePngs: false, resume: true });
    expect(existsSync(join(store.runDir(id), 'credit-net'))).toBe(false);
    expect(await rlLoss(store, id)).toEqual(await rlLoss(whole, rw.runs[0].runId));
    const got = await caseTable(store, id);
    const want = await caseTable(whole, rw.runs[0].runId);
    got.forEach((r, i) => expect(r[1] ?? -1).toBeCloseTo((want[i][1] as number | null) ?? -1, 5));
  }, 150_000);

  it("rl.creditNet 'snapshots': the committee is saved along pre-training, shared with the runs that share it, survives an interruption, and is removed after RL", async () => {
    const rlIn = { credit: 'counterfactual', unitSize: 8, objective: 'ce-safe', maskBonus: 5, creditNet: 'snapshots', creditSnapshots: 3 } as const;
    const training = { ...TINY.training, epochs: 3, rlEpochs: 2 };
    // OnlySeg pre-trains first and publishes the snapshots (epochs 1 and 2 of 3) beside the shared pre-training.
    const both = await fresh();
    const rb = await runExperiment(tiny({ variants: ['onlyseg', 'rl-seg'], rl: rlIn, training }), { store: both, backend: 'wasm', writePngs: false });
    const [only, rlRun] = rb.runs.map((o) => o.runId);
    expect((await both.getRun(rlRun))!.timings.pretrain).toBe(0);
    const shared = join(both.runDir(rb.experimentId), 'pretrained');
    const snapRoots = readdirSync(shared).filter((f) => f.endsWith('.credit-snapshots'));
    expect(snapRoots.length).toBe(1);
    expect(readdirSync(join(shared, snapRoots[0])).sort()).toEqual(['pretrain-0000', 'pretrain-0001']);
    for (const id of [only, rlRun]) expect(existsSync(join(both.runDir(id), 'credit-snapshots'))).toBe(false);
    // The RL run alone (pre-training itself) trains the same agent as the one that shared it ...
    const cfg = tiny({ variant: 'rl-seg', rl: rlIn, training });
    const whole = await fresh();
    const rw = await runExperiment(cfg, { store: whole, backend: 'wasm', writePngs: false });
    const rlLoss = async (s: ResultsStore, id: string) => (await s.epochs(id)).filter((e) => e.phase === 'rl').map((e) => e.loss);
    expect(await rlLoss(whole, rw.runs[0].runId)).toEqual(await rlLoss(both, rlRun));
    // ... and another one than the credit of the pre-trained network alone.
    const pre = await fresh();
    const rp = await runExperiment(tiny({ ...cfg, rl: { ...cfg.rl, creditNet: 'pretrained' } }), { store: pre, backend: 'wasm', writePngs: false });
    expect(await rlLoss(pre, rp.runs[0].runId)).not.toEqual(await rlLoss(whole, rw.runs[0].runId));
    // Interrupted after pre-training and one RL epoch: the snapshots are there, and the resumed run ends as the whole one.
    const { store, id } = await interruptedAfter(cfg, 4, rw);
    expect(readdirSync(join(store.runDir(id), 'credit-snapshots')).sort()).toEqual(['pretrain-0000', 'pretrain-0001']);
    await runExperiment(cfg, { store, backend: 'wasm', writePngs: false, resume: true });
    expect(existsSync(join(store.runDir(id), 'credit-snapshots'))).toBe(false);
    expect(await rlLoss(store, id)).toEqual(await rlLoss(whole, rw.runs[0].runId));
  }, 240_000);

  it('variants with identical pre-training share it', async () => {
    const store = (await fresh());
    const r = await runExperiment(tiny({ variants: ['onlyseg', 'rl-seg'], training: { ...TINY.training, rlEpochs: 1 } }), { store, backend: 'wasm', writePngs: false });
    const [only, rl] = r.runs.map((o) => o.runId);
    expect((await store.getRun(rl))!.timings.pretrain).toBe(0);
    const pre = async (id: string) => (await store.epochs(id)).filter((e) => e.phase === 'pretrain').map((e) => e.loss);
    expect(await pre(rl)).toEqual(await pre(only));
    // Budget-fair: OnlySeg fine-tunes on raw images for rlEpochs epochs, the RL run has its RL epoch.
    expect((await store.epochs(only)).filter((e) => e.phase === 'finetune').map((e) => e.epoch)).toEqual([0]);
    expect((await store.epochs(rl)).filter((e) => e.phase === 'rl').map((e) => e.epoch)).toEqual([0]);
  }, 120_000);

  it('validation-based selection keeps the best state on the validation split and records it (issue 15)', async () => {
    const store = await fresh();
    const cfg = tiny({ variant: 'rl-seg', rl: { credit: 'candidates', unitSize: 8 }, training: { ...TINY.training, epochs: 2, rlEpochs: 2, select: 'validation', validationFraction: 0.25 } });
    const r = await runExperiment(cfg, { store, backend: 'wasm', writePngs: false });
    const run = (await store.getRun(r.runs[0].runId))!;
    const sel = run.selection!;
    expect(sel.validationCases).toBe(4); // 2 of 8 patients of 2 slices; 6 of them are in the training folds
    expect(Object.keys(sel.valDice).sort()).toEqual(['pretrained', 'rl-1', 'rl-2']);
    const best = Math.max(...Object.values(sel.valDice).map((v) => v ?? -1));
    expect(sel.valDice[sel.chosen]).toBe(best);
    // Ties keep the earlier state: the pre-trained network unless an epoch is strictly better.
    if (sel.chosen !== 'pretrained') expect(sel.valDice[sel.chosen]!).toBeGreaterThan(sel.valDice.pretrained!);
    const cases = await store.allCases(run.id);
    if (sel.chosen === 'pretrained') expect(cases.every((c) => c.maskedFraction === 0)).toBe(true);
    else expect(cases.every((c) => c.maskedFraction !== null)).toBe(true);
    // The RL epochs carry the agent's instruments.
    const stats = (await store.epochs(run.id)).filter((e) => e.phase === 'rl').map((e) => e.stats!);
    expect(stats).toHaveLength(2);
    for (const st of stats) {
      expect(st.maskedLesion).toBeGreaterThanOrEqual(0);
      expect(st.maskedLesion).toBeLessThanOrEqual(1);
      expect(Object.keys(st).sort()).toEqual(['advantageMean', 'advantageStd', 'entropy', 'gradientCosine', 'maskLabelShare', 'maskedAll', 'maskedDistractor', 'maskedLesion', 'maskedOther']);
      expect(st.maskLabelShare).toBeGreaterThanOrEqual(0);
      expect(st.maskLabelShare).toBeLessThanOrEqual(1);
    }
  }, 180_000);

  it('training.selectMaxLesionMasked: agent states that mask more of the validation lesion pixels are recorded but not kept', async () => {
    // A mask bonus far above any credit and no lesion veto: the agent learns to mask everything, lesions included.
    const rlIn = { credit: 'counterfactual', unitSize: 8, maskBonus: 1000, policySteps: 4 } as const;
    const training = { ...TINY.training, epochs: 2, rlEpochs: 2, rlLr: 0.01, select: 'validation', validationFraction: 0.25 } as const;
    const run = async (max: number | null) => {
      const store = await fresh();
      const messages: string[] = [];
      const r = await runExperiment(tiny({ variant: 'rl-seg', rl: rlIn, training: { ...training, selectMaxLesionMasked: max } }), {
        store,
        backend: 'wasm',
        writePngs: false,
        onProgress: (e) => {
          if (e.type === 'message') messages.push(e.text);
        },
      });
      const rec = (await store.getRun(r.runs[0].runId))!;
      const stats = (await store.epochs(rec.id)).filter((e) => e.phase === 'rl').map((e) => e.stats!);
      return { sel: rec.selection!, stats, messages, cases: await store.allCases(rec.id) };
    };
    const ruled = await run(0.02);
    // The validation split has 4 slices, so the instruments' probe is the whole split: the same shares.
    expect(Object.keys(ruled.sel.lesionMasked!).sort()).toEqual(['rl-1', 'rl-2']);
    ruled.stats.forEach((st, e) => expect(ruled.sel.lesionMasked![`rl-${e + 1}`]).toBeCloseTo(st.maskedLesion!, 10));
    expect(Math.min(...Object.values(ruled.sel.lesionMasked!).map((v) => v!))).toBeGreaterThan(0.5);
    expect(ruled.sel.maxLesionMasked).toBe(0.02);
    expect(ruled.sel.chosen).toBe('pretrained');
    expect(ruled.cases.every((c) => c.maskedFraction === 0)).toBe(true);
    expect(ruled.messages.some((m) => /kept the pre-trained Segmentation-Net with the agent off .*rl-1 \(\d+\.\d\d %\), rl-2 \(\d+\.\d\d %\) masked more than 2\.00 % of the validation lesion pixels and could not be kept/.test(m))).toBe(true);
    // Without the rule the same run is selected by validation Dice alone, and the shares are still recorded.
    const free = await run(null);
    expect(free.sel.lesionMasked).toEqual(ruled.sel.lesionMasked);
    expect(free.sel.maxLesionMasked).toBeUndefined();
    expect(free.sel.valDice).toEqual(ruled.sel.valDice);
    const best = Math.max(...Object.values(free.sel.valDice).map((v) => v ?? -1));
    expect(free.sel.valDice[free.sel.chosen]).toBe(best);
  }, 240_000);

  it("mrlseg eval re-evaluates an RL run whose selection kept the pre-trained network with the agent off (no Reinforcement-Net in 'best')", async () => {
    const store = await fresh();
    const cfg = tiny({ variant: 'rl-seg', rl: { credit: 'counterfactual', unitSize: 8 }, training: { ...TINY.training, epochs: 1, rlEpochs: 1, select: 'validation', validationFraction: 0.25 } });
    const r = await runExperiment(cfg, { store, backend: 'wasm', writePngs: false });
    const runId = r.runs[0].runId;
    // Make the selection the one where the agent is off, whatever this tiny run chose: 'best' holds
    // the Segmentation-Net alone, as the trainer writes it when it keeps the pre-trained network.
    const sel = { ...(await store.getRun(runId))!.selection!, chosen: 'pretrained' };
    await store.setSelection(runId, sel);
    const best = store.runDir(runId, 'best');
    writeFileSync(join(best, 'selection.json'), JSON.stringify(sel));
    rmSync(join(best, 'rl'), { recursive: true, force: true });
    const before = tf.memory().numTensors;
    const ev = await evaluateStoredRun(store, runId, { writePngs: false });
    expect(tf.memory().numTensors).toBe(before);
    expect(ev.cases).toBe(4);
    const cases = await store.allCases(runId);
    expect(cases.map((c) => c.maskedFraction)).toEqual([0, 0, 0, 0]);
  }, 120_000);

  it.each([0, 1, -3])('seed %d builds the same networks twice (tfjs treats an initialiser seed of 0 as unseeded)', (seed) => {
    const weights = () => {
      const cfg = tiny({ variant: 'rl-seg', seed });
      const seg = buildSegModel(cfg);
      const rl = buildRlModel(cfg);
      const w = [...seg.getWeights(), ...rl.getWeights()].map((t) => Array.from(t.dataSync().slice(0, 8)));
      seg.dispose();
      rl.dispose();
      return w;
    };
    expect(weights()).toEqual(weights());
  });

  it('--resume without a prior experiment is refused', async () => {
    await expect(runExperiment(tiny(), { store: (await fresh()), backend: 'wasm', resume: true })).rejects.toThrow(/--resume: no experiment made from this config/);
  });
});

describe('the demo config', () => {
  it('is the file configs/synthetic-demo.json and runs the five ablation variants on one fold', async () => {
    const file = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'configs', 'synthetic-demo.json'), 'utf8'));
    const { $comment: _c, ...rest } = file;
    void _c;
    expect(ExperimentConfigSchema.parse(rest)).toEqual(demoConfig());
    expect(demoConfig().variants).toEqual(['onlyseg', 'rl-seg', 'rl-fb-seg', 'rl-fb-adp-seg', 'rl-seg-nopretrain']);
    expect(DEMO_CONFIG_INPUT.folds).toEqual({ k: 4, only: [0] });
  });
});

describe('the shipped dataset configs', () => {
  const configs = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'configs');
  const shared = process.env.MRLSEG_SHARED_DATA ?? join(configs, '..', '..', 'shared', 'data');
  it.each([
    ['busi.json', 'busi', 'busi', ['onlyseg', 'rl-fb-adp-seg']],
    ['pancreas-ct.json', 'pancreas-ct', 'pancreas-ct', 5],
    ['kits19-slices.json', 'kits19-slices', 'kits19-slices', 5],
  ])('%s validates and points at the %s layout', (file, format, folder, variants) => {
    if (!existsSync(join(shared, folder))) {
      console.warn(`skipping ${file}: ${join(shared, folder)} is absent (set MRLSEG_SHARED_DATA)`);
      return;
    }
    const c = loadExperimentConfig(join(configs, file), { dataset: { root: join(shared, folder) } });
    expect(c.dataset.format).toBe(format);
    if (Array.isArray(variants)) expect(c.variants).toEqual(variants);
    else expect(c.variants).toHaveLength(variants);
    expect(planRuns(c).length).toBe((c.variants?.length ?? 1) * c.folds.k);
  });
});
