import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  ExperimentConfigSchema,
  SEG_NET_PRESETS,
  deepMerge,
  parseWith,
  CasesQuerySchema,
  IdSchema,
} from '../src/index';

describe('ExperimentConfigSchema defaults follow the paper', () => {
  const cfg = ExperimentConfigSchema.parse({});
  it.each([
    ['rl.episodeLength', cfg.rl.episodeLength, 4],
    ['rl.gamma', cfg.rl.gamma, 0.95],
    ['preprocessing.ctWindow.min', cfg.preprocessing.ctWindow.min, -79],
    ['preprocessing.ctWindow.max', cfg.preprocessing.ctWindow.max, 304],
    ['folds.k', cfg.folds.k, 4],
    ['training.rlBatchSize', cfg.training.rlBatchSize, 10],
    ['rl.adpWindow', cfg.rl.adpWindow, 5],
  ])('%s = %s', (_name, actual, expected) => {
    expect(actual).toBe(expected);
  });
  it('keeps alpha in (-1, 0) and beta in (0.2, 0.3)', () => {
    expect(cfg.rl.alpha).toBeGreaterThan(-1);
    expect(cfg.rl.alpha).toBeLessThan(0);
    expect(cfg.rl.beta).toBeGreaterThan(0.2);
    expect(cfg.rl.beta).toBeLessThan(0.3);
  });
  it('defaults to the CPU preset sizes', () => {
    expect(cfg.model.segNet).toEqual(SEG_NET_PRESETS.cpu);
  });
});

describe('invalid configs name the field', () => {
  it.each([
    [{ rl: { beta: 0.5 } }, 'rl.beta'],
    [{ rl: { alpha: 0.1 } }, 'rl.alpha'],
    [{ preprocessing: { size: 100 } }, 'preprocessing.size'],
    [{ dataset: { format: 'dicomdir' } }, 'dataset.format'],
    [{ variant: 'rl-only' }, 'variant'],
    [{ training: { epochs: -1 } }, 'training.epochs'],
    [{ model: { segNet: { channels: [1, 2] } } }, 'model.segNet.channels'],
    [{ rl: { adpWindow: 4 } }, 'rl.adpWindow'],
  ])('%j -> %s', (input, field) => {
    expect(() => parseWith(ExperimentConfigSchema, input, 'config test.json')).toThrow(ConfigError);
    try {
      parseWith(ExperimentConfigSchema, input, 'config test.json');
    } catch (e) {
      expect((e as Error).message).toContain('config test.json');
      expect((e as Error).message).toContain(field);
    }
  });
});

describe('deepMerge (flags override the file)', () => {
  it('merges nested objects and replaces arrays and scalars', () => {
    const base = { a: { b: 1, c: [1, 2] }, d: 'x' };
    expect(deepMerge(base, { a: { c: [3] }, d: undefined })).toEqual({ a: { b: 1, c: [3] }, d: 'x' });
    expect(base.a.c).toEqual([1, 2]);
  });
});

describe('API request schemas', () => {
  it('coerces paging query strings and rejects out-of-range page sizes', () => {
    expect(CasesQuerySchema.parse({ page: '2', pageSize: '10', sort: 'dice', order: 'desc' })).toMatchObject({ page: 2, pageSize: 10 });
    expect(CasesQuerySchema.safeParse({ pageSize: '100000' }).success).toBe(false);
  });
  it.each([['run_1', true], ['benign (12)', true], ['../etc/passwd', false], ['/abs', false], ['a/b', false], ['..', false]])(
    'IdSchema %s -> %s',
    (id, ok) => {
      expect(IdSchema.safeParse(id).success).toBe(ok);
    },
  );
});
