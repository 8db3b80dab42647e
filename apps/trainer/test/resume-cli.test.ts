import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '@mrlseg/experiments';
import { TINY_CONFIG } from './train-fixtures';

const run = promisify(execFile);
const bin = join(dirname(dirname(fileURLToPath(import.meta.url))), 'bin', 'mrlseg.mjs');
const dir = mkdtempSync(join(tmpdir(), 'mrlseg-resume-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Starts `mrlseg train`, waits until stderr matches `until`, then sends `signal`; resolves with the exit code and stderr. */
function trainUntil(args: string[], until: RegExp, signal: NodeJS.Signals): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'train', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let sent = false;
    child.stderr.on('data', (d) => {
      stderr += String(d);
      if (!sent && until.test(stderr)) {
        sent = true;
        child.kill(signal);
      }
    });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}

describe('interrupting mrlseg train', () => {
  const cfg = join(dir, 'tiny.json');
  writeFileSync(cfg, JSON.stringify({ ...TINY_CONFIG, name: 'resume', variant: 'rl-fb-adp-seg', training: { ...TINY_CONFIG.training, epochs: 3, rlEpochs: 1 } }));

  it('killed mid-epoch (SIGKILL), --resume finishes the run with every epoch recorded', async () => {
    const store = join(dir, 'killed');
    // kill right after the first epoch is recorded: the process is inside the second epoch
    const k = await trainUntil(['--config', cfg, '--store', store, '--backend', 'wasm'], /"type":"epoch"/, 'SIGKILL');
    expect(k.code).toBeNull();
    let s = await openStore(store, { readonly: true });
    const [runBefore] = (await s.listRuns());
    expect(runBefore.status).toBe('incomplete'); // its process is gone
    expect((await s.epochs(runBefore.id)).map((e) => e.epoch)).toEqual([0]);
    await s.close();

    const r = await run(process.execPath, [bin, 'train', '--config', cfg, '--store', store, '--backend', 'wasm', '--resume', '--json'], { maxBuffer: 1 << 24 });
    const out = JSON.parse(r.stdout);
    expect(out.resumed).toBe(true);
    expect(r.stderr).toMatch(/"type":"phase-start","runId":"[^"]+","phase":"pretrain","epochs":3,"startEpoch":1/);
    s = await openStore(store, { readonly: true });
    const [after] = (await s.listRuns());
    expect(after.id).toBe(runBefore.id);
    expect(after.status).toBe('completed');
    expect((await s.epochs(after.id)).map((e) => `${e.phase}:${e.epoch}`)).toEqual(['pretrain:0', 'pretrain:1', 'pretrain:2', 'rl:0']);
    expect((await s.allCases(after.id))).toHaveLength(4);
    await s.close();
  }, 120_000);

  it('Ctrl-C (SIGINT) stops after the current step, marks the run incomplete and exits 130', async () => {
    const store = join(dir, 'sigint');
    const k = await trainUntil(['--config', cfg, '--store', store, '--backend', 'wasm'], /"type":"epoch"/, 'SIGINT');
    expect(k.code).toBe(130);
    expect(k.stderr).toMatch(/interrupt: stopping after the current step/);
    expect(k.stderr).toMatch(/mrlseg: run \S+ interrupted during pretrain epoch \d; .*--resume/);
    const s = await openStore(store, { readonly: true });
    const [r] = (await s.listRuns());
    expect(r).toMatchObject({ status: 'incomplete', error: expect.stringMatching(/interrupted/) });
    expect((await s.lastCheckpoint(r.id))).toMatchObject({ phase: 'pretrain' });
    await s.close();
  }, 120_000);
});
