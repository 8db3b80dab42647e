/**
 * The 2-D layouts: KiTS19 slice exports, NIH Pancreas-CT slice exports, BUSI, and generic
 * image/mask folders (including nnU-Net `dataset.json` with imagesTr/labelsTr).
 */
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { DatasetFormat } from '@mrlseg/types';
import type { DataProblem, FormatLoader } from '../types';
import { isDir, isFile, listImages, naturalCompare, stem } from '../util';
import { pairedLoader, type PairEntry } from './paired-2d';

/** Patient id and slice number from a file stem: a trailing `_N` or `-N` is the slice ("10036_142" -> 10036, 142). */
export function patientAndSlice(name: string): { patient: string; slice: number } {
  const m = /^(.+?)[_-](\d+)$/.exec(name);
  if (m) return { patient: m[1], slice: Number(m[2]) };
  return { patient: name, slice: 0 };
}

/**
 * images/ + masks/ matched by file stem (masks may use another extension). An image without a
 * mask and a mask without an image are problems.
 */
async function pairsFromFolders(root: string, imagesDir = 'images', masksDir = 'masks'): Promise<{ entries: PairEntry[]; problems: DataProblem[] }> {
  const problems: DataProblem[] = [];
  const imgDir = join(root, imagesDir);
  const mskDir = join(root, masksDir);
  if (!(await isDir(imgDir))) throw new Error(`${imgDir}: folder not found (expected ${imagesDir}/ and ${masksDir}/ under ${root})`);
  if (!(await isDir(mskDir))) throw new Error(`${mskDir}: folder not found (expected ${imagesDir}/ and ${masksDir}/ under ${root})`);
  const images = await listImages(imgDir);
  const masks = await listImages(mskDir);
  const maskByStem = new Map<string, string>();
  for (const m of masks) maskByStem.set(stem(m), m);
  const used = new Set<string>();
  const entries: PairEntry[] = [];
  for (const name of images) {
    const s = stem(name);
    const m = maskByStem.get(s) ?? maskByStem.get(`${s}_mask`);
    if (!m) {
      problems.push({ file: join(imgDir, name), message: `image without mask (no ${masksDir}/${s}.* found)` });
      continue;
    }
    used.add(m);
    const { patient, slice } = patientAndSlice(s);
    entries.push({ id: s, patient, slice, image: join(imgDir, name), masks: [join(mskDir, m)] });
  }
  for (const m of masks) if (!used.has(m)) problems.push({ file: join(mskDir, m), message: 'mask without image' });
  return { entries, problems };
}

export function kits19SlicesLoader(root: string, lesion: 'tumour' | 'kidney' | 'kidney+tumour'): FormatLoader {
  const channels: ('r' | 'b')[] = lesion === 'tumour' ? ['r'] : lesion === 'kidney' ? ['b'] : ['r', 'b'];
  return pairedLoader('kits19-slices', () => pairsFromFolders(root), { kind: 'rgb', channels });
}

export function pancreas2dLoader(root: string, threshold: number): FormatLoader {
  return pairedLoader('pancreas-ct', () => pairsFromFolders(root), { kind: 'threshold', threshold });
}

const BUSI_CLASSES = ['benign', 'malignant', 'normal'] as const;

/** BUSI: `{benign,malignant,normal}/<cls> (N).png` + `<cls> (N)_mask.png` (+ `_mask_1.png`, ...: union). */
export function busiLoader(root: string, threshold: number): FormatLoader {
  const entries = async () => {
    const problems: DataProblem[] = [];
    const out: PairEntry[] = [];
    let found = 0;
    for (const cls of BUSI_CLASSES) {
      const dir = join(root, cls);
      if (!(await isDir(dir))) continue;
      found++;
      const names = await listImages(dir);
      const isMask = (n: string) => /_mask(_\d+)?$/.test(stem(n));
      const maskNames = names.filter(isMask);
      const used = new Set<string>();
      for (const n of names.filter((x) => !isMask(x))) {
        const s = stem(n);
        const masks = maskNames.filter((m) => new RegExp(`^${s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}_mask(_\\d+)?$`).test(stem(m))).sort(naturalCompare);
        masks.forEach((m) => used.add(m));
        if (masks.length === 0 && cls !== 'normal') {
          problems.push({ file: join(dir, n), message: 'image without mask (no _mask.png found)' });
          continue;
        }
        out.push({ id: s, patient: s, slice: 0, image: join(dir, n), masks: masks.map((m) => join(dir, m)) });
      }
      for (const m of maskNames) if (!used.has(m)) problems.push({ file: join(dir, m), message: 'mask without image' });
    }
    if (found === 0) throw new Error(`${root}: no BUSI class folder (expected benign/, malignant/ or normal/)`);
    return { entries: out, problems };
  };
  // "normal" cases: the mask is empty by definition when no mask file exists.
  return pairedLoader('busi', entries, { kind: 'threshold', threshold }, (e) => e.masks.length === 0 && basename(dirname(e.image)) === 'normal');
}

interface NnUnetJson {
  training?: { image: string; label: string }[];
  file_ending?: string;
}

/** nnU-Net dataset.json: v1 lists `training` pairs; v2 pairs imagesTr/<case>_0000<ext> with labelsTr/<case><ext>. */
async function pairsFromNnUnet(root: string): Promise<{ entries: PairEntry[]; problems: DataProblem[] }> {
  const file = join(root, 'dataset.json');
  let json: NnUnetJson;
  try {
    json = JSON.parse(await readFile(file, 'utf8')) as NnUnetJson;
  } catch (e) {
    throw new Error(`${file}: cannot read nnU-Net dataset.json (${e instanceof Error ? e.message : String(e)})`, { cause: e });
  }
  const problems: DataProblem[] = [];
  const entries: PairEntry[] = [];
  const push = (id: string, image: string, label: string) => {
    const { patient, slice } = patientAndSlice(id);
    entries.push({ id, patient, slice, image, masks: [label] });
  };
  if (Array.isArray(json.training)) {
    for (const t of json.training) {
      if (typeof t?.image !== 'string' || typeof t?.label !== 'string') {
        problems.push({ file, message: 'training entry without string "image" and "label"' });
        continue;
      }
      const image = resolve(root, t.image);
      const label = resolve(root, t.label);
      // v1 lists the image without the channel suffix; the file on disk carries _0000.
      const onDisk = (await isFile(image)) ? image : image.replace(/(\.[^./]+)$/, '_0000$1');
      if (!(await isFile(onDisk))) problems.push({ file: image, message: 'image listed in dataset.json not found' });
      else if (!(await isFile(label))) problems.push({ file: label, message: 'label listed in dataset.json not found' });
      else push(stem(basename(label)), onDisk, label);
    }
    return { entries, problems };
  }
  const ending = json.file_ending ?? '.png';
  const imgDir = join(root, 'imagesTr');
  const lblDir = join(root, 'labelsTr');
  const labels = new Set((await readdir(lblDir).catch(() => [] as string[])).filter((n) => n.endsWith(ending)));
  const usedLabels = new Set<string>();
  for (const n of (await readdir(imgDir).catch(() => [] as string[])).filter((x) => x.endsWith(ending)).sort(naturalCompare)) {
    const m = new RegExp(`^(.*)_0000${ending.replace('.', '\\.')}$`).exec(n);
    if (!m) continue; // other channels (_0001, ...) are not read: samples are single-channel
    const label = `${m[1]}${ending}`;
    if (!labels.has(label)) {
      problems.push({ file: join(imgDir, n), message: `image without label (no labelsTr/${label})` });
      continue;
    }
    usedLabels.add(label);
    push(m[1], join(imgDir, n), join(lblDir, label));
  }
  for (const l of labels) if (!usedLabels.has(l)) problems.push({ file: join(lblDir, l), message: 'label without image' });
  return { entries, problems };
}

/**
 * `folder`: images/ + masks/ matched by name (PNG, JPEG, TIFF; mask > threshold is lesion), or an
 * nnU-Net dataset (dataset.json, imagesTr/, labelsTr/; label > 0 is lesion).
 */
export async function folderLoader(root: string, threshold: number, format: DatasetFormat = 'folder'): Promise<FormatLoader> {
  if (await isFile(join(root, 'dataset.json'))) {
    return pairedLoader(format, () => pairsFromNnUnet(root), { kind: 'threshold', threshold: 0 });
  }
  return pairedLoader(format, () => pairsFromFolders(root), { kind: 'threshold', threshold });
}
