/**
 * The two custom TensorFlow.js layers of the Segmentation-Net and the Reinforcement-Net,
 * registered with `tf.serialization.registerClass` so checkpoints round-trip:
 * - `MrlSeg>PositionEmbedding`: adds a learned position embedding E_pos (N x D) to the tokens.
 * - `MrlSeg>TransformerBlock`: one pre-norm ViT layer (TransUNet / ViT-B/16 structure),
 *   z' = z + MSA(LN(z)), z'' = z' + MLP(LN(z')), MLP = Linear(D, M) - GELU - Linear(M, D).
 * Tokens are B x N x D (N = (S/16)^2 patches of the 1/16 feature map, D = hidden size).
 */
import * as tf from '@tensorflow/tfjs';

type Kwargs = Record<string, unknown>;

/** Layer normalisation over the last axis: (x - mean) / sqrt(var + eps) * gamma + beta (biased variance). */
export function layerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, epsilon: number): tf.Tensor {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, epsilon))), gamma), beta);
  });
}

/** Exact GELU, x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)) (Hendrycks & Gimpel 2016), as in ViT. */
export function gelu(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))));
}

export interface PositionEmbeddingArgs {
  name?: string;
  trainable?: boolean;
  /** Seed of the truncated-normal (std 0.02) initialiser. */
  seed?: number;
}

/** Adds a learned B-broadcast position embedding (N x D) to B x N x D tokens. */
export class PositionEmbedding extends tf.layers.Layer {
  static className = 'MrlSeg>PositionEmbedding';
  readonly seed: number | undefined;
  private embedding!: tf.LayerVariable;

  constructor(args: PositionEmbeddingArgs = {}) {
    super(args);
    this.seed = args.seed;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const s = inputShape as tf.Shape;
    if (s.length !== 3 || s[1] == null || s[2] == null) {
      throw new Error(`PositionEmbedding: expected tokens B x N x D with known N and D, got [${s.join(', ')}]`);
    }
    this.embedding = this.addWeight('embedding', [s[1], s[2]], 'float32', tf.initializers.truncatedNormal({ stddev: 0.02, seed: this.seed }));
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      return tf.add(x, this.embedding.read());
    });
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), seed: this.seed ?? null };
  }

  static override fromConfig<T extends tf.serialization.Serializable>(cls: tf.serialization.SerializableConstructor<T>, config: tf.serialization.ConfigDict): T {
    return new cls({ ...config, seed: config.seed ?? undefined } as Kwargs);
  }
}

export interface TransformerBlockArgs {
  name?: string;
  trainable?: boolean;
  /** Number of attention heads; must divide the hidden size. */
  heads: number;
  /** MLP hidden width M. */
  mlp: number;
  /** Layer-norm epsilon (ViT: 1e-6). */
  epsilon?: number;
  /** First seed of the Glorot-uniform initialisers of the six matrices. */
  seed?: number;
}

/** One pre-norm transformer layer on B x N x D tokens (weights: see the file comment). */
export class TransformerBlock extends tf.layers.Layer {
  static className = 'MrlSeg>TransformerBlock';
  readonly heads: number;
  readonly mlp: number;
  readonly epsilon: number;
  readonly seed: number | undefined;
  private w: Record<string, tf.LayerVariable> = {};

  constructor(args: TransformerBlockArgs) {
    super(args);
    if (!Number.isInteger(args.heads) || args.heads <= 0) throw new Error(`TransformerBlock: heads must be a positive integer, got ${args.heads}`);
    if (!Number.isInteger(args.mlp) || args.mlp <= 0) throw new Error(`TransformerBlock: mlp must be a positive integer, got ${args.mlp}`);
    this.heads = args.heads;
    this.mlp = args.mlp;
    this.epsilon = args.epsilon ?? 1e-6;
    this.seed = args.seed;
  }

  /** Weight order (also the order of getWeights()): see {@link TransformerBlock.WEIGHT_NAMES}. */
  static readonly WEIGHT_NAMES = ['ln1_gamma', 'ln1_beta', 'q_kernel', 'q_bias', 'k_kernel', 'k_bias', 'v_kernel', 'v_bias', 'o_kernel', 'o_bias', 'ln2_gamma', 'ln2_beta', 'mlp1_kernel', 'mlp1_bias', 'mlp2_kernel', 'mlp2_bias'] as const;

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const s = inputShape as tf.Shape;
    const d = s[2];
    if (s.length !== 3 || d == null) throw new Error(`TransformerBlock: expected tokens B x N x D with known D, got [${s.join(', ')}]`);
    if (d % this.heads !== 0) throw new Error(`TransformerBlock: hidden size ${d} is not divisible by heads ${this.heads}`);
    let k = 0;
    const glorot = () => tf.initializers.glorotUniform({ seed: this.seed === undefined ? undefined : this.seed + k++ });
    const add = (n: string, shape: number[], init: ReturnType<typeof tf.initializers.zeros>) => {
      this.w[n] = this.addWeight(n, shape, 'float32', init);
    };
    add('ln1_gamma', [d], tf.initializers.ones());
    add('ln1_beta', [d], tf.initializers.zeros());
    for (const p of ['q', 'k', 'v', 'o']) {
      add(`${p}_kernel`, [d, d], glorot());
      add(`${p}_bias`, [d], tf.initializers.zeros());
    }
    add('ln2_gamma', [d], tf.initializers.ones());
    add('ln2_beta', [d], tf.initializers.zeros());
    add('mlp1_kernel', [d, this.mlp], glorot());
    add('mlp1_bias', [this.mlp], tf.initializers.zeros());
    add('mlp2_kernel', [this.mlp, d], glorot());
    add('mlp2_bias', [d], tf.initializers.zeros());
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor3D;
      const [b, n, d] = x.shape;
      const h = this.heads;
      const dh = d / h;
      const r = (name: string) => this.w[name].read();
      const dense = (t: tf.Tensor, p: string, out: number) =>
        tf.add(tf.matMul(tf.reshape(t, [-1, t.shape[t.shape.length - 1]]) as tf.Tensor2D, r(`${p}_kernel`) as tf.Tensor2D), r(`${p}_bias`)).reshape([b, n, out]);
      // Multi-head self-attention on LN(x).
      const a = layerNorm(x, r('ln1_gamma'), r('ln1_beta'), this.epsilon);
      const split = (t: tf.Tensor) => tf.reshape(tf.transpose(tf.reshape(t, [b, n, h, dh]), [0, 2, 1, 3]), [b * h, n, dh]) as tf.Tensor3D;
      const q = split(dense(a, 'q', d));
      const k = split(dense(a, 'k', d));
      const v = split(dense(a, 'v', d));
      const att = tf.softmax(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(dh)), -1) as tf.Tensor3D;
      const ctx = tf.reshape(tf.transpose(tf.reshape(tf.matMul(att, v), [b, h, n, dh]), [0, 2, 1, 3]), [b, n, d]);
      const x1 = tf.add(x, dense(ctx, 'o', d));
      // MLP on LN(x1).
      const m = layerNorm(x1, r('ln2_gamma'), r('ln2_beta'), this.epsilon);
      return tf.add(x1, dense(gelu(dense(m, 'mlp1', this.mlp)), 'mlp2', d));
    });
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), heads: this.heads, mlp: this.mlp, epsilon: this.epsilon, seed: this.seed ?? null };
  }

  static override fromConfig<T extends tf.serialization.Serializable>(cls: tf.serialization.SerializableConstructor<T>, config: tf.serialization.ConfigDict): T {
    return new cls({ ...config, seed: config.seed ?? undefined } as Kwargs);
  }
}

tf.serialization.registerClass(PositionEmbedding);
tf.serialization.registerClass(TransformerBlock);
