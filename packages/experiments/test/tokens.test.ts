import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DB_FILE, MIGRATIONS, hashApiToken, openStore } from '../src/index';

let dir: string;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mrlseg-tokens-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('API tokens in the results store', () => {
  it('hashes with SHA-256 (hex of a known vector)', async () => {
    // FIPS 180-2 test vector: SHA-256("abc").
    expect(hashApiToken('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(() => hashApiToken('')).toThrow(/hashApiToken: token must be a non-empty string/);
  });

  it('creates a 256-bit token, stores only its hash, lists and revokes it', async () => {
    const s = await openStore(dir);
    const { token, record } = (await s.createApiToken('reader', 'alice laptop'));
    expect(token).toMatch(/^mrl_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(token.slice(4), 'base64url')).toHaveLength(32);
    expect(record).toMatchObject({ role: 'reader', label: 'alice laptop', revokedAt: null });
    const runner = (await s.createApiToken('runner'));
    expect(runner.token).not.toBe(token);
    expect((await s.listApiTokens()).map((t) => [t.id, t.role])).toEqual([
      [record.id, 'reader'],
      [runner.record.id, 'runner'],
    ]);
    expect((await s.activeApiTokens())).toEqual([
      { id: record.id, role: 'reader', hash: createHash('sha256').update(token).digest('hex') },
      { id: runner.record.id, role: 'runner', hash: hashApiToken(runner.token) },
    ]);
    await s.close();
    // The clear token is nowhere in the database file.
    const db = new Database(join(dir, DB_FILE), { readonly: true });
    const rows = db.prepare('SELECT * FROM api_tokens').all() as Record<string, unknown>[];
    expect(JSON.stringify(rows)).not.toContain(token.slice(4));
    db.close();

    const s2 = await openStore(dir);
    const revoked = (await s2.revokeApiToken(record.id));
    expect(revoked?.revokedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect((await s2.revokeApiToken(record.id))?.revokedAt).toBe(revoked?.revokedAt);
    expect((await s2.revokeApiToken('nope'))).toBeUndefined();
    expect((await s2.activeApiTokens()).map((t) => t.id)).toEqual([runner.record.id]);
    expect((await s2.listApiTokens())).toHaveLength(2);
    await s2.close();
  });

  it('rejects a bad role and writes through a read-only store', async () => {
    const s = await openStore(dir);
    await expect(s.createApiToken('admin' as 'reader')).rejects.toThrow(/createApiToken: role must be one of reader, runner, got 'admin'/);
    await s.close();
    const ro = await openStore(dir, { readonly: true });
    await expect(ro.createApiToken('reader')).rejects.toThrow(/opened read-only/);
    await ro.close();
  });

  it('reads a store older than the tokens migration as having no tokens', async () => {
    const db = new Database(join(dir, DB_FILE));
    db.transaction(() => {
      for (const m of MIGRATIONS.filter((x) => x.version <= 3)) for (const st of m.statements({ dialect: 'sqlite', storeDir: dir })) db.prepare(st).run();
      db.pragma('user_version = 3');
    })();
    db.close();
    const ro = await openStore(dir, { readonly: true });
    expect((await ro.listApiTokens())).toEqual([]);
    expect((await ro.activeApiTokens())).toEqual([]);
    await ro.close();
  });
});
