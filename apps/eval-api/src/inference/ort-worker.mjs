// One inference worker thread of the evaluation API (see worker-pool.ts). onnxruntime-node runs
// session.run on the calling thread, so inference lives here, off the HTTP event loop. Plain
// JavaScript (no TypeScript transform needed in any runner). Sessions are created once per model
// file and reused. Messages: { id, op: 'load', path } -> { id, info } and
// { id, op: 'run', path, inputName, dims, data, fetches } -> { id, outputs: { name: { dims, data } } }.
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';

const sessions = new Map();
const options = { graphOptimizationLevel: 'all', executionMode: 'sequential', ...(workerData.intraOpThreads > 0 ? { intraOpNumThreads: workerData.intraOpThreads } : {}) };

function session(path) {
  let s = sessions.get(path);
  if (!s) {
    s = ort.InferenceSession.create(path, options);
    sessions.set(path, s);
    s.catch(() => sessions.delete(path));
  }
  return s;
}

const firstLine = (e) => (e instanceof Error ? e.message : String(e)).split('\n')[0];

parentPort.on('message', async (m) => {
  try {
    const s = await session(m.path);
    if (m.op === 'load') {
      parentPort.postMessage({ id: m.id, info: { inputs: s.inputMetadata, outputNames: s.outputNames } });
      return;
    }
    const feed = new ort.Tensor('float32', m.data, m.dims);
    const t0 = performance.now();
    const out = await s.run({ [m.inputName]: feed }, m.fetches);
    const inferenceMs = performance.now() - t0;
    const outputs = {};
    const transfer = [];
    for (const [name, t] of Object.entries(out)) {
      const data = t.data;
      outputs[name] = { dims: [...t.dims], data };
      if (ArrayBuffer.isView(data)) transfer.push(data.buffer);
    }
    parentPort.postMessage({ id: m.id, outputs, inferenceMs }, transfer);
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: firstLine(e) });
  }
});

parentPort.on('close', async () => {
  for (const s of sessions.values()) await (await s.catch(() => null))?.release();
});
