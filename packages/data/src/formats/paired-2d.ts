/**
 * The common core of the 2-D formats: an image file and one or more mask files per sample.
 * Scanning decodes both (so a truncated or corrupt file is found at inspection time), checks the
 * sizes agree, and counts the lesion pixels at the original resolution.
 */
import type { DatasetFormat } from '@mrlseg/types';
import { decodeGrey, decodeRgb } from '../image-io';
import { computeFbRatio } from '@mrlseg/metrics';
import { DataFileError, problemOf, type DataProblem, type FormatLoader, type RawSlice, type SampleRef, type ScanResult } from '../types';
import { mapLimit } from '../util';

/** How the mask files of a sample become one binary lesion mask. */
export type MaskRule =
  | { kind: 'threshold'; threshold: number }
  /** RGB label colours: foreground where any listed channel > 127 and the others are not (KiTS19 slices). */
  | { kind: 'rgb'; channels: ('r' | 'g' | 'b')[] };

export interface PairEntry {
  id: string;
  patient: string;
  slice: number;
  image: string;
  masks: string[];
}

/** Decodes and unions the masks of `entry` under `rule`; throws a DataFileError naming the file. */
async function decodeMasks(entry: PairEntry, rule: MaskRule): Promise<{ width: number; height: number; data: Uint8Array }> {
  let acc: { width: number; height: number; data: Uint8Array } | undefined;
  for (const file of entry.masks) {
    let m: { width: number; height: number; data: Uint8Array };
    if (rule.kind === 'threshold') {
      const g = await decodeGrey(file);
      const data = new Uint8Array(g.data.length);
      for (let i = 0; i < data.length; i++) data[i] = g.data[i] > rule.threshold ? 1 : 0;
      m = { width: g.width, height: g.height, data };
    } else {
      const c = await decodeRgb(file);
      const want = [rule.channels.includes('r'), rule.channels.includes('g'), rule.channels.includes('b')];
      const data = new Uint8Array(c.width * c.height);
      for (let i = 0, p = 0; i < data.length; i++, p += 3) {
        data[i] = (want[0] && c.data[p] > 127) || (want[1] && c.data[p + 1] > 127) || (want[2] && c.data[p + 2] > 127) ? 1 : 0;
      }
      m = { width: c.width, height: c.height, data };
    }
    if (!acc) acc = m;
    else {
      if (m.width !== acc.width || m.height !== acc.height) {
        throw new DataFileError(file, `mask is ${m.width}x${m.height}, but ${entry.masks[0]} is ${acc.width}x${acc.height}`);
      }
      for (let i = 0; i < acc.data.length; i++) acc.data[i] |= m.data[i];
    }
  }
  if (!acc) throw new DataFileError(entry.image, 'no mask file');
  return acc;
}

async function decodePair(entry: PairEntry, rule: MaskRule, emptyMask: boolean) {
  const img = await decodeGrey(entry.image);
  const mask = emptyMask ? { width: img.width, height: img.height, data: new Uint8Array(img.width * img.height) } : await decodeMasks(entry, rule);
  if (mask.width !== img.width || mask.height !== img.height) {
    throw new DataFileError(entry.masks[0], `mask is ${mask.width}x${mask.height} but its image ${entry.image} is ${img.width}x${img.height}`);
  }
  return { img, mask };
}

/**
 * A loader over a list of image/mask pairs. `emptyMaskFor(entry)` marks samples whose mask is
 * empty by definition (BUSI "normal" cases without mask files).
 */
export function pairedLoader(
  format: DatasetFormat,
  entries: () => Promise<{ entries: PairEntry[]; problems: DataProblem[] }>,
  rule: MaskRule,
  emptyMaskFor: (e: PairEntry) => boolean = () => false,
): FormatLoader {
  const fromRef = (ref: SampleRef): PairEntry => ({
    id: ref.id,
    patient: ref.patient,
    slice: ref.slice,
    image: String(ref.locator.image),
    masks: (ref.locator.masks as string[]) ?? [],
  });
  return {
    async scan(onProgress): Promise<ScanResult> {
      const { entries: list, problems } = await entries();
      let done = 0;
      const results = await mapLimit(list, 4, async (e) => {
        try {
          const { img, mask } = await decodePair(e, rule, emptyMaskFor(e));
          const { foreground: fg, fbRatio } = computeFbRatio(mask.data);
          const ref: SampleRef = {
            id: e.id,
            patient: e.patient,
            slice: e.slice,
            format,
            source: { image: e.image, mask: e.masks },
            width: img.width,
            height: img.height,
            foregroundPixels: fg,
            fbRatio,
            locator: { image: e.image, masks: e.masks },
          };
          return ref;
        } catch (err) {
          problems.push(problemOf(err, e.image));
          return null;
        } finally {
          onProgress?.(++done, list.length);
        }
      });
      return { refs: results.filter((r): r is SampleRef => r !== null), problems };
    },
    async loadRaw(ref: SampleRef): Promise<RawSlice> {
      const e = fromRef(ref);
      const { img, mask } = await decodePair(e, rule, emptyMaskFor(e));
      return { image: Float32Array.from(img.data), mask: mask.data, width: img.width, height: img.height, hu: false, rgbToGrey: img.channels >= 3 };
    },
  };
}
