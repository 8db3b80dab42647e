/**
 * The `mrlseg` command tree. Each file in ./commands registers one command group with
 * `export function register(program: Command): void`, so teams add commands without editing a
 * central list.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Command } from 'commander';

export async function buildProgram(): Promise<Command> {
  const program = new Command('mrlseg')
    .description('MRL-Seg toolkit: imbalanced medical image segmentation with a pixel-wise RL agent (Yang et al., IEEE JBHI 2024)')
    .version('0.1.0')
    .showHelpAfterError()
    .configureHelp({ sortSubcommands: true });
  const dir = join(dirname(fileURLToPath(import.meta.url)), 'commands');
  const files = readdirSync(dir)
    .filter((f) => /\.(ts|js|mjs)$/.test(f) && !/\.(test|spec)\./.test(f) && !f.endsWith('.d.ts'))
    .sort();
  for (const f of files) {
    const mod = (await import(pathToFileURL(join(dir, f)).href)) as { register?: (p: Command) => void };
    if (typeof mod.register === 'function') mod.register(program);
  }
  return program;
}
