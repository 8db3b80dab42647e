/**
 * @mrlseg/data: dataset loaders (KiTS19 volumes and slices, NIH Pancreas-CT exports and DICOM,
 * BUSI, image/mask folders and nnU-Net datasets, the synthetic default), the paper's
 * preprocessing and augmentation, a preprocessed-slice cache, and patient-level folds.
 */
export { decodeGrey, decodeRgb, readBinaryMask, encodeGreyPng, ImageDecodeError, type GreyImage, type RgbImage, type BinaryMask } from './image-io';
export { openDataset, type Dataset, type OpenDatasetOptions, type LoadOptions } from './dataset';
export { DataFileError, type DataProblem, type Sample, type SampleRef, type RawSlice, type ScanResult } from './types';
export { applyCtWindow, resizeBilinear, resizeNearest, preprocessSlice, preprocessingHash } from './preprocess';
export { augmentSample, flip, rot90, rotateSmall } from './augment';
export { makeFolds, foldSamples, applySplit, saveSplit, loadSplit, type Split, type SplitFold, type MakeFoldsOptions } from './splits';
export { generateSynthetic, generateSyntheticSlice, writeSyntheticDataset, syntheticId, SYNTHETIC_FB_RANGE, type SyntheticOptions } from './synthetic';
export {
  readNiftiInfo,
  readSlices,
  readVolume,
  volumeSlice,
  setVolumeSlice,
  writeNifti,
  countLabelsPerSlice,
  countAbovePerSlice,
  sliceGeometry,
  type NiftiInfo,
  type NiftiGeometry,
  type SliceAxis,
} from './nifti';
export { niftiAffine, geometryFromAffine, type Affine } from './affine';
export { readDicomHu, readDicomSeries, isDicomBytes, type DicomSeries } from './dicom';
export { countForeground, fbRatioOf } from './fb-ratio';
export { makeRng, mixSeed, writeFileAtomic, type Rng } from './util';
