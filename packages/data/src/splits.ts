/**
 * Patient-level k-fold splits (paper Section IV: 4 fixed folds by patient/case). A patient's
 * slices always share one fold. Stratified by fbRatio interval: each patient is put in the
 * stratum of its mean fbRatio over slices with foreground (patients without foreground form
 * their own stratum), patients of each stratum are dealt over the folds in a seeded order,
 * each to the fold holding the fewest patients of that stratum (ties: fewest slices, lowest
 * index). Saved as JSON that the experiments reuse.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { intervalIndex, type IntervalSpec } from '@mrlseg/metrics';
import type { SampleRef } from './types';
import { makeRng } from './util';

export interface SplitFold {
  index: number;
  /** Patients in this (test) fold, sorted. */
  patients: string[];
  /** Sample ids in this fold, sorted. */
  samples: string[];
}

export interface Split {
  kind: 'mrlseg-split';
  version: 1;
  k: number;
  seed: number;
  stratify: boolean;
  intervals: IntervalSpec;
  dataset?: { format: string; root?: string };
  folds: SplitFold[];
}

export interface MakeFoldsOptions {
  k?: number;
  seed?: number;
  stratify?: boolean;
  intervals?: IntervalSpec;
  dataset?: { format: string; root?: string };
}

/** The stratum of a patient: 'none' (no foreground), the interval index, or 'outside'. */
function stratumOf(refs: SampleRef[], intervals: IntervalSpec): string {
  const fg = refs.filter((r) => r.foregroundPixels > 0);
  if (fg.length === 0) return 'none';
  const mean = fg.reduce((a, r) => a + r.fbRatio, 0) / fg.length;
  const i = intervalIndex(mean, intervals);
  return i < 0 ? 'outside' : `i${i}`;
}

/** Builds a k-fold split by patient. Throws when there are fewer patients than folds. */
export function makeFolds(refs: readonly SampleRef[], opts: MakeFoldsOptions = {}): Split {
  const k = opts.k ?? 4;
  const seed = opts.seed ?? 0;
  const stratify = opts.stratify ?? true;
  const intervals = opts.intervals ?? 'ct';
  if (!Number.isInteger(k) || k < 2) throw new Error(`makeFolds: k must be an integer >= 2, got ${k}`);
  if (!Number.isInteger(seed)) throw new Error(`makeFolds: seed must be an integer, got ${seed}`);
  const byPatient = new Map<string, SampleRef[]>();
  const ids = new Set<string>();
  for (const r of refs) {
    if (ids.has(r.id)) throw new Error(`makeFolds: duplicate sample id '${r.id}'`);
    ids.add(r.id);
    byPatient.set(r.patient, [...(byPatient.get(r.patient) ?? []), r]);
  }
  if (byPatient.size < k) throw new Error(`makeFolds: ${byPatient.size} patient(s) cannot fill k = ${k} folds (a patient never spans two folds)`);
  const strata = new Map<string, string[]>();
  for (const [p, rs] of [...byPatient].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    const s = stratify ? stratumOf(rs, intervals) : 'all';
    strata.set(s, [...(strata.get(s) ?? []), p]);
  }
  const rng = makeRng(seed);
  const folds = Array.from({ length: k }, () => ({ patients: [] as string[], slices: 0 }));
  for (const s of [...strata.keys()].sort()) {
    const ps = strata.get(s)!;
    for (let i = ps.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [ps[i], ps[j]] = [ps[j], ps[i]];
    }
    const inStratum = new Array<number>(k).fill(0);
    for (const p of ps) {
      let best = 0;
      for (let f = 1; f < k; f++) {
        if (inStratum[f] < inStratum[best] || (inStratum[f] === inStratum[best] && (folds[f].slices < folds[best].slices || (folds[f].slices === folds[best].slices && folds[f].patients.length < folds[best].patients.length)))) best = f;
      }
      inStratum[best]++;
      folds[best].patients.push(p);
      folds[best].slices += byPatient.get(p)!.length;
    }
  }
  return {
    kind: 'mrlseg-split',
    version: 1,
    k,
    seed,
    stratify,
    intervals,
    ...(opts.dataset ? { dataset: opts.dataset } : {}),
    folds: folds.map((f, index) => ({
      index,
      patients: [...f.patients].sort(),
      samples: f.patients.flatMap((p) => byPatient.get(p)!.map((r) => r.id)).sort(),
    })),
  };
}

/** Train/test sample ids of fold `fold`: test = the fold, train = every other fold. */
export function foldSamples(split: Split, fold: number): { train: string[]; test: string[] } {
  if (!Number.isInteger(fold) || fold < 0 || fold >= split.k) throw new Error(`foldSamples: fold must be an integer in [0, ${split.k}), got ${fold}`);
  return { test: split.folds[fold].samples, train: split.folds.filter((f) => f.index !== fold).flatMap((f) => f.samples) };
}

/** Train/test refs of fold `fold`; throws naming split ids that are not among `refs`. */
export function applySplit(split: Split, refs: readonly SampleRef[], fold: number): { train: SampleRef[]; test: SampleRef[] } {
  const byId = new Map(refs.map((r) => [r.id, r]));
  const { train, test } = foldSamples(split, fold);
  const missing = [...train, ...test].filter((id) => !byId.has(id));
  if (missing.length) throw new Error(`applySplit: ${missing.length} sample id(s) of the split are not in the dataset (first: '${missing[0]}'); was the split made for another dataset?`);
  return { train: train.map((id) => byId.get(id)!), test: test.map((id) => byId.get(id)!) };
}

/** Writes `split` as pretty JSON. */
export async function saveSplit(file: string, split: Split): Promise<void> {
  await writeFile(file, `${JSON.stringify(split, null, 2)}\n`);
}

/** Reads and checks a split file; errors name the file and the field. */
export async function loadSplit(file: string): Promise<Split> {
  let j: Partial<Split>;
  try {
    j = JSON.parse(await readFile(file, 'utf8')) as Partial<Split>;
  } catch (e) {
    throw new Error(`loadSplit: cannot read split file '${file}': ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  const bad = (field: string, want: string) => new Error(`loadSplit: '${file}': ${field} must be ${want}`);
  if (j.kind !== 'mrlseg-split') throw bad('kind', "'mrlseg-split'");
  if (j.version !== 1) throw bad('version', '1');
  if (!Number.isInteger(j.k) || (j.k as number) < 2) throw bad('k', 'an integer >= 2');
  if (!Array.isArray(j.folds) || j.folds.length !== j.k) throw bad('folds', `an array of k = ${j.k} folds`);
  const seen = new Map<string, number>();
  j.folds.forEach((f, i) => {
    if (f.index !== i || !Array.isArray(f.patients) || !Array.isArray(f.samples)) throw bad(`folds[${i}]`, `{index: ${i}, patients: string[], samples: string[]}`);
    for (const p of f.patients) {
      if (seen.has(p)) throw new Error(`loadSplit: '${file}': patient '${p}' appears in folds ${seen.get(p)} and ${i}`);
      seen.set(p, i);
    }
  });
  return j as Split;
}
