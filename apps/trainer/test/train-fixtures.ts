/** A few 32-px synthetic slices and a tiny network. */
export const TINY_CONFIG = {
  name: 'tiny',
  dataset: { format: 'synthetic', synthetic: { count: 16, slicesPerPatient: 2, size: 32, seed: 3 } },
  preprocessing: { size: 32 },
  model: { preset: 'custom', segNet: { channels: [4, 8, 8, 16], hidden: 16, layers: 1, heads: 2, mlp: 32, decoderChannels: [8, 8, 4, 4] } },
  training: { epochs: 1, rlEpochs: 1, batchSize: 4, rlBatchSize: 4, lr: 0.003 },
  folds: { k: 4, only: [0] },
  seed: 5,
};
