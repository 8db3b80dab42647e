/**
 * The inference metadata (@mrlseg/types' InferenceMetadata) of a training run, derived from its
 * config: input size and CT window from `preprocessing`, the slice axis from the dataset format
 * (KiTS19 volumes and the slices cut from them: axis 0; NIH Pancreas-CT label volumes: axis 2;
 * 2-D formats keep the default, 0), the variant and run id. Written into every checkpoint
 * (`meta.inference`) and every ONNX export (`metadata_props`).
 */
import { inferenceMetadataToProps, TOOLKIT_VERSION, type DatasetFormat, type ExperimentConfig, type InferenceMetadata } from '@mrlseg/types';

/** NIfTI axis the volumes of `format` are sliced along. */
export function sliceAxisOfFormat(format: DatasetFormat): 0 | 2 {
  return format === 'pancreas-ct' ? 2 : 0;
}

/** The metadata of a run trained with `config` (after applyVariant). */
export function inferenceMetadataOf(config: ExperimentConfig, runId: string | null): InferenceMetadata {
  const w = config.preprocessing.ctWindow;
  return {
    inputSize: [config.preprocessing.size, config.preprocessing.size],
    intensityScale: 1 / 255,
    intensityOffset: 0,
    ctWindow: w.mode === 'off' ? null : [w.min, w.max],
    sliceAxis: sliceAxisOfFormat(config.dataset.format),
    variant: config.variant,
    runId,
    toolkitVersion: TOOLKIT_VERSION,
  };
}

/** {@link inferenceMetadataOf} as ONNX metadata_props / checkpoint `meta.inference`. */
export function inferenceMetadataPropsOf(config: ExperimentConfig, runId: string | null): Record<string, string> {
  return inferenceMetadataToProps(inferenceMetadataOf(config, runId));
}
