import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '@mrlseg/experiments';
import { postgresUnavailable, startPostgres, type PostgresServer } from '@mrlseg/test-servers';
import { TINY_CONFIG } from './train-fixtures';

const run = promisify(execFile);
const bin = join(dirname(dirname(fileURLToPath(import.meta.url))), 'bin', 'mrlseg.mjs');
const mrlseg = (...args: string[]) => run(process.execPath, [bin, ...args], { maxBuffer: 1 << 24 });
const pgMissing = postgresUnavailable();
if (pgMissing) console.warn(pgMissing);

describe.skipIf(pgMissing)('a team store on PostgreSQL: train, report, store copy both ways', () => {
  let pg: PostgresServer;
  let url: string;
  const dir = mkdtempSync(join(tmpdir(), 'mrlseg-pgcli-'));
  const shared = join(dir, 'shared-artifacts');
  let experimentId: string;
  beforeAll(async () => {
    pg = await startPostgres();
    url = await pg.createDatabase('team');
    writeFileSync(join(dir, 'tiny.json'), JSON.stringify(TINY_CONFIG));
    const r = await mrlseg('train', '--config', join(dir, 'tiny.json'), '--variant', 'onlyseg', '--store', url, '--artifacts', shared, '--backend', 'wasm', '--json');
    experimentId = JSON.parse(r.stdout).experimentId;
  }, 180_000);
  afterAll(async () => {
    await pg?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('train --store postgres:// writes the run to the database and its files under --artifacts', async () => {
    const s = await openStore(url, { readonly: true, artifacts: shared });
    const runs = await s.listRuns({ experimentId });
    expect(runs.map((r) => [r.variant, r.status])).toEqual([['onlyseg', 'completed']]);
    expect(runs[0].checkpointPath!.startsWith(`${shared}/`)).toBe(true);
    expect(existsSync(runs[0].checkpointPath!)).toBe(true);
    expect(await s.allCases(runs[0].id)).toHaveLength(4);
    await s.close();
  });

  it('report --store postgres:// prints the tables; a copy into a folder and back into another database reports the same', async () => {
    const fromPg = (await mrlseg('report', '--store', url, '--format', 'json')).stdout;
    expect(JSON.parse(fromPg).variants.map((v: { variant: string }) => v.variant)).toEqual(['onlyseg']);
    const md = (await mrlseg('report', '--store', url)).stdout;
    expect(md).toMatch(/\| OnlySeg \|/);

    const local = join(dir, 'local');
    const c1 = await mrlseg('store', 'copy', '--from', url, '--from-artifacts', shared, '--to', local, '--json');
    expect(JSON.parse(c1.stdout)).toMatchObject({ experiments: [experimentId], runs: 1, cases: 4, filesCopied: true });
    expect((await mrlseg('report', '--store', local, '--format', 'json')).stdout).toBe(fromPg);

    const url2 = await pg.createDatabase('team2');
    const c2 = await mrlseg('store', 'copy', '--from', local, '--to', url2, '--to-artifacts', join(dir, 'shared2'));
    expect(c2.stdout).toMatch(/^copied 1 experiment\(s\), 1 run\(s\), \d+ epoch row\(s\), 4 case\(s\) from .*local to postgres:\/\/mrlseg@127\.0\.0\.1:\d+\/team2; artifact files copied/);
    expect((await mrlseg('report', '--store', url2, '--format', 'json')).stdout).toBe(fromPg);
  }, 120_000);

  it('a PostgreSQL --store without --artifacts is refused before any work', async () => {
    await expect(mrlseg('train', '--config', join(dir, 'tiny.json'), '--store', url, '--backend', 'cpu')).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/--artifacts <dir> is required with a PostgreSQL --store/),
    });
  }, 60_000);
});
