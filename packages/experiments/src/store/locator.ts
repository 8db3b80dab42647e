/**
 * What `--store` names: a folder (SQLite) or a PostgreSQL URL. Parsed once, validated up front.
 */
import { resolve } from 'node:path';

export type StoreLocation =
  | { kind: 'sqlite'; dir: string; display: string }
  | { kind: 'postgres'; url: string; display: string };

/** True when `location` is a PostgreSQL URL rather than a folder. */
export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}

/** The URL with its password replaced by `***` (for messages and logs). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@');
  }
}

/**
 * Parses a `--store` value. Folders are resolved to absolute paths; URLs must be
 * `postgres://` or `postgresql://` with a host and a database name.
 */
export function parseStoreLocation(location: string): StoreLocation {
  if (typeof location !== 'string' || location.trim() === '') throw new Error('openStore: location must be a folder or a postgres:// URL, got an empty value');
  if (isPostgresUrl(location)) {
    let u: URL;
    try {
      u = new URL(location);
    } catch {
      throw new Error(`--store ${redactUrl(location)}: not a valid URL (expected postgres://user@host:port/database)`);
    }
    const db = decodeURIComponent(u.pathname.replace(/^\//, ''));
    if (!u.hostname && !u.searchParams.get('host')) throw new Error(`--store ${redactUrl(location)}: the URL names no host (expected postgres://user@host:port/database)`);
    if (!db) throw new Error(`--store ${redactUrl(location)}: the URL names no database (expected postgres://user@host:port/database)`);
    return { kind: 'postgres', url: location, display: redactUrl(location) };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) {
    throw new Error(`--store ${location.split('@').pop()}: unsupported URL scheme (a folder for SQLite, or postgres://user@host:port/database)`);
  }
  const dir = resolve(location);
  return { kind: 'sqlite', dir, display: dir };
}
