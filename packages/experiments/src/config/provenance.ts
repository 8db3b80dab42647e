/** What a run records so it can be repeated: the git commit and the versions of what ran it. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';

/** `git rev-parse HEAD` of the working directory's repository, `-dirty` when tracked files changed; null outside git. */
export function gitCommit(cwd: string = process.cwd()): string | null {
  try {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty ? `${head}-dirty` : head;
  } catch {
    return null;
  }
}

const require = createRequire(import.meta.url);
const TOOLKIT = ['@mrlseg/types', '@mrlseg/metrics', '@mrlseg/rewards', '@mrlseg/data', '@mrlseg/models', '@mrlseg/rl-core', '@mrlseg/experiments'];

/** Versions of node, TensorFlow.js and the toolkit's packages. */
export function packageVersions(): Record<string, string> {
  const out: Record<string, string> = { node: process.versions.node, '@tensorflow/tfjs': tf.version.tfjs };
  for (const name of TOOLKIT) {
    try {
      out[name] = (JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')) as { version: string }).version;
    } catch {
      out[name] = 'unknown';
    }
  }
  return out;
}
