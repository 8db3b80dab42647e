import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, ExperimentConfigSchema, VARIANT_IDS } from '@mrlseg/types';
import { applyVariant, configHash, loadExperimentConfig, planRuns, runId, variantComponents, variantSpec } from '../src/index';

const base = ExperimentConfigSchema.parse({ training: { epochs: 7, rlEpochs: 3, loss: 'bce-dice' }, rl: { finetuneSeg: false } });

describe('variants as config', () => {
  it.each([
    // id, net, loss, rlEpochs, epochs, useFb, useAdp, pretrain, finetuneSeg
    ['onlyseg', 'segnet', 'bce-dice', 0, 7, false, false, true, false],
    ['rl-seg', 'segnet', 'bce-dice', 3, 7, false, false, true, false],
    ['rl-fb-seg', 'segnet', 'bce-dice', 3, 7, false, true, true, false],
    ['rl-fb-adp-seg', 'segnet', 'bce-dice', 3, 7, true, true, true, false],
    ['rl-seg-nopretrain', 'segnet', 'bce-dice', 3, 0, false, false, false, true],
    ['unet', 'unet', 'bce-dice', 0, 7, false, false, true, false],
    ['resunet', 'resunet', 'bce-dice', 0, 7, false, false, true, false],
    ['seg-ufl', 'segnet', 'ufl', 0, 7, false, false, true, false],
  ] as const)('%s -> %s, loss %s, rlEpochs %d, epochs %d, fb %s, adp %s, pretrain %s, finetune %s', (id, net, loss, rlEpochs, epochs, fb, adp, pre, ft) => {
    const c = applyVariant(base, id);
    expect(variantSpec(id).net).toBe(net);
    expect(c.variant).toBe(id);
    expect(c.variants).toBeUndefined();
    expect(c.training).toMatchObject({ loss, rlEpochs, epochs });
    expect(c.rl).toMatchObject({ useFb: fb, useAdp: adp, pretrain: pre, finetuneSeg: ft });
    // the run config is still a valid experiment config
    expect(ExperimentConfigSchema.parse(c)).toEqual(c);
  });

  it('covers every variant id and Table V component columns', () => {
    expect(VARIANT_IDS.map((id) => variantSpec(id).id)).toEqual([...VARIANT_IDS]);
    expect(variantComponents('rl-fb-adp-seg')).toEqual({ noPretraining: false, seg: true, rl: true, adp: true, fb: true });
    expect(variantComponents('rl-seg-nopretrain')).toEqual({ noPretraining: true, seg: true, rl: true, adp: false, fb: false });
    expect(() => variantSpec('rl-only')).toThrow(/variantSpec: unknown variant 'rl-only' \(known: onlyseg/);
  });
});

describe('experiment plans', () => {
  it('expands variants x folds x seeds, fold -1 for folds.k = 0', () => {
    const c = ExperimentConfigSchema.parse({ variants: ['onlyseg', 'rl-seg'], seeds: [1, 2], folds: { k: 3 } });
    const plans = planRuns(c);
    expect(plans).toHaveLength(12);
    expect(plans[0]).toEqual({ variant: 'onlyseg', fold: 0, seed: 1 });
    expect(plans[3]).toEqual({ variant: 'rl-seg', fold: 0, seed: 2 });
    expect(planRuns(ExperimentConfigSchema.parse({ folds: { k: 0 } }))).toEqual([{ variant: 'rl-fb-adp-seg', fold: -1, seed: 0 }]);
    expect(planRuns(ExperimentConfigSchema.parse({ folds: { k: 4, only: [2] } })).map((p) => p.fold)).toEqual([2]);
    expect(() => planRuns(ExperimentConfigSchema.parse({ folds: { k: 4, only: [4] } }))).toThrow(/folds.only: fold 4 does not exist/);
    expect(runId('demo-1', { variant: 'onlyseg', fold: -1, seed: 3 })).toBe('demo-1-onlyseg-fall-s3');
  });

  it('hashes configs independently of key order', () => {
    expect(configHash({ a: 1, b: { c: [1, 2], d: 'x' } })).toBe(configHash({ b: { d: 'x', c: [1, 2] }, a: 1 }));
    expect(configHash({ a: 1 })).not.toBe(configHash({ a: 2 }));
    expect(configHash({ a: 1 })).toMatch(/^[0-9a-f]{12}$/);
  });
});

describe('loadExperimentConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mrlseg-cfg-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string): string => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  it('merges flags over the file and resolves dataset.root against the file folder', () => {
    const p = write('ok.json', JSON.stringify({ name: 'x', dataset: { format: 'folder', root: '.' }, training: { epochs: 4, rlEpochs: 2 } }));
    const c = loadExperimentConfig(p, { training: { epochs: 9 }, seed: 5 });
    expect(c.training).toMatchObject({ epochs: 9, rlEpochs: 2 });
    expect(c.seed).toBe(5);
    expect(c.dataset.root).toBe(dir);
  });

  it.each([
    ['missing.json', null, /config file .*missing\.json not found/],
    ['bad.json', '{ "name": ', /is not valid JSON/],
    ['arr.json', '[1]', /expected a JSON object/],
    ['beta.json', JSON.stringify({ rl: { beta: 0.9 } }), /rl\.beta: beta must lie in \(0\.2, 0\.3\)/],
    ['noroot.json', JSON.stringify({ dataset: { format: 'busi' } }), /dataset\.root: required for format 'busi'/],
    ['badroot.json', JSON.stringify({ dataset: { format: 'busi', root: 'nowhere' } }), /dataset\.root: dataset folder .*nowhere does not exist/],
  ])('%s -> clear error', (name, text, msg) => {
    const p = text === null ? join(dir, name) : write(name, text);
    expect(() => loadExperimentConfig(p)).toThrow(msg);
  });

  it('validates flags alone and names the field', () => {
    expect(() => loadExperimentConfig(undefined, { preprocessing: { size: 50 } })).toThrow(ConfigError);
    expect(() => loadExperimentConfig(undefined, { preprocessing: { size: 50 } })).toThrow(/experiment config from flags: preprocessing\.size/);
  });
});
