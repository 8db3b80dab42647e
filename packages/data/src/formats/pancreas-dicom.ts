/**
 * NIH Pancreas-CT as published on TCIA: one DICOM series per patient
 * (`.../PANCREAS_0001/<study>/<series>/*.dcm`) and one NIfTI label volume per patient
 * (`.../label0001.nii.gz`, 512 x 512 x n, slice axis last). DICOM headers and pixels are parsed
 * with dicom-parser (../dicom.ts; uncompressed transfer syntaxes); HU = stored value x RescaleSlope +
 * RescaleIntercept. Pairing: label slice k <-> the k-th DICOM image in ascending
 * ImagePositionPatient z (InstanceNumber when the position is missing); label voxel (i, j, k) is
 * pixel (row j, column i). Lesion = label > 0.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DataProblem, FormatLoader, RawSlice, SampleRef, ScanResult } from '../types';
import { DataFileError, problemOf } from '../types';
import { fbRatioOf } from '../fb-ratio';
import { countAbovePerSlice, readNiftiInfo, readSlices, sliceGeometry } from '../nifti';
import { mapLimit, naturalCompare } from '../util';
import { parseDicomFile, readDicomHu } from '../dicom';

interface DicomHeader {
  file: string;
  rows: number;
  cols: number;
  z: number | undefined;
  instance: number | undefined;
  spacing?: [number, number];
}

async function walk(dir: string, depth: number, out: { dirs: Map<string, string>; labels: Map<string, string> }): Promise<void> {
  if (depth < 0) return;
  let ents;
  try {
    ents = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of ents) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      const m = /^PANCREAS_(\d+)$/i.exec(e.name);
      if (m) out.dirs.set(String(Number(m[1])), p);
      else await walk(p, depth - 1, out);
    } else {
      const m = /^label(\d+)\.nii(\.gz)?$/i.exec(e.name);
      if (m) out.labels.set(String(Number(m[1])), p);
    }
  }
}

async function dicomFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const ents = await readdir(dir, { withFileTypes: true, recursive: true });
  for (const e of ents) if (e.isFile() && /\.dcm$/i.test(e.name)) out.push(join(e.parentPath ?? dir, e.name));
  return out.sort(naturalCompare);
}

async function readHeader(file: string): Promise<DicomHeader> {
  const ds = parseDicomFile(file, await readFile(file), true);
  const rows = ds.uint16('x00280010');
  const cols = ds.uint16('x00280011');
  if (!rows || !cols) throw new DataFileError(file, 'DICOM without Rows/Columns (not an image)');
  const pos = ds.string('x00200032');
  const z = pos ? Number(pos.split('\\')[2]) : undefined;
  const inst = ds.intString('x00200013');
  const ps = ds.string('x00280030');
  const sp = ps ? ps.split('\\').map(Number) : undefined;
  return { file, rows, cols, z: Number.isFinite(z) ? z : undefined, instance: Number.isFinite(inst) ? inst : undefined, spacing: sp && sp.length === 2 && sp.every((v) => v > 0) ? [sp[1], sp[0]] : undefined };
}

export function pancreasVolumeLoader(root: string, threshold: number): FormatLoader {
  void threshold; // label volumes are integer labels: lesion = label > 0
  return {
    async scan(onProgress): Promise<ScanResult> {
      const found = { dirs: new Map<string, string>(), labels: new Map<string, string>() };
      await walk(root, 4, found);
      if (found.dirs.size === 0 && found.labels.size === 0) {
        throw new Error(`${root}: neither images/ + masks/ (2-D exports) nor PANCREAS_XXXX DICOM folders with labelXXXX.nii.gz found`);
      }
      const refs: SampleRef[] = [];
      const problems: DataProblem[] = [];
      for (const [num, lbl] of found.labels) if (!found.dirs.has(num)) problems.push({ file: lbl, message: `label without DICOM series (no PANCREAS_${num.padStart(4, '0')} folder)` });
      const patients = [...found.dirs.keys()].sort((a, b) => Number(a) - Number(b));
      let done = 0;
      for (const num of patients) {
        const dir = found.dirs.get(num)!;
        const patient = `PANCREAS_${num.padStart(4, '0')}`;
        try {
          const lbl = found.labels.get(num);
          if (!lbl) {
            problems.push({ file: dir, message: 'DICOM series without label (no labelXXXX.nii.gz)' });
            continue;
          }
          const files = await dicomFiles(dir);
          const heads: DicomHeader[] = [];
          await mapLimit(files, 4, async (f) => {
            try {
              heads.push(await readHeader(f));
            } catch (e) {
              problems.push(problemOf(e, f));
            }
          });
          heads.sort((a, b) => (a.z !== undefined && b.z !== undefined ? a.z - b.z : (a.instance ?? 0) - (b.instance ?? 0)) || naturalCompare(a.file, b.file));
          const info = await readNiftiInfo(lbl);
          const { width, height, slices } = sliceGeometry(info, 2);
          if (heads.length !== slices) {
            problems.push({ file: lbl, message: `label has ${slices} slices but ${dir} has ${heads.length} readable DICOM images` });
            continue;
          }
          const counts = await countAbovePerSlice(info, 2, 0);
          counts.forEach((fg, k) => {
            const h = heads[k];
            if (h.cols !== width || h.rows !== height) {
              problems.push({ file: h.file, message: `DICOM is ${h.cols}x${h.rows} but label slice ${k} of ${lbl} is ${width}x${height}` });
              return;
            }
            refs.push({
              id: `${patient}_${String(k).padStart(4, '0')}`,
              patient,
              slice: k,
              format: 'pancreas-ct',
              source: { image: h.file, mask: [lbl] },
              width,
              height,
              spacing: h.spacing ?? [info.spacing[0], info.spacing[1]],
              foregroundPixels: fg,
              fbRatio: fbRatioOf(fg, width * height),
              locator: { dicom: h.file, label: lbl, slice: k },
            });
          });
        } catch (e) {
          problems.push(problemOf(e, dir));
        } finally {
          onProgress?.(++done, patients.length);
        }
      }
      return { refs, problems };
    },
    async loadRaw(ref) {
      return (await this.loadRawMany!([ref]))[0];
    },
    async loadRawMany(refs: SampleRef[]): Promise<RawSlice[]> {
      const out = new Array<RawSlice>(refs.length);
      const groups = new Map<string, number[]>();
      refs.forEach((r, n) => groups.set(String(r.locator.label), [...(groups.get(String(r.locator.label)) ?? []), n]));
      for (const [lbl, idx] of groups) {
        const info = await readNiftiInfo(lbl);
        const labs = await readSlices(info, 2, [...new Set(idx.map((n) => Number(refs[n].locator.slice)))], false);
        for (const n of idx) {
          const { hu, width, height } = await readDicomHu(String(refs[n].locator.dicom));
          const l = labs.get(Number(refs[n].locator.slice))!;
          if (l.length !== hu.length) throw new DataFileError(String(refs[n].locator.dicom), `DICOM is ${width}x${height}, label slice has ${l.length} pixels`);
          const mask = new Uint8Array(l.length);
          for (let p = 0; p < l.length; p++) mask[p] = l[p] > 0 ? 1 : 0;
          out[n] = { image: hu, mask, width, height, hu: true, rgbToGrey: false };
        }
      }
      return out;
    },
  };
}
