/**
 * `mrlseg-api token create|list|revoke`: API tokens in a results store. `create` prints the token
 * once, alone on stdout (so `TOKEN=$(mrlseg-api token create ...)` works), and what it is on
 * stderr; the store keeps only its SHA-256 (packages/experiments/src/store/tokens.ts).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { API_TOKEN_ROLES, DB_FILE, isPostgresUrl, openStore, type ApiTokenRole } from '@mrlseg/experiments';

export const TOKEN_USAGE = `Usage: mrlseg-api token create --role reader|runner --store <dir|postgres://...> [--label <text>]
       mrlseg-api token list --store <dir|postgres://...> [--json]
       mrlseg-api token revoke <id> --store <dir|postgres://...>
reader: read experiments, runs, cases, artifacts, reports; segment and evaluate. runner: also enqueue runs.
The token is printed once; the store keeps only its SHA-256 hash. Send it as "Authorization: Bearer <token>".`;

/** A mistake in the command line: main prints it with the usage and exits 2. */
export class TokenUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenUsageError';
  }
}

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

/**
 * Runs `mrlseg-api token <argv...>` (argv without "token").
 * @returns the exit status (0 ok, 1 an unknown token id).
 * @throws TokenUsageError for bad flags, Error for an unreadable store.
 */
export async function runTokenCommand(argv: string[], io: Io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) }): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: { role: { type: 'string' }, store: { type: 'string' }, label: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (e) {
    throw new TokenUsageError((e as Error).message);
  }
  const { values, positionals } = parsed;
  const [sub, ...rest] = positionals;
  if (values.help || sub === undefined || sub === 'help') {
    io.out(`${TOKEN_USAGE}\n`);
    return 0;
  }
  if (!['create', 'list', 'revoke'].includes(sub)) throw new TokenUsageError(`token: unknown subcommand '${sub}'; expected create, list or revoke`);
  if (!values.store) throw new TokenUsageError(`token ${sub}: --store <dir> is required (the results store the API serves)`);
  // Never create a store by accident (a typo in --store would make tokens no server reads).
  if (!isPostgresUrl(values.store) && !existsSync(join(values.store, DB_FILE))) throw new Error(`token ${sub}: no results store at ${values.store} (no ${DB_FILE} there); check --store`);
  if (sub === 'create') {
    if (rest.length > 0) throw new TokenUsageError(`token create: unexpected argument '${rest[0]}'`);
    const role = values.role;
    if (!role || !(API_TOKEN_ROLES as readonly string[]).includes(role)) throw new TokenUsageError(`token create: --role must be one of ${API_TOKEN_ROLES.join(', ')}${role ? `, got '${role}'` : ''}`);
    const store = await openStore(values.store, { artifacts: isPostgresUrl(values.store) ? null : undefined });
    try {
      const { token, record } = await store.createApiToken(role as ApiTokenRole, values.label ?? null);
      io.out(`${token}\n`);
      io.err(`created ${record.role} token ${record.id}${record.label ? ` (${record.label})` : ''} in ${store.location}; it is shown only this once: keep it now (revoke: mrlseg-api token revoke ${record.id} --store ${values.store})\n`);
    } finally {
      await store.close();
    }
    return 0;
  }
  if (sub === 'list') {
    const store = await openStore(values.store, { readonly: true });
    try {
      const all = await store.listApiTokens();
      if (values.json) {
        io.out(`${JSON.stringify(all, null, 2)}\n`);
      } else if (all.length === 0) {
        io.out('no tokens (create one: mrlseg-api token create --role reader --store <dir>)\n');
      } else {
        io.out(`${['id', 'role', 'created', 'revoked', 'label'].join('\t')}\n`);
        for (const t of all) io.out(`${[t.id, t.role, t.createdAt, t.revokedAt ?? '-', t.label ?? ''].join('\t')}\n`);
      }
    } finally {
      await store.close();
    }
    return 0;
  }
  if (rest.length !== 1) throw new TokenUsageError('token revoke: give exactly one token id (see mrlseg-api token list)');
  const store = await openStore(values.store, { artifacts: isPostgresUrl(values.store) ? null : undefined });
  try {
    const r = await store.revokeApiToken(rest[0]);
    if (!r) {
      io.err(`token revoke: no token with id '${rest[0]}' in ${store.location} (see mrlseg-api token list)\n`);
      return 1;
    }
    io.err(`revoked ${r.role} token ${r.id} (at ${r.revokedAt}); the API refuses it from its next request\n`);
    return 0;
  } finally {
    await store.close();
  }
}
