import { defineConfig } from 'vitest/config';

// One vitest process runs every project's suite (each project keeps its own
// vitest.config.ts, so `npx nx test <project>` and `npx vitest --project <name>` work too).
export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*', 'tools'],
  },
});
