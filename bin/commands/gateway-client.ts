/**
 * The CLI's GraphQL client: POSTs one operation to the gateway and returns `data`, or throws a
 * GatewayError saying what went wrong (unreachable, an HTTP failure, the GraphQL errors with
 * their codes). Remote commands go through the gateway rather than opening the tiers, so they
 * work beside a running `npm start`, whose embedded tiers (PGlite, chDB) only it may open.
 */
import { CliError, usageError } from './cli-error.ts';

/** Where the gateway listens when neither `--url` nor GATEWAY_URL says otherwise (`npm start`'s address). */
export const DEFAULT_GATEWAY_URL = 'http://127.0.0.1:4000/graphql';

/** Why a request failed: no answer, a non-GraphQL HTTP answer, or GraphQL errors (with their codes). */
export class GatewayError extends CliError {
  readonly kind: 'unreachable' | 'http' | 'graphql';
  /** The `extensions.code` of each GraphQL error. */
  readonly codes: readonly string[];

  constructor(args: { kind: GatewayError['kind']; message: string; codes?: readonly string[]; cause?: unknown }) {
    super(args.message, { cause: args.cause });
    this.name = 'GatewayError';
    this.kind = args.kind;
    this.codes = args.codes ?? [];
  }
}

/** A client of one gateway, with one credential (or none). */
export interface GatewayClient {
  readonly url: string;
  /** Sends an operation; resolves to its `data`. */
  request<T = Record<string, any>>(query: string, variables?: Record<string, unknown>): Promise<T>;
}

interface GraphQLBody {
  data?: unknown;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

/** A client of the gateway at `url`, sending `token` as a bearer token when given. */
export function createGatewayClient(options: {
  url: string;
  token?: string;
  timeoutMs?: number;
  /** Appended to an UNAUTHENTICATED or FORBIDDEN refusal: where a better credential comes from. */
  authHint?: string;
}): GatewayClient {
  const url = checkUrl(options.url);
  const timeoutMs = options.timeoutMs ?? 60_000;
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/json',
    ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
  };
  return {
    url,
    async request<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
      let res: Response;
      try {
        res = await fetch(url, {
          method: 'POST',
          headers,
          body: JSON.stringify({ query, variables }),
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (error) {
        const reason = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
        throw new GatewayError({
          kind: 'unreachable',
          message: `cannot reach the gateway at ${url} (${reason}); start it (npx yieldsensei start) or pass --url / GATEWAY_URL`,
          cause: error,
        });
      }
      const text = await res.text();
      let body: GraphQLBody | undefined;
      try {
        body = JSON.parse(text) as GraphQLBody;
      } catch {
        body = undefined;
      }
      if (!body || typeof body !== 'object') {
        throw new GatewayError({
          kind: 'http',
          message: `${url} answered HTTP ${res.status} without a GraphQL response: is it the gateway's GraphQL endpoint?`,
        });
      }
      if (body.errors?.length) {
        const codes = body.errors.map((e) => e.extensions?.code ?? 'ERROR');
        const detail = body.errors.map((e, i) => `${codes[i]}: ${e.message}`).join('; ');
        const hint =
          options.authHint && codes.some((c) => c === 'UNAUTHENTICATED' || c === 'FORBIDDEN')
            ? ` (${options.authHint})`
            : '';
        throw new GatewayError({ kind: 'graphql', message: detail + hint, codes });
      }
      if (!res.ok || body.data == null) {
        throw new GatewayError({ kind: 'http', message: `${url} answered HTTP ${res.status} with no data` });
      }
      return body.data as T;
    },
  };
}

/**
 * A request whose refusal for a bad argument (INVALID_ARGUMENT, BAD_USER_INPUT: an unknown
 * table) is a usage error, exit 2, like a bad option.
 */
export async function asUsage<T>(request: Promise<T>): Promise<T> {
  try {
    return await request;
  } catch (error) {
    if (error instanceof GatewayError && error.codes.some((c) => c === 'INVALID_ARGUMENT' || c === 'BAD_USER_INPUT')) {
      throw usageError(error.message);
    }
    throw error;
  }
}

/** Fetches the GraphiQL page the gateway serves on GET (undefined when it serves none). */
export async function fetchGraphiqlPage(url: string): Promise<string | undefined> {
  let res: Response;
  try {
    res = await fetch(checkUrl(url), { headers: { accept: 'text/html' }, signal: AbortSignal.timeout(10_000) });
  } catch (error) {
    const reason = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    throw new GatewayError({
      kind: 'unreachable',
      message: `cannot reach the gateway at ${url} (${reason})`,
      cause: error,
    });
  }
  const type = res.headers.get('content-type') ?? '';
  const text = await res.text();
  return res.ok && type.startsWith('text/html') ? text : undefined;
}

function checkUrl(value: string): string {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new CliError(`--url must be an http(s) URL such as ${DEFAULT_GATEWAY_URL}, got ${JSON.stringify(value)}`, {
      exitCode: 2,
    });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new CliError(`--url must be an http(s) URL, got ${JSON.stringify(value)}`, { exitCode: 2 });
  }
  return parsed.href;
}
