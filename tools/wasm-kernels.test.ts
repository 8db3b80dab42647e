/**
 * The committed WebAssembly binary (packages/models/src/runtime/wasm-simd-kernels.generated.ts)
 * is the assembly of its source, wasm-simd-kernels.wat: an edit of one without the other fails here.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GENERATED_PATH, assembleKernels, generatedSource } from './build-wasm-kernels';

describe('wasm-simd-kernels.generated.ts', () => {
  it('equals the assembly of wasm-simd-kernels.wat (regenerate: npx tsx tools/build-wasm-kernels.ts)', async () => {
    const bytes = await assembleKernels();
    expect(readFileSync(GENERATED_PATH, 'utf8')).toBe(generatedSource(bytes));
  });

  it('exports the seven kernels and imports only the memory', async () => {
    const mod = new WebAssembly.Module(new Uint8Array(await assembleKernels()));
    expect(WebAssembly.Module.exports(mod).map((e) => e.name).sort()).toEqual(['add_rows', 'copy_rows', 'max_pool_grad', 'mul_rows', 'sum_rows', 'upsample_nearest', 'upsample_nearest_grad']);
    expect(WebAssembly.Module.imports(mod)).toEqual([{ module: 'env', name: 'memory', kind: 'memory' }]);
  });
});
