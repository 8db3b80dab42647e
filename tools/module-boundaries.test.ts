/**
 * Proof that the Nx module-boundary rules hold: lint code planted at real paths of the workspace
 * (never written to disk) and expect the rule to reject exactly the violations.
 */
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { ESLint } from 'eslint';
import { execFileSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const eslint = new ESLint({ cwd: root });

async function boundaryErrors(file: string, code: string): Promise<string[]> {
  const [res] = await eslint.lintText(code, { filePath: join(root, file) });
  return res.messages
    .filter((m) => m.ruleId === '@nx/enforce-module-boundaries' || m.ruleId === 'no-restricted-imports')
    .map((m) => m.message);
}

describe('module boundaries (@nx/enforce-module-boundaries + no-restricted-imports)', () => {
  // The rule silently skips itself without a cached project graph; build it as `npm run lint` does.
  beforeAll(() => {
    execFileSync(process.execPath, [join(root, 'node_modules/nx/dist/bin/nx.js'), 'show', 'projects'], { cwd: root, stdio: 'pipe' });
  });

  it.each([
    ['a lower tier importing a higher one', 'packages/metrics/src/planted.ts', "import '@mrlseg/data';\nexport {};\n"],
    ['types importing metrics', 'packages/types/src/planted.ts', "import '@mrlseg/metrics';\nexport {};\n"],
    ['rewards importing rl-core', 'packages/rewards/src/planted.ts', "import '@mrlseg/rl-core';\nexport {};\n"],
    ['a library importing an app', 'packages/experiments/src/planted.ts', "import '@mrlseg/trainer';\nexport {};\n"],
    ['the viewer importing fs', 'apps/viewer/src/planted.ts', "import { readFileSync } from 'fs';\nexport const f = readFileSync;\n"],
    ['the viewer importing onnxruntime-node', 'apps/viewer/src/planted.ts', "import 'onnxruntime-node';\nexport {};\n"],
    ['the viewer importing better-sqlite3', 'apps/viewer/src/planted.ts', "import 'better-sqlite3';\nexport {};\n"],
    ['the viewer importing a node-only library', 'apps/viewer/src/planted.ts', "import '@mrlseg/data';\nexport {};\n"],
    ['a library importing tfjs-node-gpu', 'packages/models/src/planted.ts', "import '@tensorflow/tfjs-node-gpu';\nexport {};\n"],
    ['the API importing tfjs-node', 'apps/eval-api/src/planted.ts', "import '@tensorflow/tfjs-node';\nexport {};\n"],
    ['a universal library importing node:fs', 'packages/metrics/src/planted.ts', "import 'node:fs';\nexport {};\n"],
  ])('rejects %s', async (_what, file, code) => {
    expect((await boundaryErrors(file, code)).length).toBeGreaterThan(0);
  });

  it.each([
    ['experiments importing data', 'packages/experiments/src/planted.ts', "import '@mrlseg/data';\nexport {};\n"],
    ['metrics importing types', 'packages/metrics/src/planted.ts', "import '@mrlseg/types';\nexport {};\n"],
    ['the viewer importing metrics', 'apps/viewer/src/planted.ts', "import '@mrlseg/metrics';\nexport {};\n"],
    ['the trainer importing experiments', 'apps/trainer/src/planted.ts', "import '@mrlseg/experiments';\nexport {};\n"],
  ])('allows %s', async (_what, file, code) => {
    expect(await boundaryErrors(file, code)).toEqual([]);
  });
});
