/**
 * Bearer-token authentication and role checks for /api/v1.
 *
 * Tokens live in the results store (packages/experiments/src/store/tokens.ts: only their SHA-256).
 * `authenticate` runs before every /api/v1 route, so an unauthenticated caller gets the same 401
 * (same status, headers and body) whatever the path and whether or not a run id exists: nothing
 * is looked up before the token is checked. A presented token is hashed and compared against
 * every active hash with crypto.timingSafeEqual, without stopping at a match, so the time taken
 * depends on the number of tokens only. A route that needs more than reading declares it with
 * `requireRole('runner')` (403 for a reader).
 *
 * When authentication is on is decided once at start (`resolveAuth`): always with `--auth
 * required`, never with `--auth none`, and with `--auth auto` (the default) whenever the API
 * listens beyond loopback. Beyond loopback without a token to check against, the server refuses
 * to start instead of serving the store to anyone.
 */
import { timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { RequestHandler } from 'express';
import { hashApiToken, type ActiveApiToken, type ApiTokenRole } from '@mrlseg/experiments';
import { AUTH_MODES, type AuthMode } from './config';
import { HttpError } from './errors';

/** What the /api/v1 routes check tokens against; a function so revocations apply at once. */
export interface AuthSettings {
  /** Unrevoked tokens (read per request: a SQLite read of a few rows). */
  tokens: () => readonly ActiveApiToken[] | Promise<readonly ActiveApiToken[]>;
}

/** Who made the request, as `authenticate` (or `openAccess` when auth is off: tokenId null) leaves it in `res.locals.auth`. */
export interface AuthIdentity {
  tokenId: string | null;
  role: ApiTokenRole;
}

const ROLE_RANK: Record<ApiTokenRole, number> = { reader: 0, runner: 1 };
export const AUTH_REALM = 'mrlseg-api';

/** True for 127.0.0.0/8, ::1, ::ffff:127.x and `localhost`; false for 0.0.0.0, ::, any other address or name. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost') return true;
  const v = isIP(h);
  if (v === 4) return h.startsWith('127.');
  if (v === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1' || h.startsWith('::ffff:127.');
  return false;
}

/** A setting that would expose the store without authentication: the one-line reason to refuse to start. */
export class AuthConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthConfigError';
  }
}

/**
 * Decides whether /api/v1 requires a token.
 * @param mode `--auth`: auto (required beyond loopback), required, none.
 * @param host the interface the server listens on.
 * @param activeTokens unrevoked tokens in the store (0 without a store).
 * @param hasStore whether the server has a store (where tokens live).
 * @throws AuthConfigError when authentication is required but no token could ever match.
 */
export function resolveAuth(mode: AuthMode, host: string, activeTokens: number, hasStore: boolean): boolean {
  if (!(AUTH_MODES as readonly string[]).includes(mode)) throw new AuthConfigError(`resolveAuth: mode must be one of ${AUTH_MODES.join(', ')}, got '${String(mode)}'`);
  if (mode === 'none') return false;
  const loopback = isLoopbackHost(host);
  if (mode === 'auto' && loopback) return false;
  if (activeTokens > 0) return true;
  const why = mode === 'required' ? '--auth required' : `listening on ${host} (beyond loopback)`;
  const create = `create one with: mrlseg-api token create --role reader --store ${hasStore ? '<the same store>' : '<dir>'}`;
  const out = loopback ? '' : `, or pass --auth none to serve everyone who can reach ${host} without authentication`;
  throw new AuthConfigError(
    hasStore
      ? `refusing to start: ${why} needs an API token, and the store has no active one; ${create}${out}`
      : `refusing to start: ${why} needs API tokens, which live in a results store: pass --store <dir> holding a token (${create})${out}`,
  );
}

function unauthorized(message: string, error?: 'invalid_token' | 'invalid_request'): HttpError {
  const challenge = error ? `Bearer realm="${AUTH_REALM}", error="${error}"` : `Bearer realm="${AUTH_REALM}"`;
  return new HttpError(401, 'unauthorized', message, undefined, { 'WWW-Authenticate': challenge });
}

const MISSING = 'this API requires a bearer token: send "Authorization: Bearer <token>" (tokens are made with mrlseg-api token create)';
const INVALID = 'the bearer token is not valid (unknown or revoked)';

/**
 * The active token whose hash equals SHA-256(`presented`), or undefined. Compares with
 * timingSafeEqual against every hash, never stopping early.
 */
export function matchToken(presented: string, tokens: readonly ActiveApiToken[]): ActiveApiToken | undefined {
  if (typeof presented !== 'string' || presented.length === 0) return undefined;
  const h = Buffer.from(hashApiToken(presented), 'hex');
  let found: ActiveApiToken | undefined;
  for (const t of tokens) {
    const stored = Buffer.from(t.hash, 'hex');
    // Every stored hash is 32 bytes; a malformed row never matches (and never throws).
    const same = stored.length === h.length && timingSafeEqual(stored, h);
    if (same && found === undefined) found = t;
  }
  return found;
}

/** The token of an `Authorization: Bearer <token>` header (RFC 6750 section 2.1), or null when absent/other scheme. */
export function bearerToken(header: string | undefined): string | null | 'malformed' {
  if (header === undefined || header === '') return null;
  const m = /^Bearer[ ]+([A-Za-z0-9\-._~+/]+=*)[ ]*$/i.exec(header);
  if (m) return m[1];
  return /^Bearer\b/i.test(header) ? 'malformed' : null;
}

/**
 * Express middleware: 401 (with WWW-Authenticate) unless the request carries an active token;
 * on success `res.locals.auth` is the caller's AuthIdentity. CORS preflights (OPTIONS) never
 * carry credentials and are answered before this runs.
 */
export function authenticate(auth: AuthSettings): RequestHandler {
  return (req, res, next) => {
    const presented = bearerToken(req.get('authorization'));
    if (presented === null) return next(unauthorized(MISSING));
    if (presented === 'malformed') return next(unauthorized(INVALID, 'invalid_request'));
    Promise.resolve(auth.tokens()).then(
      (tokens) => {
        const t = matchToken(presented, tokens);
        if (!t) return next(unauthorized(INVALID, 'invalid_token'));
        res.locals.auth = { tokenId: t.id, role: t.role } satisfies AuthIdentity;
        next();
      },
      (err: unknown) => next(err),
    );
  };
}

/** Express middleware used instead of `authenticate` when authentication is off: every caller may do everything, as before tokens. */
export function openAccess(): RequestHandler {
  return (_req, res, next) => {
    res.locals.auth = { tokenId: null, role: 'runner' } satisfies AuthIdentity;
    next();
  };
}

/**
 * Express middleware for a route that needs at least `role`: 403 (insufficient_scope) for a
 * weaker token. Fails closed: a request that passed neither `authenticate` nor `openAccess`
 * gets 401.
 */
export function requireRole(role: ApiTokenRole): RequestHandler {
  if (!(role in ROLE_RANK)) throw new Error(`requireRole: role must be one of ${Object.keys(ROLE_RANK).join(', ')}, got '${String(role)}'`);
  return (_req, res, next) => {
    const who = res.locals.auth as AuthIdentity | undefined;
    if (who === undefined) return next(unauthorized(MISSING));
    if (ROLE_RANK[who.role] >= ROLE_RANK[role]) return next();
    next(
      new HttpError(403, 'forbidden', `this route needs a ${role} token; token ${who.tokenId} is a ${who.role} token`, undefined, {
        'WWW-Authenticate': `Bearer realm="${AUTH_REALM}", error="insufficient_scope"`,
      }),
    );
  };
}
