/**
 * One data-parallel training worker (started by createDataParallelTrainer through
 * data-parallel-worker.mjs). Per step it computes the gradient of the mean loss over its shard,
 * writes it (times the shard weight) into its slot of the shared gradient buffer, waits at a
 * barrier for all workers, sums the slots in rank order (so every worker gets bit-identical
 * sums) and applies the same optimiser update; the replicas' weights therefore stay identical.
 */
import { parentPort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { convEngineInfo, usePortableBackend } from './backend';
import { CTL, type FromWorker, type ModuleRef, type OptimizerSpec, type ToWorker, type WorkerInit } from './data-parallel-protocol';

type LossFn = (target: tf.Tensor, prediction: tf.Tensor) => tf.Scalar;

async function loadExport<T>(ref: ModuleRef, what: string): Promise<T> {
  const mod = (await import(ref.module)) as Record<string, unknown>;
  const f = mod[ref.export];
  if (typeof f !== 'function') throw new Error(`data-parallel worker: ${what} '${ref.export}' is not a function exported by '${ref.module}'`);
  return f as T;
}

function makeOptimizer(o: OptimizerSpec): tf.Optimizer {
  if (o.name === 'adam') return tf.train.adam(o.learningRate, o.beta1, o.beta2, o.epsilon);
  if (o.name === 'sgd') return tf.train.sgd(o.learningRate);
  return tf.train.rmsprop(o.learningRate, o.decay, o.momentum, o.epsilon);
}

/** Sense-reversing barrier over the control words (Atomics.wait is allowed in worker threads). */
function barrier(ctl: Int32Array, workers: number): void {
  const gen = Atomics.load(ctl, CTL.generation);
  if (Atomics.add(ctl, CTL.count, 1) === workers - 1) {
    Atomics.store(ctl, CTL.count, 0);
    Atomics.add(ctl, CTL.generation, 1);
    Atomics.notify(ctl, CTL.generation);
  } else {
    while (Atomics.load(ctl, CTL.generation) === gen) Atomics.wait(ctl, CTL.generation, gen);
  }
}

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('data-parallel-worker.ts must run in a worker thread');
  const send = (m: FromWorker, transfer: Transferable[] = []) => port.postMessage(m, transfer as never);
  let init: WorkerInit | null = null;
  let model: tf.LayersModel | null = null;
  let optimizer: tf.Optimizer | null = null;
  let loss: LossFn | null = null;
  let vars: tf.LayerVariable[] = [];
  let offsets: number[] = [];
  let paramCount = 0;
  let ctl: Int32Array;
  let slots: Float32Array | null = null;
  let sum: Float32Array;

  port.on('message', (msg: ToWorker) => {
    void (async () => {
      try {
        if (msg.type === 'init') {
          init = msg;
          // One onnxruntime thread per worker by default: the workers already use one core each.
          const backend = await usePortableBackend(msg.backend, { convEngine: msg.convEngine, threads: msg.convThreads ?? 1 });
          const factory = await loadExport<(...a: unknown[]) => tf.LayersModel>(msg.model, 'model factory');
          model = factory(...(msg.model.args ?? []));
          loss = msg.loss ? await loadExport<LossFn>(msg.loss, 'loss') : (await import('../bench-unet')).bceLoss;
          optimizer = makeOptimizer(msg.optimizer);
          vars = model.trainableWeights;
          offsets = [];
          paramCount = 0;
          for (const v of vars) {
            offsets.push(paramCount);
            paramCount += (v.shape as number[]).reduce((a, b) => a * b, 1);
          }
          ctl = new Int32Array(msg.control);
          sum = new Float32Array(paramCount);
          const conv = convEngineInfo();
          send({ type: 'ready', rank: msg.rank, paramCount, backend, convEngine: conv.engine, convThreads: conv.threads });
        } else if (msg.type === 'attach') {
          if (!init) throw new Error('data-parallel worker: attach before init');
          slots = new Float32Array(msg.grads);
          if (slots.length !== paramCount * init.workers) {
            throw new Error(`data-parallel worker ${init.rank}: gradient buffer holds ${slots.length} floats, the model needs ${paramCount * init.workers}`);
          }
          send({ type: 'attached', id: msg.id });
        } else if (msg.type === 'step') {
          if (!init || !model || !optimizer || !loss || !slots) throw new Error('data-parallel worker: step before init and attach');
          const t0 = performance.now();
          const m = model;
          const lf = loss;
          const x = tf.tensor(msg.x, msg.xShape);
          const y = tf.tensor(msg.y, msg.yShape);
          const tvars = vars.map((v) => v.read() as tf.Variable);
          const names = tvars.map((v) => v.name);
          const { value, grads } = tf.variableGrads(() => lf(y, m.apply(x, { training: true }) as tf.Tensor), tvars);
          const lossValue = (await value.data())[0];
          const mine = slots.subarray(init.rank * paramCount, (init.rank + 1) * paramCount);
          for (let i = 0; i < vars.length; i++) {
            const g = grads[names[i]].dataSync() as Float32Array;
            const o = offsets[i];
            for (let j = 0; j < g.length; j++) mine[o + j] = g[j] * msg.weight;
          }
          tf.dispose([x, y, value, ...Object.values(grads)]);
          barrier(ctl, init.workers);
          sum.set(slots.subarray(0, paramCount));
          for (let w = 1; w < init.workers; w++) {
            const s = slots.subarray(w * paramCount, (w + 1) * paramCount);
            for (let j = 0; j < paramCount; j++) sum[j] += s[j];
          }
          // Nobody may overwrite a slot before everyone has summed it.
          barrier(ctl, init.workers);
          const named: tf.NamedTensorMap = {};
          for (let i = 0; i < vars.length; i++) {
            const shape = tvars[i].shape;
            named[names[i]] = tf.tensor(sum.subarray(offsets[i], offsets[i] + tvars[i].size), shape);
          }
          optimizer.applyGradients(named);
          tf.dispose(Object.values(named));
          send({ type: 'stepDone', id: msg.id, loss: lossValue, ms: performance.now() - t0 });
        } else if (msg.type === 'getWeights') {
          if (!model) throw new Error('data-parallel worker: getWeights before init');
          const ws = model.getWeights();
          const arrays = ws.map((w) => (w.dataSync() as Float32Array).slice());
          send({ type: 'weights', id: msg.id, weights: arrays, shapes: ws.map((w) => w.shape) }, arrays.map((a) => a.buffer));
        } else if (msg.type === 'setWeights') {
          if (!model) throw new Error('data-parallel worker: setWeights before init');
          const cur = model.getWeights();
          if (msg.weights.length !== cur.length) throw new Error(`data-parallel worker: setWeights got ${msg.weights.length} arrays, the model has ${cur.length}`);
          const ts = msg.weights.map((w, i) => tf.tensor(w, cur[i].shape));
          model.setWeights(ts);
          tf.dispose(ts);
          send({ type: 'weightsSet', id: msg.id });
        } else if (msg.type === 'close') {
          optimizer?.dispose();
          model?.dispose();
          port.close();
        }
      } catch (e) {
        send({ type: 'error', id: 'id' in msg ? msg.id : undefined, message: e instanceof Error ? e.message : String(e) });
      }
    })();
  });
}

await main();
