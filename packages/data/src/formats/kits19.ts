/**
 * KiTS19 in its official layout: `case_XXXXX/imaging.nii.gz` (HU) + `segmentation.nii.gz`
 * (0 background, 1 kidney, 2 tumour), 2-D slices along the first axis. A case with only the
 * segmentation is still inspectable (its refs have no `source.image`; loading pixels fails with
 * a message naming the missing file).
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { DataProblem, FormatLoader, RawSlice, SampleRef, ScanResult } from '../types';
import { DataFileError, problemOf } from '../types';
import { fbRatioOf } from '../fb-ratio';
import { countLabelsPerSlice, readNiftiInfo, readSlices, sliceGeometry, type NiftiInfo } from '../nifti';
import { isDir, isFile, naturalCompare } from '../util';

export type KitsLesion = 'tumour' | 'kidney' | 'kidney+tumour';

/** Label values that count as lesion. */
export const lesionLabels = (lesion: KitsLesion): number[] => (lesion === 'tumour' ? [2] : lesion === 'kidney' ? [1] : [1, 2]);

async function firstExisting(dir: string, names: string[]): Promise<string | undefined> {
  for (const n of names) if (await isFile(join(dir, n))) return join(dir, n);
  return undefined;
}

export function kits19Loader(root: string, lesion: KitsLesion): FormatLoader {
  const labels = lesionLabels(lesion);
  return {
    async scan(onProgress): Promise<ScanResult> {
      if (!(await isDir(root))) throw new Error(`${root}: folder not found`);
      const cases = (await readdir(root)).filter((n) => /^case_\d+$/.test(n)).sort(naturalCompare);
      if (cases.length === 0) throw new Error(`${root}: no case_XXXXX folders (KiTS19 layout)`);
      const refs: SampleRef[] = [];
      const problems: DataProblem[] = [];
      let done = 0;
      for (const c of cases) {
        const dir = join(root, c);
        try {
          const seg = await firstExisting(dir, ['segmentation.nii.gz', 'segmentation.nii']);
          const img = await firstExisting(dir, ['imaging.nii.gz', 'imaging.nii']);
          if (!seg) {
            problems.push({ file: join(dir, 'segmentation.nii.gz'), message: 'missing: case has no segmentation' });
            continue;
          }
          const segInfo = await readNiftiInfo(seg);
          let imgInfo: NiftiInfo | undefined;
          if (img) {
            try {
              imgInfo = await readNiftiInfo(img);
              if (imgInfo.dims.join('x') !== segInfo.dims.join('x')) {
                problems.push({ file: img, message: `imaging is ${imgInfo.dims.join('x')} but segmentation is ${segInfo.dims.join('x')}` });
                imgInfo = undefined;
              }
            } catch (e) {
              problems.push(problemOf(e, img));
            }
          }
          const counts = await countLabelsPerSlice(segInfo, 0, labels);
          const { width, height } = sliceGeometry(segInfo, 0);
          counts.forEach((cnt, slice) => {
            const fg = cnt.reduce((a, b) => a + b, 0);
            refs.push({
              id: `${c}_${String(slice).padStart(4, '0')}`,
              patient: c,
              slice,
              format: 'kits19',
              source: { image: imgInfo ? img : undefined, mask: [seg] },
              width,
              height,
              spacing: [segInfo.spacing[2], segInfo.spacing[1]],
              foregroundPixels: fg,
              fbRatio: fbRatioOf(fg, width * height),
              locator: imgInfo && img ? { segmentation: seg, imaging: img, slice } : { segmentation: seg, slice },
            });
          });
        } catch (e) {
          problems.push(problemOf(e, dir));
        } finally {
          onProgress?.(++done, cases.length);
        }
      }
      return { refs, problems };
    },
    async loadRaw(ref: SampleRef): Promise<RawSlice> {
      return (await this.loadRawMany!([ref]))[0];
    },
    async loadRawMany(refs: SampleRef[]): Promise<RawSlice[]> {
      // Group by volume so each file is streamed once for all requested slices.
      const out = new Array<RawSlice>(refs.length);
      const groups = new Map<string, number[]>();
      refs.forEach((r, n) => {
        const key = String(r.locator.segmentation);
        groups.set(key, [...(groups.get(key) ?? []), n]);
      });
      for (const [seg, idx] of groups) {
        const first = refs[idx[0]];
        const img = first.locator.imaging as string | undefined;
        if (!img) throw new DataFileError(join(seg, '..', 'imaging.nii.gz'), 'missing: this case has only a segmentation (inspectable, not loadable)');
        const wanted = [...new Set(idx.map((n) => Number(refs[n].locator.slice)))];
        const segInfo = await readNiftiInfo(seg);
        const imgInfo = await readNiftiInfo(img);
        const [hu, lab] = await Promise.all([readSlices(imgInfo, 0, wanted, true), readSlices(segInfo, 0, wanted, false)]);
        const { width, height } = sliceGeometry(segInfo, 0);
        for (const n of idx) {
          const s = Number(refs[n].locator.slice);
          const l = lab.get(s)!;
          const mask = new Uint8Array(l.length);
          for (let p = 0; p < l.length; p++) mask[p] = labels.includes(l[p]) ? 1 : 0;
          out[n] = { image: hu.get(s)!, mask, width, height, hu: true, rgbToGrey: false };
        }
      }
      return out;
    },
  };
}
