/**
 * TensorFlow.js backend selection for the trainer (`--backend auto|tensorflow-gpu|tensorflow|wasm|cpu`).
 * Only this app may load the native bindings: `@tensorflow/tfjs-node-gpu` is an optionalDependency
 * of apps/trainer (it binds TensorFlow 2.9's C library, CUDA 11.2 / cuDNN 8.1) and
 * `@tensorflow/tfjs-node` may be installed by the user; both are loaded by name at run time.
 */
import * as tf from '@tensorflow/tfjs';
import { usePortableBackend } from '@mrlseg/models';

export const BACKEND_CHOICES = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

export interface BackendSelection {
  /** TensorFlow.js backend name now active ('tensorflow', 'wasm' or 'cpu'). */
  backend: string;
  /** What was asked for and what was chosen (e.g. 'tensorflow-gpu'). */
  choice: Exclude<BackendChoice, 'auto'>;
  /** Why: which candidates failed and how. */
  reason: string;
}

async function loadNative(pkg: string): Promise<void> {
  // A variable specifier keeps bundlers and the type checker from requiring the optional package.
  const spec = pkg;
  await import(spec);
  const ok = await tf.setBackend('tensorflow');
  if (!ok) throw new Error(`${pkg} loaded but the 'tensorflow' backend did not initialise`);
}

const shortError = (e: unknown): string => (e instanceof Error ? e.message.split('\n')[0] : String(e)).slice(0, 160);

/**
 * Activates the requested backend. `auto` tries tensorflow-gpu, tensorflow, wasm, cpu in order
 * and reports why each earlier candidate was skipped.
 */
export async function selectBackend(choice: BackendChoice): Promise<BackendSelection> {
  const order: Exclude<BackendChoice, 'auto'>[] = choice === 'auto' ? ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] : [choice];
  const skipped: string[] = [];
  for (const c of order) {
    try {
      if (c === 'tensorflow-gpu') await loadNative('@tensorflow/tfjs-node-gpu');
      else if (c === 'tensorflow') await loadNative('@tensorflow/tfjs-node');
      else await usePortableBackend(c);
      const reason =
        choice === 'auto'
          ? `auto: chose ${c}${skipped.length ? ` (${skipped.join('; ')})` : ''}`
          : `requested ${c}`;
      return { backend: tf.getBackend(), choice: c, reason };
    } catch (e) {
      if (choice !== 'auto') throw new Error(`--backend ${c}: ${shortError(e)}`, { cause: e });
      skipped.push(`${c} unavailable: ${shortError(e)}`);
    }
  }
  throw new Error(`no TensorFlow.js backend could be initialised: ${skipped.join('; ')}`);
}
