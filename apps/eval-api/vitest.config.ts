import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'eval-api',
    include: ['src/**/*.test.ts', 'src/**/*.test.tsx', 'test/**/*.test.ts', 'test/**/*.test.tsx'],
    testTimeout: 60_000,
    // The suites share heavy native modules (onnxruntime, sharp, SQLite) and hold no global state:
    // one module graph per worker instead of one per file saves most of the import time.
    isolate: false,
  },
});
