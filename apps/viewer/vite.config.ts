/**
 * Vite build of the results viewer. The eval API serves `dist/` at `/`, so asset URLs are
 * relative to the page (`base: './'`). onnxruntime-web's wasm runtime files are copied from the
 * installed package into `dist/ort/` (and served from there by the dev server), so "Try it" loads
 * them from the app's own origin: the machines this runs on have no internet and no CDN.
 */
import { copyFileSync, createReadStream, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';

const require = createRequire(import.meta.url);
const ORT_DIST = dirname(require.resolve('onnxruntime-web/ort-wasm-simd-threaded.wasm'));
/** The plain (non-JSEP) wasm runtime that `onnxruntime-web/wasm` loads. */
const ORT_FILES = readdirSync(ORT_DIST).filter((f) => /^ort-wasm-simd-threaded\.(wasm|mjs)$/.test(f));

function ortRuntimeFiles(): Plugin {
  let outDir = 'dist';
  return {
    name: 'mrlseg-ort-runtime-files',
    configResolved(config) {
      outDir = config.build.outDir;
    },
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const m = /^\/ort\/([^/?#]+)/.exec(req.url ?? '');
        if (!m || !ORT_FILES.includes(m[1])) return next();
        res.setHeader('Content-Type', m[1].endsWith('.wasm') ? 'application/wasm' : 'text/javascript');
        createReadStream(join(ORT_DIST, m[1])).pipe(res);
      });
    },
    writeBundle() {
      const target = join(outDir, 'ort');
      if (!existsSync(target)) mkdirSync(target, { recursive: true });
      for (const f of ORT_FILES) copyFileSync(join(ORT_DIST, f), join(target, f));
    },
  };
}

export default defineConfig({
  root: import.meta.dirname,
  base: './',
  plugins: [react(), ortRuntimeFiles()],
  // The non-bundled ESM build loads its wasm glue and binary from ort.env.wasm.wasmPaths (./ort/)
  // instead of inlining them as assets: one copy, served from the app's origin.
  resolve: { alias: [{ find: /^onnxruntime-web\/wasm$/, replacement: join(ORT_DIST, 'ort.wasm.min.mjs') }] },
  build: { outDir: join(import.meta.dirname, 'dist'), emptyOutDir: true, chunkSizeWarningLimit: 2000 },
  server: { proxy: { '/api': 'http://127.0.0.1:3000', '/health': 'http://127.0.0.1:3000' } },
});
