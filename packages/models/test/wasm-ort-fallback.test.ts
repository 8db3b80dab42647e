/**
 * usePortableBackend('wasm') when onnxruntime-node cannot be loaded (simulated: ort-sync's
 * createOrtSyncEngine returns the load error, as it does for a missing package or native
 * library): by default it falls back to the wasm kernels and says why once on stderr; asked for
 * onnxruntime explicitly, it fails with the reason.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it, vi } from 'vitest';

vi.mock('../src/runtime/ort-sync', () => ({
  createOrtSyncEngine: () => new Error("Cannot find module 'onnxruntime-node'"),
}));

const { convEngineInfo, backendLabel, ortConvEngine, usePortableBackend } = await import('../src/index');

afterAll(async () => {
  await tf.setBackend('cpu');
});

describe('without onnxruntime-node', () => {
  it('falls back to the wasm kernels with one warning, and convolutions still work', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    await usePortableBackend('wasm');
    await usePortableBackend('wasm');
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0][0])).toMatch(/onnxruntime-node failed to load \(Cannot find module 'onnxruntime-node'\); convolutions run on the wasm backend's own kernels/);
    warn.mockRestore();
    expect(convEngineInfo()).toMatchObject({ engine: 'wasm', fallback: expect.stringContaining('failed to load') });
    expect(backendLabel()).toBe('wasm');
    expect(ortConvEngine()).toBeNull();
    const x = tf.ones([1, 4, 4, 1]) as tf.Tensor4D;
    const w = tf.ones([3, 3, 1, 1]) as tf.Tensor4D;
    const y = tf.conv2d(x, w, 1, 'same');
    // 3 x 3 box sums of ones: 4 in a corner, 9 inside.
    const v = await y.data();
    expect([v[0], v[5]]).toEqual([4, 9]);
    tf.dispose([x, w, y]);
  });

  it('fails when onnxruntime is asked for, naming the cause', async () => {
    await expect(usePortableBackend('wasm', { convEngine: 'onnxruntime' })).rejects.toThrow(
      "usePortableBackend: convEngine 'onnxruntime' needs onnxruntime-node, which failed to load: Cannot find module 'onnxruntime-node'",
    );
  });
});
