/**
 * The data package's public shapes: a cheap sample reference (metadata only, from `list()`), a
 * loaded sample (pixels), the problems found while scanning a dataset folder, and the internal
 * contract every format loader implements.
 */
import type { SampleMeta } from '@mrlseg/types';

/** Something wrong with a file of the dataset; inspection names it and carries on. */
export interface DataProblem {
  /** The file (or folder) concerned, as a path. */
  file: string;
  /** What is wrong, in words. */
  message: string;
}

/**
 * Cheap per-slice metadata from {@link Dataset.list}: everything in {@link SampleMeta} (id, patient,
 * slice, original width/height, fbRatio and foregroundPixels at the original resolution, spacing
 * where known) plus where to find the pixels again.
 */
export interface SampleRef extends SampleMeta {
  /** Format-specific locator (file paths, slice index along the volume axis); JSON-serialisable. */
  locator: Record<string, string | number | string[]>;
}

/** A loaded 2-D sample after preprocessing. */
export interface Sample {
  meta: SampleMeta;
  /** Row-major H x W intensities in [0, 1] (Float32). */
  image: Float32Array;
  /** Row-major H x W binary lesion mask, 1 = foreground. */
  mask: Uint8Array;
  width: number;
  height: number;
  /**
   * Row-major H x W known distractor pixels (1 = part of an unlabelled lesion-like distractor), where
   * the dataset knows them (the synthetic generator's `distractors`); for evaluation only. Absent
   * when unknown or after augmentation.
   */
  distractor?: Uint8Array;
}

/**
 * A decoded slice before preprocessing, as the loader found it: `image` holds grey values 0..255
 * for 8-bit files, or Hounsfield units for CT volumes (`hu` true).
 */
export interface RawSlice {
  image: Float32Array;
  mask: Uint8Array;
  width: number;
  height: number;
  /** True when `image` is in Hounsfield units (KiTS19 imaging, DICOM), false for 8-bit slices. */
  hu: boolean;
  /** True when the file was RGB and was converted to grey (Rec. 601 luma). */
  rgbToGrey: boolean;
  /** Known distractor pixels (see {@link Sample.distractor}), where the format knows them. */
  distractor?: Uint8Array;
}

/** Result of scanning a dataset folder: the usable samples and every problem found. */
export interface ScanResult {
  refs: SampleRef[];
  problems: DataProblem[];
}

/** The contract each format implements (internal; reached through `openDataset`). */
export interface FormatLoader {
  scan(onProgress?: (done: number, total: number) => void): Promise<ScanResult>;
  loadRaw(ref: SampleRef): Promise<RawSlice>;
  /** Optional: loads several slices of one volume in one pass (volume formats). */
  loadRawMany?(refs: SampleRef[]): Promise<RawSlice[]>;
}

/** Thrown for a file that cannot be used; the message names the file. */
export class DataFileError extends Error {
  constructor(readonly file: string, readonly reason: string) {
    super(`${file}: ${reason}`);
    this.name = 'DataFileError';
  }
}

/** The problem record for an error met while scanning: the file it names (else `fallback`) and the reason. */
export function problemOf(e: unknown, fallback: string): DataProblem {
  if (e instanceof DataFileError) return { file: e.file, message: e.reason };
  const file = typeof (e as { file?: unknown })?.file === 'string' ? (e as { file: string }).file : fallback;
  const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
  return { file, message: msg.replace(`${file}: `, '').replace(` '${file}'`, '') };
}
