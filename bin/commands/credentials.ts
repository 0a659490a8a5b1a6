/**
 * Tokens the CLI signs, and how it finds the users they name.
 *
 * Signing needs the deployment's HS256 secret: the development key kept in DATA_DIR (embedded
 * mode, no AUTH_* set) or AUTH_JWT_SECRET. A deployment verifying with AUTH_JWKS_URL or
 * AUTH_PUBLIC_KEY gets its tokens from its identity provider; the CLI cannot sign for it.
 *
 * A token's subject is a user id, and the gateway refuses a token whose user does not exist, so
 * a handle must be resolved to an id first:
 * - DATABASE_URL set: one query to that Postgres (the source of truth), nothing else opened.
 * - Embedded mode: the users live in the PGlite of the running process (`npm start`), which no
 *   other process may open (PGlite is single-process), and its socket is private to it. So the
 *   CLI asks that process's gateway, `user(handle:)`, as an admin; and an admin token, too, must
 *   name a user that exists. The one user id a running embedded gateway publishes is its demo
 *   user's, in the token it prefills on its GraphiQL page (bin/runtime.ts, graphiqlDefaults);
 *   the CLI verifies that token with its own copy of the development key (which also proves the
 *   gateway is this DATA_DIR's), signs a one-minute admin token for the same user, and asks.
 *   Without that page (GRAPHIQL off, no `demo` user) a handle cannot be resolved: pass the
 *   numeric id, which the gateway then confirms (`user(id:)` with the id's own token).
 * Remote commands without `--token`/GATEWAY_TOKEN mint an admin token the same way, with the
 * development key only (never with AUTH_JWT_SECRET: a production secret is not used unasked);
 * its subject only has to exist (jobs record it as who asked): the first user by id with
 * DATABASE_URL, the GraphiQL page's demo user in embedded mode.
 */
import { createAuthenticator } from '../../gateway/auth/authenticator.ts';
import { keySourceOf } from '../../gateway/auth/from-config.ts';
import { issueToken } from '../../gateway/auth/issue-token.ts';
import { loadConfig, type Config } from '../../lib/config.ts';
import { AppError } from '../../lib/errors.ts';
import { createLogger, scrub } from '../../lib/logger.ts';
import type { Role } from '../../lib/viewer.ts';
import { noopObserver } from '../../stores/observer.ts';
import { createServerPostgres, type Queryable } from '../../stores/postgres.ts';
import { CliError, messageOf, usageError } from './cli-error.ts';
import { isUserId } from '../../lib/ids.ts';
import {
  createGatewayClient,
  DEFAULT_GATEWAY_URL,
  fetchGraphiqlPage,
  GatewayError,
  type GatewayClient,
} from './gateway-client.ts';

/** The options every remote command takes. */
export interface GatewayOptions {
  readonly url?: string;
  readonly token?: string;
}

/** The gateway's GraphQL URL: `--url`, GATEWAY_URL, or `npm start`'s address. */
export function gatewayUrl(options: GatewayOptions): string {
  return options.url ?? process.env['GATEWAY_URL'] ?? DEFAULT_GATEWAY_URL;
}

/** The deployment's config, read from the environment (the CLI is an entry point); a bad value is a usage error. */
export function cliConfig(): Config {
  try {
    return loadConfig(process.env);
  } catch (error) {
    if (error instanceof AppError) throw usageError(error.message);
    throw error;
  }
}

/** The HS256 secret this deployment's gateway verifies with; a clear error when the CLI cannot sign. */
export async function signingSecret(config: Config): Promise<string> {
  const key = config.auth.key;
  if (key.kind === 'jwks' || key.kind === 'publicKey') {
    throw new CliError(
      `this deployment verifies tokens with ${key.kind === 'jwks' ? 'a JWKS (AUTH_JWKS_URL)' : 'a public key (AUTH_PUBLIC_KEY)'}: ` +
        'its tokens come from its identity provider, and the CLI cannot sign them',
    );
  }
  if (key.kind === 'development' && config.dataDir === ':memory:') {
    throw new CliError('DATA_DIR=:memory: keeps no development key that a gateway could share: set DATA_DIR');
  }
  const source = await keySourceOf(config);
  if (source.kind !== 'secret') throw new CliError('this deployment has no signing secret');
  return source.secret;
}

/** Signs a token for `subject` with the deployment's issuer and audience. */
export function signToken(args: {
  config: Config;
  secret: string;
  subject: string;
  role: Role;
  expiresInSec: number;
}): Promise<string> {
  return issueToken({
    secret: args.secret,
    subject: args.subject,
    role: args.role,
    issuer: args.config.auth.issuer,
    audience: args.config.auth.audience,
    expiresInSec: args.expiresInSec,
  });
}

/** A user the CLI found, and what confirmed it exists ('unchecked': nothing could). */
export interface ResolvedUser {
  readonly id: string;
  readonly handle: string | undefined;
  readonly checkedBy: 'postgres' | 'gateway' | 'unchecked';
}

/** Resolves a handle or a numeric id (checked by `checkUserArgument`) to an existing user; see the module comment for how, per mode. */
export async function resolveUser(args: {
  config: Config;
  secret: string;
  user: string;
  url: string;
}): Promise<ResolvedUser> {
  const { config, secret, user, url } = args;
  const numeric = isUserId(user);
  if (config.postgres.url) {
    const [row] = await withPostgres(config, (db) =>
      db.query<{ id: string; handle: string }>(
        numeric
          ? 'SELECT id::text AS id, handle FROM users WHERE id = $1::bigint'
          : 'SELECT id::text AS id, handle FROM users WHERE handle = $1',
        [user],
      ),
    );
    if (!row) throw new CliError(`no user ${JSON.stringify(user)} in ${scrub(config.postgres.url)}`);
    return { id: row.id, handle: row.handle, checkedBy: 'postgres' };
  }

  if (numeric) {
    // The id's own token asks for the id: the gateway refuses a token of an unknown user.
    const token = await signToken({ config, secret, subject: user, role: 'user', expiresInSec: 60 });
    try {
      const data = await createGatewayClient({ url, token }).request<{ user: { id: string; handle: string } | null }>(
        'query($id: ID!) { user(id: $id) { id handle } }',
        { id: user },
      );
      if (!data.user) throw new CliError(`no user ${user}`);
      return { id: data.user.id, handle: data.user.handle, checkedBy: 'gateway' };
    } catch (error) {
      // Nothing running to ask (and nothing else may open embedded Postgres): sign unchecked.
      if (error instanceof GatewayError && error.kind === 'unreachable') {
        return { id: user, handle: undefined, checkedBy: 'unchecked' };
      }
      if (error instanceof GatewayError && error.codes.includes('UNAUTHENTICATED')) {
        throw new CliError(`the gateway at ${url} refused user ${user}'s token: ${error.message}`);
      }
      throw error;
    }
  }

  const anchor = await demoUserOfGateway({ config, secret, url });
  const admin = await signToken({ config, secret, subject: anchor, role: 'admin', expiresInSec: 60 });
  const data = await createGatewayClient({ url, token: admin }).request<{
    user: { id: string; handle: string } | null;
  }>('query($h: String!) { user(handle: $h) { id handle } }', { h: user });
  if (!data.user) throw new CliError(`no user ${JSON.stringify(user)} at the gateway ${url}`);
  return { id: data.user.id, handle: data.user.handle, checkedBy: 'gateway' };
}

/**
 * The gateway client of a remote command: with `--token` or GATEWAY_TOKEN as given, else an
 * admin token minted with the development key (embedded mode only), else a clear error.
 */
export async function adminGateway(options: GatewayOptions, command: string): Promise<GatewayClient> {
  const url = gatewayUrl(options);
  const given = options.token ?? process.env['GATEWAY_TOKEN'];
  const authHint =
    'this needs an admin token: --token or GATEWAY_TOKEN, e.g. "$(npx yieldsensei token <handle> --role admin)"';
  if (given) return createGatewayClient({ url, token: given.replace(/^Bearer\s+/i, ''), authHint });
  const config = cliConfig();
  if (config.auth.key.kind !== 'development') {
    throw new CliError(
      `${command} needs an admin token: pass --token or set GATEWAY_TOKEN ` +
        '(e.g. GATEWAY_TOKEN="$(npx yieldsensei token <admin handle> --role admin)"); ' +
        'one is minted automatically only with the embedded development key',
    );
  }
  const secret = await signingSecret(config);
  const subject = config.postgres.url ? await firstUserId(config) : await demoUserOfGateway({ config, secret, url });
  // Long enough to follow a long job; the development key signs whatever it is asked anyway.
  const token = await signToken({ config, secret, subject, role: 'admin', expiresInSec: 6 * 3600 });
  return createGatewayClient({ url, token, authHint });
}

/** The lowest user id in Postgres (DATABASE_URL): an existing subject for an admin token. */
async function firstUserId(config: Config): Promise<string> {
  const [row] = await withPostgres(config, (db) =>
    db.query<{ id: string }>('SELECT id::text AS id FROM users ORDER BY id LIMIT 1'),
  );
  if (!row) throw new CliError('the database has no users to sign an admin token for: pass --token');
  return row.id;
}

/**
 * The id of the demo user of the embedded gateway at `url`, from the token on its GraphiQL
 * page, verified with this DATA_DIR's development key (see the module comment).
 */
async function demoUserOfGateway(args: { config: Config; secret: string; url: string }): Promise<string> {
  const { config, secret, url } = args;
  const page = await fetchGraphiqlPage(url);
  const token = page?.match(/"authorization":"Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)"/i)?.[1];
  if (!token) {
    throw new CliError(
      `cannot look users up in embedded mode: their Postgres (PGlite) belongs to the running process, and its gateway at ${url} ` +
        'shows no demo token to ask it with (GRAPHIQL is off, or there is no user "demo"). ' +
        'Pass a numeric user id instead, pass --token, or set DATABASE_URL',
    );
  }
  const authenticator = createAuthenticator({
    key: { kind: 'secret', secret },
    issuer: config.auth.issuer,
    audience: config.auth.audience,
  });
  const viewer = await authenticator.authenticate(`Bearer ${token}`).catch(() => undefined);
  if (viewer?.kind !== 'user') {
    throw new CliError(
      `the gateway at ${url} does not use the development key of DATA_DIR=${config.dataDir}: ` +
        'point --url at the gateway started with this DATA_DIR, or set DATA_DIR to its directory',
    );
  }
  return viewer.userId;
}

/** Runs `fn` on a one-connection pool to DATABASE_URL (no migrations, no other tier). */
async function withPostgres<T>(config: Config, fn: (db: Queryable) => Promise<T>): Promise<T> {
  const db = createServerPostgres({
    url: config.postgres.url!,
    poolMax: 1,
    statementTimeoutMs: config.postgres.statementTimeoutMs,
    observer: noopObserver,
    logger: createLogger({ level: 'silent', namespace: 'cli' }),
  });
  try {
    return await fn(db);
  } catch (error) {
    throw new CliError(`Postgres at ${scrub(config.postgres.url!)}: ${messageOf(error)}`, { cause: error });
  } finally {
    await db.close();
  }
}
