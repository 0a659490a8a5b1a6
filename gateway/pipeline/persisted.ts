/**
 * Persisted operations, by the automatic persisted queries protocol (Apollo's APQ:
 * `extensions.persistedQuery = { version: 1, sha256Hash }`), in one of three modes:
 * - `apq` (default): a client may send the hash alone once the server knows it; the server
 *   learns a text the first time it comes with its hash (kept in the cache store, so every
 *   gateway instance knows it). Any valid operation runs.
 * - `allowlist`: only the operations of a manifest run (by hash, or by text whose hash is
 *   listed): the manifest is generated from the frontend's documents, e.g. GraphQL Code
 *   Generator's `persisted-documents.json` ({ "<sha256>": "<document>" }).
 * - `off`: hashes are refused; every request sends its text.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { AppError, badInput } from '../../lib/errors.ts';
import type { ErrorReporter } from '../../lib/metrics.ts';
import type { CacheStore } from '../../stores/cache.ts';
import type { GraphQLRequest } from './request.ts';

/** How persisted operations are handled. */
export type PersistedMode = 'apq' | 'allowlist' | 'off';

/** Resolves a request's query text. */
export interface PersistedQueries {
  /** The text to run; throws PERSISTED_QUERY_NOT_FOUND (APQ: send the text), PERSISTED_QUERY_NOT_ALLOWED or BAD_REQUEST. */
  resolve(request: GraphQLRequest): Promise<string>;
}

/** How long a learnt APQ text is kept. */
const APQ_TTL_MS = 24 * 3600 * 1000;
const SHA256 = /^[0-9a-f]{64}$/;

/** The sha256 of a query text, as clients compute it (hex). */
export function queryHash(query: string): string {
  return createHash('sha256').update(query).digest('hex');
}

/** Reads an allow-list manifest ({ hash: document }); every hash must match its document. */
export function loadManifest(path: string): ReadonlyMap<string, string> {
  const raw = JSON.parse(readFileSync(path, 'utf8')) as unknown;
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new AppError({
      code: 'CONFIG_INVALID',
      message: `PERSISTED_MANIFEST ${path}: expected an object of sha256 -> document`,
    });
  }
  const manifest = new Map<string, string>();
  for (const [hash, document] of Object.entries(raw)) {
    if (typeof document !== 'string' || queryHash(document) !== hash) {
      throw new AppError({
        code: 'CONFIG_INVALID',
        message: `PERSISTED_MANIFEST ${path}: entry ${hash.slice(0, 16)}… is not the sha256 of its document`,
      });
    }
    manifest.set(hash, document);
  }
  return manifest;
}

/** Creates the resolver for `mode`. */
export function createPersistedQueries(options: {
  mode: PersistedMode;
  store: CacheStore;
  manifest?: ReadonlyMap<string, string>;
  report: ErrorReporter;
}): PersistedQueries {
  const { mode, store } = options;
  const manifest = options.manifest ?? new Map<string, string>();
  const allowed = new Set(manifest.values());
  return {
    async resolve(request) {
      const ext = request.extensions?.['persistedQuery'] as { version?: unknown; sha256Hash?: unknown } | undefined;
      // graphql-ws requires `query` to be a string: a socket sends "" with a hash alone.
      const text = typeof request.query === 'string' && !(request.query === '' && ext) ? request.query : undefined;
      if (ext === undefined || ext === null) {
        if (text === undefined) throw badInput('BAD_REQUEST', 'The request has no query', { field: 'query' });
        if (mode === 'allowlist' && !allowed.has(text)) throw notAllowed();
        return text;
      }
      if (mode === 'off') {
        throw new AppError({
          code: 'PERSISTED_QUERY_NOT_FOUND',
          message: 'Persisted queries are not supported: send the query',
        });
      }
      const hash = ext.sha256Hash;
      if (ext.version !== 1 || typeof hash !== 'string' || !SHA256.test(hash)) {
        throw badInput('BAD_REQUEST', 'extensions.persistedQuery must be { version: 1, sha256Hash: <64 hex digits> }', {
          field: 'extensions.persistedQuery',
        });
      }
      if (mode === 'allowlist') {
        const listed = manifest.get(hash);
        if (listed === undefined || (text !== undefined && text !== listed)) throw notAllowed();
        return listed;
      }
      if (text !== undefined) {
        if (queryHash(text) !== hash) {
          throw badInput('BAD_REQUEST', 'extensions.persistedQuery.sha256Hash is not the sha256 of the query', {
            field: 'extensions.persistedQuery.sha256Hash',
          });
        }
        // Best effort: a store failure leaves this text unknown, and the client sends it again.
        await store.putPersisted(hash, text, APQ_TTL_MS).catch((error: unknown) => options.report('apq.store', error));
        return text;
      }
      const known = await store.getPersisted(hash).catch((error: unknown) => {
        options.report('apq.lookup', error);
        return null;
      });
      if (known === null) {
        throw new AppError({ code: 'PERSISTED_QUERY_NOT_FOUND', message: 'PersistedQueryNotFound' });
      }
      return known;
    },
  };
}

function notAllowed(): AppError {
  return new AppError({
    code: 'PERSISTED_QUERY_NOT_ALLOWED',
    message: 'Only registered operations run on this server (persisted operations allow-list)',
  });
}
