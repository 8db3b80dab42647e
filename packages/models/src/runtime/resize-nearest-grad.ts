/**
 * Works around a TensorFlow.js 4.22 bug in the pure-JS 'cpu' backend: its
 * `ResizeNearestNeighborGrad` kernel is correct for a batch of one but wrong for the later images
 * of a larger batch (2 x 2 x 2 x 1 input upsampled x2: the second image's gradient comes out as
 * [12, 13, 16, 10] where the 2 x 2 block sums are [11, 12, 8, 16]; the wasm kernel is right).
 * It silently corrupts every U-Net decoder's gradient on that backend. The replacement runs the
 * backend's own kernel once per image and concatenates the results.
 *
 * Shapes: images B x H x W x C, dy B x H' x W' x C, result B x H x W x C.
 */
import * as tf from '@tensorflow/tfjs';

type TensorInfo = tf.TensorInfo;
type KernelFn = (args: { inputs: Record<string, TensorInfo>; backend: unknown; attrs?: Record<string, unknown> }) => TensorInfo | TensorInfo[];

/** Replaces `ResizeNearestNeighborGrad` on `backendName` with the per-image wrapper; idempotent. */
export function registerResizeNearestGradFix(backendName = 'cpu'): boolean {
  const existing = tf.getKernel('ResizeNearestNeighborGrad', backendName) as (tf.KernelConfig & { mrlseg?: boolean }) | undefined;
  if (!existing || existing.mrlseg) return false;
  const original = existing.kernelFunc as unknown as KernelFn;
  const get = (name: string): KernelFn => {
    const cfg = tf.getKernel(name, backendName);
    if (!cfg) throw new Error(`registerResizeNearestGradFix: backend '${backendName}' has no '${name}' kernel`);
    return cfg.kernelFunc as unknown as KernelFn;
  };
  const slice = get('Slice');
  const concat = get('Concat');
  tf.unregisterKernel('ResizeNearestNeighborGrad', backendName);
  const config: tf.KernelConfig & { mrlseg: boolean } = {
    kernelName: 'ResizeNearestNeighborGrad',
    backendName,
    mrlseg: true,
    kernelFunc: (args) => {
      const { images, dy } = args.inputs as unknown as { images: TensorInfo; dy: TensorInfo };
      const B = images.shape[0];
      if (B === 1) return original(args as never) as TensorInfo;
      const b = args.backend as { disposeData(id: unknown): void };
      const parts: TensorInfo[] = [];
      for (let i = 0; i < B; i++) {
        const im = slice({ inputs: { x: images }, backend: args.backend, attrs: { begin: [i, 0, 0, 0], size: [1, -1, -1, -1] } }) as TensorInfo;
        const d = slice({ inputs: { x: dy }, backend: args.backend, attrs: { begin: [i, 0, 0, 0], size: [1, -1, -1, -1] } }) as TensorInfo;
        parts.push(original({ inputs: { images: im, dy: d }, backend: args.backend, attrs: args.attrs as never }) as TensorInfo);
        b.disposeData(im.dataId);
        b.disposeData(d.dataId);
      }
      const out = concat({ inputs: parts as never, backend: args.backend, attrs: { axis: 0 } }) as TensorInfo;
      for (const p of parts) b.disposeData(p.dataId);
      return out;
    },
  };
  tf.registerKernel(config);
  return true;
}
