/**
 * TensorFlow.js' wasm BatchMatMul through onnxruntime-node (ort-sync.ts), for the products the
 * wasm kernel runs slowly: with a transposed operand (it leaves XNNPACK for a plain loop, 10 to
 * 25x slower: the gradients of every dense layer of the Segmentation-Net's transformer) or with
 * a batch of matrices (attention heads). Plain, untransposed single products stay on XNNPACK.
 *
 * out[b] = op(A[b]) . op(B[b]), op = transpose when the attribute asks for it; A is
 * batchA x rowsA x colsA and B batchB x rowsB x colsB after the usual reshape to rank 3, with
 * batchA = batchB or one of them 1 (broadcast), as the wasm kernel; the output gets the
 * broadcast outer shape of the inputs. Graph: Transpose(perm 0 2 1) where asked -> MatMul
 * (onnxruntime fuses the transposes into the product).
 */
import * as tf from '@tensorflow/tfjs';
import { OnnxGraph } from '../onnx/onnx-graph';
import { encodeKernelGraph, ortConvEngine } from './wasm-ort-conv';
import { heapF32, heapView, isWasmBackend } from './wasm-heap';

type TensorInfo = tf.TensorInfo;
type KernelArgs = { inputs: Record<string, TensorInfo>; backend: unknown; attrs?: Record<string, unknown> };
type KernelFn = (args: KernelArgs) => TensorInfo | TensorInfo[];

/** Below this many multiply-adds the wasm kernel's own loop is as fast as a call into onnxruntime. */
export const ORT_MATMUL_MIN_MACS = 4096;

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** ONNX model of one batched product: inputs a (batchA x rows x cols), b (likewise); output y (batch x M x N). */
export function batchMatMulModel(a3: readonly number[], b3: readonly number[], transposeA: boolean, transposeB: boolean, out: readonly number[]): Uint8Array {
  const g = new OnnxGraph();
  g.input('a', [...a3]);
  g.input('b', [...b3]);
  const a = transposeA ? g.node('Transpose', ['a'], { perm: [0, 2, 1] })[0] : 'a';
  const b = transposeB ? g.node('Transpose', ['b'], { perm: [0, 2, 1] })[0] : 'b';
  g.node('MatMul', [a, b], {}, { outputs: ['y'] });
  g.output('y', [...out]);
  return encodeKernelGraph(g, 'batch_matmul', 'matmul');
}

/**
 * Wraps BatchMatMul of `backendName` (wasm) so that, while the onnxruntime engine of
 * wasm-ort-conv.ts is set, transposed or batched float32 products of at least
 * ORT_MATMUL_MIN_MACS multiply-adds run there; everything else goes to the previous kernel.
 * Idempotent. @returns true when it wrapped the kernel now.
 */
export function registerOrtMatMulKernel(backendName = 'wasm'): boolean {
  const existing = tf.getKernel('BatchMatMul', backendName) as (tf.KernelConfig & { mrlsegOrt?: boolean }) | undefined;
  if (!existing) throw new Error(`registerOrtMatMulKernel: backend '${backendName}' has no 'BatchMatMul' kernel`);
  if (existing.mrlsegOrt) return false;
  const previous = existing.kernelFunc as unknown as KernelFn;
  const kernelFunc: KernelFn = (args) => {
    const engine = ortConvEngine();
    const { a, b } = args.inputs;
    const transposeA = !!args.attrs?.transposeA;
    const transposeB = !!args.attrs?.transposeB;
    const backend = args.backend;
    if (!engine || !isWasmBackend(backend) || a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) return previous(args);
    const ra = a.shape.length;
    const rb = b.shape.length;
    const batchA = numel(a.shape.slice(0, -2));
    const batchB = numel(b.shape.slice(0, -2));
    const a3 = [batchA, a.shape[ra - 2], a.shape[ra - 1]];
    const b3 = [batchB, b.shape[rb - 2], b.shape[rb - 1]];
    const M = transposeA ? a3[2] : a3[1];
    const K = transposeA ? a3[1] : a3[2];
    const N = transposeB ? b3[1] : b3[2];
    const kB = transposeB ? b3[2] : b3[1];
    const batch = Math.max(batchA, batchB);
    const broadcastOk = batchA === batchB || batchA === 1 || batchB === 1;
    if (K !== kB || !broadcastOk || (!transposeA && !transposeB && batch === 1) || batch * M * N * K < ORT_MATMUL_MIN_MACS || batch * M * N === 0) return previous(args);
    const outer = tf.backend_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
    const out = backend.makeOutput([batch, M, N], 'float32');
    const heap = heapF32(backend);
    const key = `mm|${a3.join('x')}|${b3.join('x')}|${transposeA ? 'tA' : ''}${transposeB ? 'tB' : ''}`;
    engine.run(key, () => batchMatMulModel(a3, b3, transposeA, transposeB, [batch, M, N]), { a: heapView(backend, heap, a, a3), b: heapView(backend, heap, b, b3) }, { y: heapView(backend, heap, out, [batch, M, N]) });
    out.shape = [...outer, M, N];
    return out;
  };
  tf.unregisterKernel('BatchMatMul', backendName);
  tf.registerKernel({ ...existing, kernelName: 'BatchMatMul', backendName, mrlsegOrt: true, kernelFunc: kernelFunc as unknown as tf.KernelFunc } as tf.KernelConfig);
  return true;
}
