/**
 * `mrlseg bench train-step|predict|episode ...`: engine benchmarks that print one JSON line each
 * (figures and commands in docs/performance.md).
 */
import type { Command } from 'commander';
import type * as tf from '@tensorflow/tfjs';
import type { PortableBackendOptions } from '@mrlseg/models';
import { BACKEND_CHOICES, CONV_ENGINES, selectBackend, type BackendChoice } from '../backend';

const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, got '${v}'`);
  return n;
};
const oneOf =
  <T extends string>(name: string, choices: readonly T[]) =>
  (v: string): T => {
    if (!choices.includes(v as T)) throw new Error(`--${name} must be one of ${choices.join(', ')}, got '${v}'`);
    return v as T;
  };

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const round1 = (v: number) => Math.round(v * 10) / 10;

const MODELS = ['bench-unet', 'seg-net-cpu'] as const;
type ModelName = (typeof MODELS)[number];
const ENGINES = ['onnxruntime', 'tfjs'] as const;
const OPT_LEVELS = ['disabled', 'basic', 'extended', 'all'] as const;
const EXEC_MODES = ['sequential', 'parallel'] as const;

async function buildNamed(model: ModelName, size: number): Promise<tf.LayersModel> {
  const [{ buildBenchUnet, buildSegmentationNet }, { SEG_NET_PRESETS }] = await Promise.all([import('@mrlseg/models'), import('@mrlseg/types')]);
  if (model === 'bench-unet') return buildBenchUnet(size);
  return buildSegmentationNet(SEG_NET_PRESETS.cpu, { inputSize: size });
}

async function checkBackend(choice: BackendChoice, json: boolean | undefined, portable: PortableBackendOptions = {}): Promise<string> {
  if (!BACKEND_CHOICES.includes(choice)) throw new Error(`--backend must be one of ${BACKEND_CHOICES.join(', ')}, got '${choice}'`);
  const sel = await selectBackend(choice, portable);
  if (!json) console.error(`backend: ${sel.label} (${sel.reason})`);
  return sel.backend;
}

/** Median forward time of `model` in onnxruntime-node (its ONNX export; NHWC input 'image'). */
async function onnxPredictMs(model: tf.LayersModel, batch: number, steps: number, o: { threads: number; optLevel: (typeof OPT_LEVELS)[number]; executionMode: (typeof EXEC_MODES)[number] }) {
  const [{ exportOnnx }, ort] = await Promise.all([import('@mrlseg/models'), import('onnxruntime-node')]);
  const bytes = exportOnnx(model);
  const session = await ort.InferenceSession.create(bytes, {
    intraOpNumThreads: o.threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: o.optLevel,
    executionMode: o.executionMode,
  });
  try {
    const [, h, w, c] = model.inputs[0].shape as number[];
    const data = new Float32Array(batch * h * w * c);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7919) % 1000 / 1000;
    const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, [batch, h, w, c]) };
    await session.run(feeds);
    const times: number[] = [];
    for (let i = 0; i < steps; i++) {
      const t0 = performance.now();
      await session.run(feeds);
      times.push(performance.now() - t0);
    }
    return round1(median(times));
  } finally {
    await session.release();
  }
}

export function register(program: Command): void {
  const bench = program.command('bench').description('benchmarks of the training and inference engines');
  bench
    .command('train-step')
    .description('median train-step and predict time of the bench-unet (shared/bench/README.md)')
    .option('--model <name>', 'model to benchmark', 'bench-unet')
    .option('--size <px>', 'input size S (S x S)', int('size'), 128)
    .option('--batch <n>', 'batch size', int('batch'), 4)
    .option('--steps <n>', 'timed steps after one warm-up', int('steps'), 5)
    .option('--workers <n>', 'data-parallel worker threads for the train step (1 = this thread)', int('workers'), 1)
    .option('--backend <name>', `TensorFlow.js backend (${BACKEND_CHOICES.join('|')})`, 'auto')
    .option('--conv-engine <name>', `convolutions on wasm (${CONV_ENGINES.join('|')}; default onnxruntime when it loads)`, oneOf('conv-engine', CONV_ENGINES))
    .option('--conv-threads <n>', 'onnxruntime threads (default: the cores; 1 per worker with --workers > 1)', int('conv-threads'))
    .option('--json', 'print one JSON line only')
    .action(
      async (o: {
        model: string;
        size: number;
        batch: number;
        steps: number;
        workers: number;
        backend: BackendChoice;
        convEngine?: (typeof CONV_ENGINES)[number];
        convThreads?: number;
        json?: boolean;
      }) => {
        if (o.model !== 'bench-unet') throw new Error(`bench train-step: unknown --model '${o.model}' (known: bench-unet)`);
        const backend = await checkBackend(o.backend, o.json, { convEngine: o.convEngine, threads: o.workers > 1 ? undefined : o.convThreads });
        if (o.workers > 1 && backend !== 'wasm') throw new Error(`bench train-step: --workers ${o.workers} runs the wasm backend in each worker; use --backend wasm`);
        const { runBenchUnet } = await import('@mrlseg/models');
        const r = await runBenchUnet({ size: o.size, batch: o.batch, steps: o.steps, workers: o.workers, convEngine: o.convEngine, convThreads: o.convThreads });
        console.log(JSON.stringify({ ...r, model: o.model }));
      },
    );

  bench
    .command('predict')
    .description('median forward (predict) time of a model in onnxruntime-node or TensorFlow.js')
    .option('--model <name>', `model (${MODELS.join('|')})`, oneOf('model', MODELS), 'bench-unet')
    .option('--engine <name>', `inference engine (${ENGINES.join('|')})`, oneOf('engine', ENGINES), 'onnxruntime')
    .option('--size <px>', 'input size S (S x S)', int('size'), 128)
    .option('--batch <n>', 'batch size', int('batch'), 4)
    .option('--steps <n>', 'timed runs after one warm-up', int('steps'), 5)
    .option('--threads <n>', 'onnxruntime intra-op threads', int('threads'), 2)
    .option('--opt-level <level>', `onnxruntime graph optimisation (${OPT_LEVELS.join('|')})`, oneOf('opt-level', OPT_LEVELS), 'all')
    .option('--execution-mode <mode>', `onnxruntime execution mode (${EXEC_MODES.join('|')})`, oneOf('execution-mode', EXEC_MODES), 'sequential')
    .option('--backend <name>', `TensorFlow.js backend for --engine tfjs (${BACKEND_CHOICES.join('|')})`, 'wasm')
    .option('--json', 'print one JSON line only')
    .action(
      async (o: {
        model: ModelName;
        engine: (typeof ENGINES)[number];
        size: number;
        batch: number;
        steps: number;
        threads: number;
        optLevel: (typeof OPT_LEVELS)[number];
        executionMode: (typeof EXEC_MODES)[number];
        backend: BackendChoice;
        json?: boolean;
      }) => {
        const backend = await checkBackend(o.engine === 'tfjs' ? o.backend : 'cpu', o.json);
        const model = await buildNamed(o.model, o.size);
        const [tf, ort] = await Promise.all([import('@tensorflow/tfjs'), import('onnxruntime-node')]);
        try {
          const base = { framework: o.engine, model: o.model, size: o.size, batch: o.batch };
          if (o.engine === 'onnxruntime') {
            const predictMs = await onnxPredictMs(model, o.batch, o.steps, o);
            console.log(JSON.stringify({ ...base, version: ort.env.versions.node ?? ort.env.versions.common, threads: o.threads, optLevel: o.optLevel, executionMode: o.executionMode, predictMs }));
          } else {
            const x = tf.randomUniform([o.batch, o.size, o.size, 1], 0, 1, 'float32', 0);
            const once = async () => {
              const p = model.predict(x) as tf.Tensor;
              await p.data();
              p.dispose();
            };
            await once();
            const times: number[] = [];
            for (let i = 0; i < o.steps; i++) {
              const t0 = performance.now();
              await once();
              times.push(performance.now() - t0);
            }
            x.dispose();
            console.log(JSON.stringify({ ...base, backend, predictMs: round1(median(times)) }));
          }
        } finally {
          model.dispose();
        }
      },
    );

  bench
    .command('episode')
    .description('median time of one full MRL-Seg training episode (policy forward x T, seg forward, A2C backward, seg fine-tuning)')
    .option('--size <px>', 'input size S (multiple of 16)', int('size'), 128)
    .option('--batch <n>', 'slices per episode', int('batch'), 10)
    .option('--episode-length <n>', 'T, actions per slice', int('episode-length'), 4)
    .option('--steps <n>', 'timed episodes after one warm-up', int('steps'), 3)
    .option('--backend <name>', `TensorFlow.js backend (${BACKEND_CHOICES.join('|')})`, 'wasm')
    .option('--json', 'print one JSON line only')
    .action(async (o: { size: number; batch: number; episodeLength: number; steps: number; backend: BackendChoice; json?: boolean }) => {
      const backend = await checkBackend(o.backend, o.json);
      const [tf, { buildReinforcementNet, buildSegmentationNet }, { createA2CTrainer }, { RlSchema, SEG_NET_PRESETS }] = await Promise.all([
        import('@tensorflow/tfjs'),
        import('@mrlseg/models'),
        import('@mrlseg/rl-core'),
        import('@mrlseg/types'),
      ]);
      const rl = RlSchema.parse({ episodeLength: o.episodeLength });
      const sizes = SEG_NET_PRESETS.cpu;
      const segNet = buildSegmentationNet(sizes, { inputSize: o.size });
      const policyNet = buildReinforcementNet(sizes, { inputSize: o.size });
      const optimizer = tf.train.adam(1e-3);
      const segOptimizer = tf.train.adam(1e-4);
      const trainer = createA2CTrainer({ policyNet, segNet, rl, optimizer, segOptimizer });
      const images = tf.randomUniform([o.batch, o.size, o.size, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
      const labels = tf.tidy(() => tf.cast(tf.less(tf.randomUniform([o.batch, o.size, o.size, 1], 0, 1, 'float32', 2), 0.1), 'float32')) as tf.Tensor4D;
      try {
        trainer.trainStep(images, labels);
        const times: number[] = [];
        const phases: Record<string, number[]> = {};
        for (let i = 0; i < o.steps; i++) {
          const r = trainer.trainStep(images, labels);
          times.push(r.timings.totalMs);
          for (const [k, v] of Object.entries(r.timings)) if (k !== 'totalMs') (phases[k] ??= []).push(v);
        }
        const phaseMs = Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, round1(median(v))]));
        console.log(JSON.stringify({ framework: 'tfjs', backend, model: 'mrlseg-cpu', size: o.size, batch: o.batch, episodeLength: o.episodeLength, episodeMs: round1(median(times)), phaseMs }));
      } finally {
        trainer.dispose();
        tf.dispose([images, labels]);
        optimizer.dispose();
        segOptimizer.dispose();
        segNet.dispose();
        policyNet.dispose();
      }
    });
}
