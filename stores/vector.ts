/**
 * The vector tier (Qdrant): asset embeddings and nearest-neighbour search.
 * Production: `@qdrant/js-client-rest`. Embedded: an exact cosine index in this process.
 *
 * No Qdrant server can run on the development machines, so the Qdrant implementation is
 * exercised only where QDRANT_URL points at one; tests run the embedded index (a stand-in,
 * named as such in the README), which implements the same contract exactly.
 */
import { createHash } from 'node:crypto';
import { badInput, tierUnavailable } from '../lib/errors.ts';
import { statementRunner, type StatementObserver } from './observer.ts';

/** An asset's embedding. */
export interface VectorPoint {
  readonly id: string;
  readonly vector: readonly number[];
}

/** A query by vector, or by the id of a stored point (which is then left out of its own answer). */
export type VectorQuery =
  { readonly vector: readonly number[]; readonly limit: number } | { readonly id: string; readonly limit: number };

/** One neighbour found. */
export interface VectorMatch {
  readonly id: string;
  /** Cosine similarity, 1 = same direction. */
  readonly score: number;
}

/** The vector tier. */
export interface VectorIndex {
  readonly kind: 'server' | 'embedded';
  readonly dimensions: number;
  upsert(points: readonly VectorPoint[]): Promise<void>;
  /** Removes points by id; unknown ids are ignored. */
  remove(ids: readonly string[]): Promise<void>;
  /**
   * The stored vectors of these ids, normalized to unit length (absent ids are left out): for
   * validation. Cosine indexes (Qdrant's included) store the direction, not the given length.
   */
  fetch(ids: readonly string[]): Promise<Map<string, number[]>>;
  /** Every stored id (validation finds points with no source row). */
  ids(): Promise<string[]>;
  /** Resolves when the index answers now (readiness). */
  ping(): Promise<void>;
  /** Many searches in one call (one request to Qdrant); an unknown id gives an empty list. */
  searchBatch(queries: readonly VectorQuery[]): Promise<VectorMatch[][]>;
  count(): Promise<number>;
  close(): Promise<void>;
}

/** Rejects a vector of the wrong length or with non-finite components (INVALID_ARGUMENT). */
export function assertVector(vector: readonly number[], dimensions: number, field = 'embedding'): void {
  if (vector.length !== dimensions) {
    throw badInput('INVALID_ARGUMENT', `${field} must have ${dimensions} components, got ${vector.length}`, {
      field,
      expected: dimensions,
    });
  }
  if (!vector.every(Number.isFinite))
    throw badInput('INVALID_ARGUMENT', `${field} must contain only finite numbers`, { field });
  if (vector.every((x) => x === 0))
    throw badInput('INVALID_ARGUMENT', `${field} must not be the zero vector`, { field });
}

/** The vector scaled to unit length (cosine similarity is then a dot product). */
export function normalize(vector: readonly number[]): Float64Array {
  let norm = 0;
  for (const x of vector) norm += x * x;
  norm = Math.sqrt(norm) || 1;
  return Float64Array.from(vector, (x) => x / norm);
}

/** Exact cosine search over every stored point: fine for thousands of assets. */
export function createEmbeddedVectorIndex(options: { dimensions: number; observer: StatementObserver }): VectorIndex {
  const points = new Map<string, Float64Array>();
  // Answers by stored id depend only on the stored points: memoized until the next upsert.
  const byIdCache = new Map<string, VectorMatch[]>();
  const search = (query: Float64Array, limit: number, exclude?: string): VectorMatch[] => {
    const matches: VectorMatch[] = [];
    for (const [id, v] of points) {
      if (id === exclude) continue;
      let dot = 0;
      for (let i = 0; i < v.length; i++) dot += v[i]! * query[i]!;
      matches.push({ id, score: dot });
    }
    // Ties broken by id so answers are deterministic.
    matches.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
    return matches.slice(0, limit);
  };
  return {
    kind: 'embedded',
    dimensions: options.dimensions,
    async upsert(list) {
      options.observer('vector', 'upsert');
      for (const p of list) assertVector(p.vector, options.dimensions, `vector of ${p.id}`);
      for (const p of list) points.set(p.id, normalize(p.vector));
      byIdCache.clear();
    },
    async remove(ids) {
      options.observer('vector', 'delete');
      for (const id of ids) points.delete(id);
      byIdCache.clear();
    },
    async fetch(ids) {
      options.observer('vector', 'retrieve');
      const out = new Map<string, number[]>();
      for (const id of ids) {
        const v = points.get(id);
        if (v) out.set(id, [...v]);
      }
      return out;
    },
    ids: async () => [...points.keys()],
    ping: async () => {},
    async searchBatch(queries) {
      options.observer('vector', 'searchBatch');
      return queries.map((q) => {
        if ('id' in q) {
          const key = `${q.id}|${q.limit}`;
          let matches = byIdCache.get(key);
          if (!matches) {
            const stored = points.get(q.id);
            matches = stored ? search(stored, q.limit, q.id) : [];
            byIdCache.set(key, matches);
          }
          return matches;
        }
        return search(normalize(q.vector), q.limit);
      });
    },
    count: async () => points.size,
    close: async () => {
      points.clear();
      byIdCache.clear();
    },
  };
}

/** Qdrant point ids must be integers or UUIDs: derive a stable UUID from our string id. */
function pointId(id: string): string {
  const h = createHash('sha1').update(`asset:${id}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Qdrant over REST; the collection is created (cosine) when missing. */
export async function createQdrantVectorIndex(options: {
  url: string;
  collection: string;
  dimensions: number;
  observer: StatementObserver;
}): Promise<VectorIndex> {
  const { QdrantClient } = await import('@qdrant/js-client-rest');
  const client = new QdrantClient({ url: options.url });
  const { collection } = options;
  const call = statementRunner(options.observer, 'vector', 'vector');
  const exists = await call('collectionExists', () => client.collectionExists(collection));
  if (!exists.exists) {
    await call('createCollection', () =>
      client.createCollection(collection, { vectors: { size: options.dimensions, distance: 'Cosine' } }),
    );
  }
  const toMatches = (points: Array<{ payload?: Record<string, unknown> | null; score: number }>): VectorMatch[] =>
    points.map((p) => ({ id: String(p.payload?.['assetId']), score: p.score }));
  return {
    kind: 'server',
    dimensions: options.dimensions,
    async upsert(list) {
      for (const p of list) assertVector(p.vector, options.dimensions, `vector of ${p.id}`);
      await call('upsert', () =>
        client.upsert(collection, {
          wait: true,
          points: list.map((p) => ({ id: pointId(p.id), vector: [...p.vector], payload: { assetId: p.id } })),
        }),
      );
    },
    async remove(ids) {
      if (ids.length === 0) return;
      await call('delete', () => client.delete(collection, { wait: true, points: ids.map(pointId) }));
    },
    async fetch(ids) {
      if (ids.length === 0) return new Map();
      const points = await call('retrieve', () =>
        client.retrieve(collection, { ids: ids.map(pointId), with_payload: true, with_vector: true }),
      );
      const out = new Map<string, number[]>();
      for (const p of points) {
        const id = String(p.payload?.['assetId']);
        if (Array.isArray(p.vector)) out.set(id, p.vector as number[]);
      }
      return out;
    },
    async ids() {
      const out: string[] = [];
      let offset: string | number | undefined | null = undefined;
      do {
        const page: Awaited<ReturnType<typeof client.scroll>> = await call('scroll', () =>
          client.scroll(collection, {
            limit: 1_000,
            offset: offset ?? undefined,
            with_payload: true,
            with_vector: false,
          }),
        );
        for (const p of page.points) out.push(String(p.payload?.['assetId']));
        offset = page.next_page_offset as string | number | null | undefined;
      } while (offset !== null && offset !== undefined);
      return out;
    },
    ping: async () => {
      await call('collectionExists', () => client.collectionExists(collection));
    },
    async searchBatch(queries) {
      if (queries.length === 0) return [];
      const result = await call('queryBatch', () =>
        client.queryBatch(collection, {
          searches: queries.map((q) =>
            'id' in q
              ? // Querying by a point id uses its stored vector; Qdrant leaves that point out.
                { query: pointId(q.id), limit: q.limit, with_payload: true }
              : { query: [...q.vector], limit: q.limit, with_payload: true },
          ),
        }),
      );
      return result.map((r) => toMatches(r.points));
    },
    count: async () => (await call('count', () => client.count(collection, { exact: true }))).count,
    close: async () => {},
  };
}
