/**
 * `openDataset`: one entry point over every format. `list()` gives cheap metadata (no pixels are
 * kept), `load()` decodes one slice, runs the paper's preprocessing (cached on disk when a cache
 * folder is given) and, for training, seeded augmentation.
 */
import { join } from 'node:path';
import { PreprocessingSchema, type DatasetConfig, type PreprocessingConfig, type SampleMeta } from '@mrlseg/types';
import { augmentSample } from './augment';
import { assertCacheOutside, readCached, sampleKey, writeCached } from './cache';
import { busiLoader, folderLoader, kits19SlicesLoader, pancreas2dLoader } from './formats/two-d';
import { kits19Loader } from './formats/kits19';
import { pancreasVolumeLoader } from './formats/pancreas-dicom';
import { preprocessingHash, preprocessSlice } from './preprocess';
import { generateSyntheticSlice, syntheticRef, type SyntheticOptions } from './synthetic';
import type { DataProblem, FormatLoader, RawSlice, Sample, SampleRef, ScanResult } from './types';
import { isDir, makeRng, mixSeed, type Rng } from './util';

export interface OpenDatasetOptions {
  /** Preprocessed-slice cache folder (else `preprocessing.cacheDir`; none: no disk cache). */
  cacheDir?: string;
  /** Progress of the scan (files or volumes done / total). */
  onProgress?: (done: number, total: number) => void;
}

export interface LoadOptions {
  /** Apply the configured augmentation (training only). */
  augment?: boolean;
  /** Random stream for augmentation; default: seeded from `seed` and the sample id. */
  rng?: Rng;
  seed?: number;
}

export interface Dataset {
  readonly format: DatasetConfig['format'];
  readonly root: string | undefined;
  /** Scans the dataset once (memoised): usable samples and every problem found. */
  scan(): Promise<ScanResult>;
  /** Usable samples' metadata (capped at `maxSamples`). */
  list(): Promise<SampleRef[]>;
  /** Problems found by the scan (file named in each). */
  problems(): Promise<DataProblem[]>;
  /** Loads and preprocesses one sample. */
  load(ref: SampleRef, preprocessing?: PreprocessingConfig, opts?: LoadOptions): Promise<Sample>;
  /** Loads several samples; volume formats stream each volume once for all its requested slices. */
  loadMany(refs: SampleRef[], preprocessing?: PreprocessingConfig, opts?: LoadOptions): Promise<Sample[]>;
}

function syntheticLoader(o: SyntheticOptions): FormatLoader {
  return {
    async scan(onProgress) {
      const refs: SampleRef[] = [];
      for (let i = 0; i < o.count; i++) {
        refs.push(syntheticRef(o, i));
        onProgress?.(i + 1, o.count);
      }
      return { refs, problems: [] };
    },
    async loadRaw(ref) {
      return generateSyntheticSlice(o, Number(ref.locator.index));
    },
  };
}

async function loaderFor(cfg: DatasetConfig): Promise<FormatLoader> {
  const root = cfg.root;
  if (cfg.format === 'synthetic') {
    // A written synthetic dataset (mrlseg data synth) is read back as a folder; without root it is generated.
    if (root && (await isDir(join(root, 'images')))) return folderLoader(root, cfg.maskThreshold, 'synthetic');
    if (root) throw new Error(`dataset.root '${root}': no images/ folder (write one with 'mrlseg data synth --out ${root}', or omit root to generate in memory)`);
    return syntheticLoader(cfg.synthetic);
  }
  if (!root) throw new Error(`dataset.root is required for format '${cfg.format}'`);
  if (!(await isDir(root))) throw new Error(`dataset.root '${root}': folder not found`);
  switch (cfg.format) {
    case 'kits19':
      return kits19Loader(root, cfg.lesion);
    case 'kits19-slices':
      return kits19SlicesLoader(root, cfg.lesion);
    case 'pancreas-ct':
      return (await isDir(join(root, 'images'))) ? pancreas2dLoader(root, cfg.maskThreshold) : pancreasVolumeLoader(root, cfg.maskThreshold);
    case 'busi':
      return busiLoader(root, cfg.maskThreshold);
    case 'folder':
      return folderLoader(root, cfg.maskThreshold);
  }
}

const metaOf = (ref: SampleRef): SampleMeta => {
  const { locator: _locator, ...meta } = ref;
  void _locator;
  return { ...meta, source: { ...meta.source, mask: [...meta.source.mask] } };
};

const hashId = (id: string) => {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return h >>> 0;
};

/**
 * Opens the dataset described by `cfg` (a parsed `DatasetSchema` from @mrlseg/types).
 * Nothing is read until `scan()`/`list()`/`load()`; nothing is ever written into `cfg.root`.
 */
export function openDataset(cfg: DatasetConfig, opts: OpenDatasetOptions = {}): Dataset {
  let loaderP: Promise<FormatLoader> | undefined;
  let scanP: Promise<ScanResult> | undefined;
  const loader = () => (loaderP ??= loaderFor(cfg));
  const scan = () =>
    (scanP ??= (async () => {
      const r = await (await loader()).scan(opts.onProgress);
      return cfg.maxSamples !== undefined ? { refs: r.refs.slice(0, cfg.maxSamples), problems: r.problems } : r;
    })());

  const finish = (ref: SampleRef, pre: ReturnType<typeof preprocessSlice>, lo: LoadOptions, p: PreprocessingConfig): Sample => {
    let { image, mask } = pre;
    const record = { ...pre.record, augmentation: [] as string[] };
    if (lo.augment && p.augmentation.enabled) {
      const rng = lo.rng ?? makeRng(mixSeed(lo.seed ?? 0, hashId(ref.id)));
      const a = augmentSample(image, mask, pre.width, p.augmentation, rng);
      image = a.image;
      mask = a.mask;
      record.augmentation = a.steps;
    }
    // Known distractors follow the sample only while its pixels stay where they were (no augmentation).
    const distractor = record.augmentation.length === 0 ? pre.distractor : undefined;
    return { meta: { ...metaOf(ref), preprocessing: record }, image, mask, width: pre.width, height: pre.height, ...(distractor ? { distractor } : {}) };
  };

  const cacheDirFor = (p: PreprocessingConfig) => {
    const dir = opts.cacheDir ?? p.cacheDir;
    if (dir) assertCacheOutside(dir, cfg.root);
    return dir;
  };
  const keyOf = (ref: SampleRef) => {
    const files = [ref.source.image, ...ref.source.mask].filter((f): f is string => typeof f === 'string');
    return sampleKey(ref.id, files, { format: cfg.format, lesion: cfg.lesion, threshold: cfg.maskThreshold, locator: ref.locator });
  };

  const loadMany = async (refs: SampleRef[], preprocessing?: PreprocessingConfig, lo: LoadOptions = {}): Promise<Sample[]> => {
    const p = preprocessing ?? PreprocessingSchema.parse({});
    const dir = cfg.format === 'synthetic' && !cfg.root ? undefined : cacheDirFor(p);
    const hash = preprocessingHash(p);
    const pres = new Array<ReturnType<typeof preprocessSlice> | undefined>(refs.length);
    const keys: string[] = [];
    if (dir) {
      for (let n = 0; n < refs.length; n++) {
        keys[n] = await keyOf(refs[n]);
        const c = await readCached(dir, hash, keys[n]);
        if (c) pres[n] = c;
      }
    }
    const missing = refs.map((_, n) => n).filter((n) => !pres[n]);
    if (missing.length) {
      const l = await loader();
      const raws: RawSlice[] = l.loadRawMany ? await l.loadRawMany(missing.map((n) => refs[n])) : await Promise.all(missing.map((n) => l.loadRaw(refs[n])));
      for (let m = 0; m < missing.length; m++) {
        const n = missing[m];
        const raw = raws[m];
        if (raw.width !== refs[n].width || raw.height !== refs[n].height) {
          throw new Error(`${refs[n].source.image ?? refs[n].id}: size changed since the scan (${refs[n].width}x${refs[n].height} -> ${raw.width}x${raw.height})`);
        }
        pres[n] = preprocessSlice(raw, p);
        if (dir) await writeCached(dir, hash, keys[n], pres[n]!);
      }
    }
    return refs.map((ref, n) => finish(ref, pres[n]!, lo, p));
  };

  return {
    format: cfg.format,
    root: cfg.root,
    scan,
    list: async () => (await scan()).refs,
    problems: async () => (await scan()).problems,
    load: async (ref, preprocessing, lo) => (await loadMany([ref], preprocessing, lo))[0],
    loadMany,
  };
}

