/**
 * `mrlseg models init|summary` and `mrlseg export-onnx`: create, inspect and export the networks
 * of @mrlseg/models. An export carries the checkpoint's inference metadata (meta.inference, written
 * by training) as ONNX metadata_props; a checkpoint without it (models init) gets the defaults with
 * its input size. `mrlseg predict` is in predict.ts.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import * as tf from '@tensorflow/tfjs';
import { inferenceMetadataFromProps, inferenceMetadataToProps, SEG_NET_PRESETS, TOOLKIT_VERSION } from '@mrlseg/types';
import {
  buildModel,
  exportMrlSegOnnx,
  exportOnnx,
  loadCheckpoint,
  MODEL_KINDS,
  onnxModelInfo,
  saveCheckpoint,
  summary,
  type CheckpointConfig,
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

/** The inference metadata props of a checkpoint: its meta.inference, else the defaults at its input size. */
function metadataOf(config: CheckpointConfig): Record<string, string> {
  const inf = config.meta?.inference;
  const md = inferenceMetadataFromProps(inf && typeof inf === 'object' ? (inf as Record<string, string>) : undefined);
  const { present: _present, ...m } = md;
  return inferenceMetadataToProps({ ...m, inputSize: [config.spec.inputSize, config.spec.inputSize], toolkitVersion: m.toolkitVersion ?? TOOLKIT_VERSION });
}

/** `export-onnx`: one network, or with `segCheckpoint` (checkpoint = an rl-net) the unrolled MRL-Seg graph. */
export async function exportOnnxCommand(o: { checkpoint: string; out: string; segCheckpoint?: string; steps?: number; maskValue?: number }): Promise<{ bytes: number; outputs: string[] }> {
  const { model, config } = await loadCheckpoint(o.checkpoint);
  let seg: tf.LayersModel | undefined;
  const metadata = metadataOf(config);
  try {
    let bytes: Uint8Array;
    if (o.segCheckpoint) {
      if (config.spec.kind !== 'rl-net') throw new Error(`export-onnx: --seg-checkpoint needs --checkpoint to be an rl-net, got a '${config.spec.kind}'`);
      const s = await loadCheckpoint(o.segCheckpoint);
      seg = s.model;
      if (s.config.spec.kind === 'rl-net') throw new Error(`export-onnx: --seg-checkpoint must hold a segmentation network, got an 'rl-net'`);
      bytes = exportMrlSegOnnx(model, seg, { steps: o.steps ?? 4, maskValue: o.maskValue ?? 0, metadata: metadataOf(s.config) });
    } else {
      bytes = exportOnnx(model, { metadata });
    }
    mkdirSync(dirname(o.out), { recursive: true });
    writeFileSync(o.out, bytes);
    return { bytes: bytes.length, outputs: onnxModelInfo(bytes).outputs.map((v) => v.name) };
  } finally {
    model.dispose();
    seg?.dispose();
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
}
