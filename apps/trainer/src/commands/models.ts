/**
 * `mrlseg models init|summary`, `mrlseg export-onnx` and `mrlseg predict`: create, inspect,
 * export and run the networks of @mrlseg/models. Prediction preprocesses like training (grey,
 * bilinear resize with half-pixel centres to the model's size, [0, 1]; @mrlseg/data), runs
 * TensorFlow.js on a checkpoint or onnxruntime-node on a .onnx file, resizes the probabilities
 * back to the image's size and writes a binary mask (p >= threshold -> 255) or, with
 * --probabilities, round(255 p).
 */
import { existsSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { SEG_NET_PRESETS } from '@mrlseg/types';
import { decodeGrey, encodeGreyPng, resizeBilinear } from '@mrlseg/data';
import {
  buildModel,
  exportMrlSegOnnx,
  exportOnnx,
  loadCheckpoint,
  MODEL_KINDS,
  onnxModelInfo,
  saveCheckpoint,
  summary,
  type ModelKind,
  type ModelSpec,
  type ModelSummary,
} from '@mrlseg/models';
import { BACKEND_CHOICES, selectBackend, type BackendChoice } from '../backend';

const int = (name: string, min = 1) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got '${v}'`);
  return n;
};
const num = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got '${v}'`);
  return n;
};

export interface InitOptions {
  model: ModelKind;
  preset?: 'cpu' | 'paper';
  size: number;
  seed: number;
  out: string;
  baseWidth?: number;
}

/** `models init`: writes a checkpoint of a freshly initialised model (same seed, same bytes). */
export async function modelsInit(o: InitOptions): Promise<{ spec: ModelSpec; params: number }> {
  if (!(MODEL_KINDS as readonly string[]).includes(o.model)) throw new Error(`--model must be one of ${MODEL_KINDS.join(', ')}, got '${o.model}'`);
  const preset = o.preset ?? 'cpu';
  if (preset !== 'cpu' && preset !== 'paper') throw new Error(`--preset must be cpu or paper, got '${preset}'`);
  if (o.size % 16 !== 0) throw new Error(`--size must be a multiple of 16 (the networks downsample by 16), got ${o.size}`);
  const sizes = structuredClone(SEG_NET_PRESETS[preset]);
  const spec: ModelSpec =
    o.model === 'seg-net'
      ? { kind: 'seg-net', sizes, inputSize: o.size, seed: o.seed }
      : o.model === 'rl-net'
        ? { kind: 'rl-net', sizes, inputSize: o.size, seed: o.seed, headChannels: sizes.channels[0] }
        : { kind: o.model, baseWidth: o.baseWidth ?? 16, inputSize: o.size, seed: o.seed };
  const model = buildModel(spec);
  try {
    await saveCheckpoint(model, o.out, { meta: { createdBy: 'mrlseg models init', preset: o.model === 'seg-net' || o.model === 'rl-net' ? preset : undefined } });
    return { spec, params: summary(model).totalParams };
  } finally {
    model.dispose();
  }
}

/** `models summary`: the checkpoint's layers, parameter count and FLOPs per forward at its size. */
export async function modelsSummary(dir: string): Promise<{ spec: ModelSpec; summary: ModelSummary }> {
  const { model, config } = await loadCheckpoint(dir);
  try {
    return { spec: config.spec, summary: summary(model) };
  } finally {
    model.dispose();
  }
}

export function formatSummary(spec: ModelSpec, s: ModelSummary): string {
  const rows = s.layers.map((l) => [l.name, l.className, l.outputShape.map((sh) => `[${sh.map((d) => d ?? 'B').join(',')}]`).join(' '), String(l.params), l.flops ? (l.flops / 1e6).toFixed(2) : '']);
  const head = ['layer', 'class', 'output', 'params', 'MFLOPs'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i >= 3 ? c.padStart(w[i]) : c.padEnd(w[i]))).join('  ');
  return [
    `${s.name} (${spec.kind}, input ${spec.inputSize} x ${spec.inputSize}, seed ${spec.seed})`,
    line(head),
    ...rows.map(line),
    `parameters: ${s.totalParams} (${s.trainableParams} trainable)`,
    `FLOPs per forward (batch 1, ${spec.inputSize} px): ${s.flops} (${(s.flops / 1e9).toFixed(3)} GFLOPs; conv and matmul multiply-adds x 2)`,
  ].join('\n');
}

/** `export-onnx`: one network, or with `segCheckpoint` (checkpoint = an rl-net) the unrolled MRL-Seg graph. */
export async function exportOnnxCommand(o: { checkpoint: string; out: string; segCheckpoint?: string; steps?: number; maskValue?: number }): Promise<{ bytes: number; outputs: string[] }> {
  const { model, config } = await loadCheckpoint(o.checkpoint);
  let seg: tf.LayersModel | undefined;
  try {
    let bytes: Uint8Array;
    if (o.segCheckpoint) {
      if (config.spec.kind !== 'rl-net') throw new Error(`export-onnx: --seg-checkpoint needs --checkpoint to be an rl-net, got a '${config.spec.kind}'`);
      const s = await loadCheckpoint(o.segCheckpoint);
      seg = s.model;
      if (s.config.spec.kind === 'rl-net') throw new Error(`export-onnx: --seg-checkpoint must hold a segmentation network, got an 'rl-net'`);
      bytes = exportMrlSegOnnx(model, seg, { steps: o.steps ?? 4, maskValue: o.maskValue ?? 0 });
    } else {
      bytes = exportOnnx(model);
    }
    mkdirSync(dirname(o.out), { recursive: true });
    writeFileSync(o.out, bytes);
    return { bytes: bytes.length, outputs: onnxModelInfo(bytes).outputs.map((v) => v.name) };
  } finally {
    model.dispose();
    seg?.dispose();
  }
}

export interface PredictOptions {
  model: string;
  image: string;
  out: string;
  probabilities?: boolean;
  threshold?: number;
}

/** Runs a checkpoint (TensorFlow.js) or an ONNX file (onnxruntime-node) on one S x S x 1 image in [0, 1]. */
async function runModel(path: string): Promise<{ size: number; run: (x: Float32Array) => Promise<Float32Array>; close: () => Promise<void> }> {
  if (!existsSync(path)) throw new Error(`predict: --model '${path}' does not exist`);
  if (statSync(path).isDirectory()) {
    const { model, config } = await loadCheckpoint(path);
    if (config.spec.kind === 'rl-net') {
      model.dispose();
      throw new Error(`predict: '${path}' is a Reinforcement-Net (policy/value); export it with its Segmentation-Net (export-onnx --seg-checkpoint) to predict masks`);
    }
    const s = config.spec.inputSize;
    return {
      size: s,
      run: async (x) => {
        const t = tf.tensor4d(x, [1, s, s, 1]);
        const y = model.predict(t) as tf.Tensor;
        const out = (await y.data()) as Float32Array;
        tf.dispose([t, y]);
        return out;
      },
      close: async () => {
        model.dispose();
      },
    };
  }
  const bytes = readFileSync(path);
  const info = onnxModelInfo(bytes);
  const inp = info.inputs.find((v) => v.name === 'image');
  if (!inp || inp.dims.length !== 4 || typeof inp.dims[1] !== 'number' || inp.dims[1] !== inp.dims[2] || inp.dims[3] !== 1) {
    throw new Error(`predict: '${path}' must have an input 'image' of shape [batch, S, S, 1], has ${JSON.stringify(info.inputs)}`);
  }
  if (!info.outputs.some((v) => v.name === 'probabilities')) {
    throw new Error(`predict: '${path}' has no 'probabilities' output (outputs: ${info.outputs.map((v) => v.name).join(', ')})`);
  }
  const s = inp.dims[1];
  const sess = await ort.InferenceSession.create(bytes);
  return {
    size: s,
    run: async (x) => {
      const r = await sess.run({ image: new ort.Tensor('float32', x, [1, s, s, 1]) }, ['probabilities']);
      return r.probabilities.data as Float32Array;
    },
    close: async () => sess.release(),
  };
}

/** `predict`: image -> PNG mask or probability map at the image's own size. */
export async function predictCommand(o: PredictOptions): Promise<{ width: number; height: number; modelSize: number; foreground: number }> {
  const threshold = o.threshold ?? 0.5;
  if (!(threshold > 0 && threshold < 1)) throw new Error(`--threshold must lie in (0, 1), got ${threshold}`);
  const img = await decodeGrey(o.image);
  const m = await runModel(o.model);
  try {
    const s = m.size;
    const x = resizeBilinear(Float32Array.from(img.data), img.width, img.height, s, s);
    for (let i = 0; i < x.length; i++) x[i] = Math.min(1, Math.max(0, x[i] / 255));
    const p = await m.run(x);
    const back = resizeBilinear(p, s, s, img.width, img.height);
    const out = new Uint8Array(back.length);
    let fg = 0;
    for (let i = 0; i < back.length; i++) {
      if (back[i] >= threshold) fg++;
      out[i] = o.probabilities ? Math.round(Math.min(1, Math.max(0, back[i])) * 255) : back[i] >= threshold ? 1 : 0;
    }
    mkdirSync(dirname(o.out), { recursive: true });
    writeFileSync(o.out, await encodeGreyPng(out, img.width, img.height, { binary: !o.probabilities }));
    return { width: img.width, height: img.height, modelSize: s, foreground: fg };
  } finally {
    await m.close();
  }
}

const backendOption = (c: Command) => c.option('--backend <name>', `TensorFlow.js backend (${BACKEND_CHOICES.join('|')})`, 'wasm');

async function useBackend(name: string, quiet = false): Promise<void> {
  if (!(BACKEND_CHOICES as readonly string[]).includes(name)) throw new Error(`--backend must be one of ${BACKEND_CHOICES.join(', ')}, got '${name}'`);
  const sel = await selectBackend(name as BackendChoice);
  if (!quiet) console.error(`backend: ${sel.label} (${sel.reason})`);
}

export function register(program: Command): void {
  const models = program.command('models').description('create and inspect network checkpoints (Segmentation-Net, Reinforcement-Net, U-Net, ResU-Net)');
  backendOption(
    models
      .command('init')
      .description('write a checkpoint of a freshly initialised model (deterministic by seed)')
      .requiredOption('--model <kind>', `network: ${MODEL_KINDS.join('|')}`)
      .option('--preset <name>', 'Segmentation-Net sizes: cpu|paper (seg-net, rl-net)', 'cpu')
      .option('--size <px>', 'square input size S, a multiple of 16', int('size', 16), 128)
      .option('--seed <n>', 'initialisation seed', int('seed', 0), 0)
      .option('--base-width <n>', 'U-Net / ResU-Net first-level width', int('base-width'), 16)
      .requiredOption('--out <dir>', 'checkpoint directory to write'),
  ).action(async (o: { model: ModelKind; preset: 'cpu' | 'paper'; size: number; seed: number; baseWidth: number; out: string; backend: string }) => {
    await useBackend(o.backend, true);
    const r = await modelsInit(o);
    console.log(`wrote ${o.out}: ${r.spec.kind}, ${r.params} parameters, input ${r.spec.inputSize} px, seed ${r.spec.seed}`);
  });
  backendOption(
    models
      .command('summary <dir>')
      .description('layers, parameter count and FLOPs per forward pass of a checkpoint')
      .option('--json', 'print the summary as one JSON object'),
  ).action(async (dir: string, o: { json?: boolean; backend: string }) => {
    await useBackend(o.backend, true);
    const r = await modelsSummary(dir);
    console.log(o.json ? JSON.stringify(r) : formatSummary(r.spec, r.summary));
  });
  backendOption(
    program
      .command('export-onnx')
      .description('export a checkpoint to ONNX (opset 17, IR 8, NHWC input "image" with dynamic batch)')
      .requiredOption('--checkpoint <dir>', 'checkpoint directory (models init, training)')
      .requiredOption('--out <file>', 'ONNX file to write')
      .option('--seg-checkpoint <dir>', 'with an rl-net checkpoint: export the whole MRL-Seg inference with this Segmentation-Net')
      .option('--steps <n>', 'MRL-Seg: deterministic policy steps T', int('steps'), 4)
      .option('--mask-value <v>', 'MRL-Seg: value of masked pixels', num('mask-value'), 0),
  ).action(async (o: { checkpoint: string; out: string; segCheckpoint?: string; steps: number; maskValue: number; backend: string }) => {
    await useBackend(o.backend, true);
    const r = await exportOnnxCommand(o);
    console.log(`wrote ${o.out}: ${r.bytes} bytes, outputs ${r.outputs.join(', ')}`);
  });
  backendOption(
    program
      .command('predict')
      .description('segment one image with a checkpoint or an ONNX model; writes a PNG at the image size')
      .requiredOption('--model <path>', 'checkpoint directory or .onnx file')
      .requiredOption('--image <file>', 'PNG/JPEG/TIFF/WebP image (converted to grey)')
      .requiredOption('--out <file>', 'PNG to write')
      .option('--probabilities', 'write the 8-bit probability map round(255 p) instead of the binary mask')
      .option('--threshold <p>', 'foreground when p >= threshold', num('threshold'), 0.5),
  ).action(async (o: PredictOptions & { backend: string }) => {
    await useBackend(o.backend, true);
    const r = await predictCommand(o);
    console.log(`wrote ${o.out}: ${r.width} x ${r.height} (model ${r.modelSize} px), ${r.foreground} foreground pixels`);
  });
}
