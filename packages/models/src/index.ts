export {
  usePortableBackend,
  missingKernels,
  convEngineInfo,
  backendLabel,
  type PortableBackend,
  type PortableBackendOptions,
  type ConvEngine,
  type ConvEngineInfo,
} from './runtime/backend';
export { registerOrtConvKernels, setOrtConvEngine, ortConvEngine, convGeometry, ORT_CONV_KERNELS, type ConvGeometry } from './runtime/wasm-ort-conv';
export { createOrtSyncEngine, type OrtSyncEngine, type OrtSyncOptions, type OrtView } from './runtime/ort-sync';
export {
  registerConv2DBackpropFilter,
  conv2dBackpropFilterViaConv,
  planBackpropFilter,
  type BackpropFilterAttrs,
} from './runtime/conv2d-backprop-filter';
export { buildBenchUnet, runBenchUnet, bceLoss, type BenchResult } from './bench-unet';
export { registerConv2DBackpropInput, planBackpropInput, type BackpropInputAttrs } from './runtime/conv2d-backprop-input';
export { registerResizeNearestGradFix } from './runtime/resize-nearest-grad';
export { registerTileGradient } from './runtime/tile-grad';
export { registerWasmDataKernels } from './runtime/wasm-data-kernels';
export {
  createDataParallelTrainer,
  shardBounds,
  type DataParallelTrainer,
  type DataParallelOptions,
  type TensorData,
  type ModelFactoryRef,
  type ModuleRef,
  type OptimizerSpec,
} from './runtime/data-parallel';

export { PositionEmbedding, TransformerBlock, layerNorm, gelu } from './layers/custom-layers';
export { buildSegmentationNet, type BuildOptions } from './segmentation-net';
export { buildReinforcementNet, initFromSegmentationNet, ACTION_MASK, ACTION_RETAIN, type RlBuildOptions } from './reinforcement-net';
export { buildUnet, buildResUnet, type BaselineOptions } from './baselines';
export { buildModel } from './build-model';
export { MODEL_KINDS, modelSpecOf, type ModelKind, type ModelSpec } from './model-spec';
export { countParams, summary, type LayerSummary, type ModelSummary } from './summary';
export { saveCheckpoint, loadCheckpoint, readCheckpointConfig, fileSystemHandler, CHECKPOINT_FORMAT, type CheckpointConfig } from './checkpoint';
export { runMrlSegInference, type MrlSegInferenceOptions } from './mrlseg-inference';
export { computeBceLoss } from './losses/binary-cross-entropy';
export { computeDiceLoss, DICE_SMOOTH } from './losses/dice-loss';
export { computeBceDiceLoss } from './losses/bce-dice-loss';
export { computeUnifiedFocalLoss, UFL_DEFAULTS, type UnifiedFocalOptions } from './losses/unified-focal-loss';
export { segmentationLoss, type SegmentationLoss } from './losses/segmentation-loss';
export { exportOnnx, exportMrlSegOnnx, emitLayersModel, ONNX_OPSET, ONNX_IR_VERSION, type OnnxExportOptions } from './onnx/export-onnx';
export { onnxModelInfo, type OnnxModelInfo, type OnnxValueInfo } from './onnx/onnx-info';
