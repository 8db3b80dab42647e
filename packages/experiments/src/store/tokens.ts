/**
 * Bearer tokens of the evaluation API, kept in the results store's `api_tokens` table (migration 4).
 * A token is 32 random bytes (256 bits) shown once, as base64url with a `mrl_` prefix; the store
 * keeps only its SHA-256 hash, its role and an optional label, so a copy of the database cannot
 * be used to call the API. Revoking sets `revoked_at`; rows are never deleted, so `token list`
 * keeps the history.
 *
 * These functions take the store's query layer (Kysely, SQLite or PostgreSQL); ResultsStore exposes
 * them as methods (createApiToken, listApiTokens, revokeApiToken, activeApiTokens). Matching a
 * presented token against the hashes (in constant time) is the API's job (apps/eval-api/src/auth.ts),
 * not the store's.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { StoreTables } from './schema';

/** `reader`: read runs, cases, artifacts, and segment/evaluate; `runner`: that plus enqueueing work. */
export const API_TOKEN_ROLES = ['reader', 'runner'] as const;
export type ApiTokenRole = (typeof API_TOKEN_ROLES)[number];

/** A stored token, without its hash. */
export interface ApiTokenRecord {
  /** Short public id (`token revoke <id>`), not secret. */
  id: string;
  role: ApiTokenRole;
  label: string | null;
  createdAt: string;
  revokedAt: string | null;
}

/** An unrevoked token with its hash, as the API's authentication compares it. */
export interface ActiveApiToken {
  id: string;
  role: ApiTokenRole;
  /** SHA-256 of the token, lower-case hex (64 characters). */
  hash: string;
}

export const TOKEN_PREFIX = 'mrl_';

/** SHA-256 of a token, lower-case hex. */
export function hashApiToken(token: string): string {
  if (typeof token !== 'string' || token.length === 0) throw new Error('hashApiToken: token must be a non-empty string');
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A fresh token: `mrl_` + 32 random bytes as base64url (43 characters). */
export function generateApiToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

function checkRole(fn: string, role: unknown): ApiTokenRole {
  if (!(API_TOKEN_ROLES as readonly unknown[]).includes(role)) throw new Error(`${fn}: role must be one of ${API_TOKEN_ROLES.join(', ')}, got '${String(role)}'`);
  return role as ApiTokenRole;
}

type Row = StoreTables['api_tokens'];
const toRecord = (r: Row): ApiTokenRecord => ({ id: r.id, role: r.role as ApiTokenRole, label: r.label, createdAt: r.created_at, revokedAt: r.revoked_at });

/**
 * Creates a token with `role` and stores its hash.
 * @returns the token (the only time it exists in clear) and its record.
 */
export async function createApiToken(db: Kysely<StoreTables>, role: ApiTokenRole, label?: string | null): Promise<{ token: string; record: ApiTokenRecord }> {
  checkRole('createApiToken', role);
  if (label !== undefined && label !== null && (typeof label !== 'string' || label.length > 200)) {
    throw new Error('createApiToken: label must be a string of at most 200 characters');
  }
  const token = generateApiToken();
  const row: Row = { id: randomUUID().slice(0, 8), role, label: label || null, created_at: new Date().toISOString(), revoked_at: null, hash: hashApiToken(token) };
  await db.insertInto('api_tokens').values(row).execute();
  return { token, record: toRecord(row) };
}

/** Every token ever created (revoked ones too), oldest first. */
export async function listApiTokens(db: Kysely<StoreTables>): Promise<ApiTokenRecord[]> {
  return (await db.selectFrom('api_tokens').selectAll().orderBy('created_at').orderBy('id').execute()).map(toRecord);
}

/** Unrevoked tokens with their hashes. */
export async function activeApiTokens(db: Kysely<StoreTables>): Promise<ActiveApiToken[]> {
  const rows = await db.selectFrom('api_tokens').select(['id', 'role', 'hash']).where('revoked_at', 'is', null).orderBy('created_at').orderBy('id').execute();
  return rows.map((r) => ({ id: r.id, role: checkRole('activeApiTokens', r.role), hash: r.hash }));
}

/**
 * Revokes the token with this id (from `token list`).
 * @returns its record, with revokedAt set (unchanged when it was already revoked); undefined when no token has this id.
 */
export async function revokeApiToken(db: Kysely<StoreTables>, id: string): Promise<ApiTokenRecord | undefined> {
  if (typeof id !== 'string' || id.length === 0) throw new Error('revokeApiToken: id must be a non-empty string (see token list)');
  await db.updateTable('api_tokens').set({ revoked_at: new Date().toISOString() }).where('id', '=', id).where('revoked_at', 'is', null).execute();
  const r = await db.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirst();
  return r ? toRecord(r) : undefined;
}
