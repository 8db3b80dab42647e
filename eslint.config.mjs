// Lint for the whole workspace. The Nx module-boundary rule keeps dependencies flowing one way:
//   types <- metrics, rewards <- data, models, rl-core <- experiments <- apps
// and keeps node-only modules out of browser code (the viewer). `npm test` runs this, so a
// boundary violation fails CI (see tools/check-boundaries.test.ts for the planted-violation proof).
import js from '@eslint/js';
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

const NODE_ONLY = [
  'fs',
  'fs/promises',
  'path',
  'os',
  'child_process',
  'worker_threads',
  'node:*',
  'express',
  'multer',
  'helmet',
  'sharp',
  'onnxruntime-node',
  'better-sqlite3',
  '@tensorflow/tfjs-node',
  '@tensorflow/tfjs-node-gpu',
  'nifti-reader-js',
];
const NATIVE_TF = ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'];

export const depConstraints = [
  // Tier 0: shared types depend on nothing of ours.
  { sourceTag: 'scope:types', onlyDependOnLibsWithTags: ['scope:types'] },
  // Tier 1: metrics and rewards see only types.
  { sourceTag: 'scope:metrics', onlyDependOnLibsWithTags: ['scope:types'] },
  { sourceTag: 'scope:rewards', onlyDependOnLibsWithTags: ['scope:types'] },
  // Tier 2: data, models and rl-core see tiers 0-1 (rl-core gets networks through interfaces).
  { sourceTag: 'scope:data', onlyDependOnLibsWithTags: ['scope:types', 'scope:metrics', 'scope:rewards'] },
  { sourceTag: 'scope:models', onlyDependOnLibsWithTags: ['scope:types', 'scope:metrics', 'scope:rewards'] },
  { sourceTag: 'scope:rl-core', onlyDependOnLibsWithTags: ['scope:types', 'scope:metrics', 'scope:rewards'] },
  // Tier 3: experiments wires the libraries together.
  {
    sourceTag: 'scope:experiments',
    // scope:test-servers: for its integration tests only (test/), never from src/
    onlyDependOnLibsWithTags: ['scope:types', 'scope:metrics', 'scope:rewards', 'scope:data', 'scope:models', 'scope:rl-core', 'scope:test-servers'],
  },
  // Throwaway database servers for integration tests: depend on nothing of ours; imported only by test files.
  { sourceTag: 'scope:test-servers', onlyDependOnLibsWithTags: [] },
  // Libraries never import an app; apps never import each other.
  { sourceTag: 'kind:lib', onlyDependOnLibsWithTags: ['kind:lib'] },
  { sourceTag: 'kind:app', onlyDependOnLibsWithTags: ['kind:lib'] },
  // Browser code: only universal libraries and no node-only modules.
  {
    sourceTag: 'platform:browser',
    onlyDependOnLibsWithTags: ['platform:universal', 'platform:browser'],
    bannedExternalImports: NODE_ONLY,
  },
  { sourceTag: 'platform:universal', onlyDependOnLibsWithTags: ['platform:universal'], bannedExternalImports: NODE_ONLY },
  // Native TensorFlow (GPU) is the trainer app's business only.
  { sourceTag: 'kind:lib', bannedExternalImports: NATIVE_TF },
  { sourceTag: 'scope:api', bannedExternalImports: NATIVE_TF },
];

export default tseslint.config(
  {
    ignores: ['**/node_modules/**', '**/dist/**', '**/.nx/**', '**/coverage/**', 'mrlseg-store/**', '**/test-artifacts/**', 'tools/fixtures/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx', '**/*.mjs', '**/*.js'],
    plugins: { '@nx': nx },
    languageOptions: {
      globals: {
        console: 'readonly', process: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly',
        setInterval: 'readonly', clearInterval: 'readonly', URL: 'readonly', performance: 'readonly', TextEncoder: 'readonly',
        TextDecoder: 'readonly', fetch: 'readonly', window: 'readonly', document: 'readonly', structuredClone: 'readonly',
        queueMicrotask: 'readonly', setImmediate: 'readonly', AbortController: 'readonly', Blob: 'readonly', FormData: 'readonly',
      },
    },
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints,
          // CLI commands import these (and through them TensorFlow.js, onnxruntime-node, sharp) with
          // await import() when they run, so the CLI starts fast; other files import them statically.
          checkDynamicDependenciesExceptions: ['@mrlseg/types', '@mrlseg/data', '@mrlseg/models', '@mrlseg/metrics', '@mrlseg/experiments', '@mrlseg/rl-core'],
        },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  // Native TensorFlow is loaded by the trainer app only (by name, at run time).
  {
    files: ['packages/**', 'apps/eval-api/**', 'apps/viewer/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: NATIVE_TF, message: 'only apps/trainer may load native TensorFlow (tfjs-node, tfjs-node-gpu)' }] },
      ],
    },
  },
  // Node built-ins are not nodes of the Nx project graph, so bannedExternalImports cannot see them;
  // no-restricted-imports keeps them (and node-only packages) out of browser and universal code.
  {
    files: ['apps/viewer/src/**', 'packages/types/src/**', 'packages/metrics/src/**', 'packages/rewards/src/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'browser/universal code must not import Node built-ins' },
            { group: NODE_ONLY.filter((m) => m !== 'node:*'), message: 'browser/universal code must not import node-only modules' },
            { group: NATIVE_TF, message: 'only apps/trainer may load native TensorFlow (tfjs-node, tfjs-node-gpu)' },
          ],
        },
      ],
    },
  },
);
