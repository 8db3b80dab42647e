/**
 * TensorFlow.js convolution attributes (strides, dilations) come as a number or an [h, w] pair;
 * the kernels of this folder read them as a pair.
 */

/** [h, w] of a stride or dilation attribute; undefined or null means 1 (TensorFlow.js' default). */
export function attrPair(v: unknown): [number, number] {
  if (v === undefined || v === null) return [1, 1];
  return typeof v === 'number' ? [v, v] : (v as [number, number]);
}
