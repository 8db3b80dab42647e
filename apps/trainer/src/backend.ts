/**
 * TensorFlow.js backend selection for the trainer (`--backend auto|tensorflow-gpu|tensorflow|wasm|cpu`).
 * On wasm, the convolutions run through onnxruntime-node when it loads (label `wasm+onnxruntime`;
 * see usePortableBackend in @mrlseg/models), else on the wasm backend's own kernels.
 * Only this app may load the native bindings: `@tensorflow/tfjs-node-gpu` is an optionalDependency
 * of apps/trainer (it binds TensorFlow 2.9's C library, CUDA 11.2 / cuDNN 8.1) and
 * `@tensorflow/tfjs-node` may be installed by the user; both are loaded by name at run time.
 * TensorFlow.js and @mrlseg/models load when a backend is selected, not when this module is
 * imported, so that `mrlseg --help` and the commands without networks start fast.
 */
import type { ConvEngineInfo, PortableBackendOptions } from '@mrlseg/models';

export const BACKEND_CHOICES = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;

/** Convolution engines of the wasm backend (`--conv-engine`): onnxruntime-node's kernels or the wasm ones. */
export const CONV_ENGINES = ['onnxruntime', 'wasm'] as const;
export type ConvEngineChoice = (typeof CONV_ENGINES)[number];

/** Validates a --conv-engine value (undefined = the default: onnxruntime when it loads). */
export function parseConvEngine(v: string | undefined): ConvEngineChoice | undefined {
  if (v === undefined) return undefined;
  if (!(CONV_ENGINES as readonly string[]).includes(v)) throw new Error(`--conv-engine must be one of ${CONV_ENGINES.join(', ')}, got '${v}'`);
  return v as ConvEngineChoice;
}
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

export interface BackendSelection {
  /** TensorFlow.js backend name now active ('tensorflow', 'wasm' or 'cpu'). */
  backend: string;
  /** The backend with its convolution engine, for logs: 'wasm+onnxruntime', 'wasm', 'cpu', 'tensorflow'. */
  label: string;
  /** Who runs the convolutions on wasm ('onnxruntime' or 'wasm'); null on the other backends. */
  convEngine: 'onnxruntime' | 'wasm' | null;
  /** What was asked for and what was chosen (e.g. 'tensorflow-gpu'). */
  choice: Exclude<BackendChoice, 'auto'>;
  /** Why: which candidates failed and how. */
  reason: string;
}

async function loadNative(pkg: string): Promise<void> {
  // A variable specifier keeps bundlers and the type checker from requiring the optional package.
  const spec = pkg;
  await import(spec);
  const tf = await import('@tensorflow/tfjs');
  const ok = await tf.setBackend('tensorflow');
  if (!ok) throw new Error(`${pkg} loaded but the 'tensorflow' backend did not initialise`);
}

const shortError = (e: unknown): string => (e instanceof Error ? e.message.split('\n')[0] : String(e)).slice(0, 160);

/** ' (convolutions: ...)' for the reason of a wasm selection. */
function convNote(c: ConvEngineInfo): string {
  if (c.engine === 'onnxruntime') return `; convolutions on onnxruntime-node ${c.version}, ${c.threads} thread${c.threads === 1 ? '' : 's'}`;
  if (c.engine === 'wasm') return `; convolutions on the wasm kernels${c.fallback ? ` (${c.fallback})` : ''}`;
  return '';
}

/**
 * Activates the requested backend. `auto` tries tensorflow-gpu, tensorflow, wasm, cpu in order
 * and reports why each earlier candidate was skipped. `portable` chooses the convolution engine
 * and its threads on wasm (default: onnxruntime when it loads).
 */
export async function selectBackend(choice: BackendChoice, portable: PortableBackendOptions = {}): Promise<BackendSelection> {
  const order: Exclude<BackendChoice, 'auto'>[] = choice === 'auto' ? ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] : [choice];
  const skipped: string[] = [];
  const [tf, { backendLabel, convEngineInfo, usePortableBackend }] = await Promise.all([import('@tensorflow/tfjs'), import('@mrlseg/models')]);
  for (const c of order) {
    try {
      if (c === 'tensorflow-gpu') await loadNative('@tensorflow/tfjs-node-gpu');
      else if (c === 'tensorflow') await loadNative('@tensorflow/tfjs-node');
      else await usePortableBackend(c, portable);
      const reason =
        (choice === 'auto'
          ? `auto: chose ${c}${skipped.length ? ` (${skipped.join('; ')})` : ''}`
          : `requested ${c}`) + (c === 'wasm' ? convNote(convEngineInfo()) : '');
      const conv = convEngineInfo().engine;
      return { backend: tf.getBackend(), label: backendLabel(), convEngine: conv, choice: c, reason };
    } catch (e) {
      if (choice !== 'auto') throw new Error(`--backend ${c}: ${shortError(e)}`, { cause: e });
      skipped.push(`${c} unavailable: ${shortError(e)}`);
    }
  }
  throw new Error(`no TensorFlow.js backend could be initialised: ${skipped.join('; ')}`);
}
