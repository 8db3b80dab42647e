export { usePortableBackend, missingKernels, type PortableBackend } from './runtime/backend';
export {
  registerConv2DBackpropFilter,
  conv2dBackpropFilterViaConv,
  planBackpropFilter,
  type BackpropFilterAttrs,
} from './runtime/conv2d-backprop-filter';
export { buildBenchUnet, runBenchUnet, bceLoss, type BenchResult } from './bench-unet';
export { registerConv2DBackpropInput, planBackpropInput, type BackpropInputAttrs } from './runtime/conv2d-backprop-input';
export { registerResizeNearestGradFix } from './runtime/resize-nearest-grad';
