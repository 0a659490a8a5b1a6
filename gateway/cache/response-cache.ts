/**
 * The GraphQL response cache, at the HTTP edge before Apollo: a hit is one Redis GET and a
 * write of stored bytes, with no parsing, validation or execution.
 *
 * - Key: the operation text, operation name and variables, plus the viewer for PRIVATE
 *   responses (a portfolio is cached per viewer and never served to another).
 * - Policy: from the schema's @cacheControl hints (policy.ts): the shortest max-age the
 *   operation touches; 0 means not cached. A client may ask for fresher data (`cacheTTL` in
 *   the request's extensions) or none (`cache: false`, or a `cache-control: no-cache` header).
 * - Tags: the entities the execution loaded (`Holdings:42`, `Price:ETH`, recorded by the
 *   loaders); a change of any of them evicts the response, by event or by a mutation.
 * - Races: a response computed while one of its entities changed must not be stored after the
 *   eviction, or it would be served stale until it expires. Every eviction advances a clock and
 *   stamps its tags; a response whose tags were stamped after it started is not stored. Stores
 *   and evictions share one Redis connection, so an eviction sent after a store removes it.
 * - Stampedes: identical concurrent misses share one execution (per instance). An eviction
 *   lets the next request start afresh instead of joining an execution that may be stale.
 * - Redis down or slow: a failure opens a breaker for a second; meanwhile every request is
 *   answered uncached. An eviction that could not be sent makes every entry stored before it
 *   unreadable, so nothing stale is served when Redis comes back.
 */
import { createHash } from 'node:crypto';
import type { DocumentNode } from 'graphql';
import type { Logger } from '../../lib/logger.ts';
import type { CacheHandle } from '../../resolvers/context.ts';
import type { CacheStats } from '../../schema/generated/resolvers-types.ts';
import { SWEEP_BATCH, type CacheEntry, type CacheStore } from '../../stores/cache.ts';
import type { PolicyReader } from './policy.ts';
import type { ConsistencyResult } from './consistency.ts';

type EvictionReason = 'event' | 'mutation' | 'expired' | 'purge';

/** What the cache keys an answer on. */
export interface CacheRequest {
  readonly query: string;
  /** The pipeline's parse of `query` and its hash, when it has one (then neither is redone). */
  readonly prepared?: { readonly key: string; readonly document: DocumentNode };
  readonly operationName?: string | null;
  readonly variables?: Record<string, unknown> | null;
  readonly extensions?: Record<string, unknown> | null;
  /** Who is asking; PRIVATE responses are keyed by it. */
  readonly viewer: string;
  /** Skip the cache entirely (debugging). */
  readonly bypass: boolean;
  /** Read through and do not store (a consistency token was sent). */
  readonly fresh: boolean;
}

/** How the cache treats one request. */
export interface CachePlan {
  /** The entry's key; undefined when this request neither reads nor stores (a bypass, a consistency token). */
  readonly id: string | undefined;
  readonly maxAgeMs: number;
  readonly scope: 'PUBLIC' | 'PRIVATE';
}

/** What the execution of one request reports to the cache; resolvers see it as a CacheHandle. */
export interface RequestTracker extends CacheHandle {
  /** Whether the response may be stored: only then do the entities it reads need recording. */
  readonly storing: boolean;
  readonly tags: ReadonlySet<string>;
  readonly startedAt: number;
  /** Set by the Apollo plugin when the response has errors: never cached. */
  errors: boolean;
  /** The change sequence this request's writes produced, if any. */
  readonly sequence: string | undefined;
  /** The outcome of waiting for the request's consistency token, if it sent one. */
  consistency: (ConsistencyResult & { token: string }) | undefined;
}

/** An executed answer, as the cache stores and sends it. */
export interface ExecutionResult {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** A failure keeps the cache out of the request path this long. */
const BREAKER_MS = 1_000;
/** Tags whose last eviction is remembered for the race check. */
const EVICTION_LOG = 100_000;
const SWEEP_MS = 30_000;

/** JSON with object keys sorted: the same variables in another order are the same request. */
function stableJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${stableJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
}

/** Creates the response cache over a store (see the file comment for its guarantees). */
export function createResponseCache(options: {
  store: CacheStore;
  policies: PolicyReader;
  enabled: boolean;
  maxEntryBytes: number;
  logger: Logger;
}) {
  const { store, policies } = options;
  const logger = options.logger.child('cache');
  const counters = { hits: 0, misses: 0, bypassed: 0, stores: 0, coalesced: 0, raced: 0, errors: 0 };
  const evictions: Record<EvictionReason, number> = { event: 0, mutation: 0, expired: 0, purge: 0 };
  const inflight = new Map<string, Promise<ExecutionResult>>();
  const lastEvicted = new Map<string, number>();
  let clock = 0;
  /** Trackers that started before this clock cannot be checked (their tags' stamps were dropped). */
  let forgottenUpTo = 0;
  let downUntil = 0;
  /** Entries stored before this instant may have missed an eviction: not served. */
  let unreadableBefore = 0;
  let sweeper: NodeJS.Timeout | undefined;
  const pendingEvictions = new Map<EvictionReason, Set<string>>();
  let flushing: Promise<void> | undefined;

  const available = () => Date.now() >= downUntil;
  const failed = (what: string, error: unknown) => {
    counters.errors++;
    if (available()) logger.warn('response cache unavailable; answering uncached', { what, error });
    downUntil = Date.now() + BREAKER_MS;
  };

  function tracker(storing = false): RequestTracker {
    const tags = new Set<string>();
    let sequence: string | undefined;
    return {
      storing,
      tags,
      startedAt: clock,
      errors: false,
      consistency: undefined,
      get sequence() {
        return sequence;
      },
      tag: (t) => void tags.add(t),
      invalidate: (t) => evict(t, 'mutation'),
      stats,
      purge,
      wrote(s) {
        if (sequence === undefined || BigInt(s) > BigInt(sequence)) sequence = s;
      },
    };
  }

  /**
   * Evicts the responses tagged with any of `tags`. The race stamps are taken at once; the
   * Redis work is sent once per turn of the event loop for all the evictions of that turn (a
   * batch of 500 change events is one script, not 500), and the promise settles when it is done.
   */
  function evict(tags: readonly string[], reason: EvictionReason): Promise<void> {
    if (tags.length === 0 || !options.enabled) return Promise.resolve();
    stamp(tags);
    let set = pendingEvictions.get(reason);
    if (!set) pendingEvictions.set(reason, (set = new Set()));
    for (const tag of tags) set.add(tag);
    flushing ??= Promise.resolve().then(flushEvictions);
    return flushing;
  }

  /** Marks `tags` as changed now: answers computed from them before this instant are not stored. */
  function stamp(tags: readonly string[]): void {
    clock++;
    for (const tag of tags) {
      lastEvicted.delete(tag);
      lastEvicted.set(tag, clock);
    }
    while (lastEvicted.size > EVICTION_LOG) {
      const [oldest, at] = lastEvicted.entries().next().value as [string, number];
      lastEvicted.delete(oldest);
      forgottenUpTo = at;
    }
    inflight.clear();
  }

  async function flushEvictions(): Promise<void> {
    const batches = [...pendingEvictions];
    pendingEvictions.clear();
    flushing = undefined;
    await Promise.all(
      batches.map(async ([reason, tags]) => {
        if (!available()) {
          unreadableBefore = Date.now();
          return;
        }
        try {
          evictions[reason] += await store.evict([...tags]);
        } catch (error) {
          unreadableBefore = Date.now();
          failed('evict', error);
        }
      }),
    );
  }

  /**
   * Admin: evicts by tags now (not batched, to report the count), or empties the whole cache.
   * Unlike event evictions, a failure here is the admin's to see: it throws TIER_UNAVAILABLE.
   */
  async function purge(tags?: readonly string[]): Promise<number> {
    if (tags && tags.length > 0) {
      stamp(tags);
      const removed = await store.evict(tags);
      evictions.purge += removed;
      return removed;
    }
    unreadableBefore = Date.now();
    inflight.clear();
    const removed = await store.clear();
    evictions.purge += removed;
    return removed;
  }

  /** Whether any entity the request read was evicted after it started. */
  function raced(t: RequestTracker): boolean {
    if (t.startedAt < forgottenUpTo) return true;
    for (const tag of t.tags) if ((lastEvicted.get(tag) ?? 0) > t.startedAt) return true;
    return false;
  }

  async function put(id: string, maxAgeMs: number, t: RequestTracker, body: string): Promise<void> {
    if (t.errors || !available() || Buffer.byteLength(body) > options.maxEntryBytes) return;
    if (raced(t)) {
      counters.raced++;
      return;
    }
    try {
      await store.set(id, { body, storedAt: Date.now(), maxAgeMs }, [...t.tags]);
      counters.stores++;
    } catch (error) {
      failed('store', error);
    }
  }

  async function stats(): Promise<CacheStats> {
    let usage = { entries: 0, bytes: 0, expired: 0 };
    try {
      if (available()) usage = await store.usage();
    } catch (error) {
      failed('stats', error);
    }
    evictions.expired += usage.expired;
    const lookups = counters.hits + counters.misses;
    return {
      entries: usage.entries,
      totalBytes: usage.bytes,
      averageEntryBytes: usage.entries === 0 ? 0 : Math.round(usage.bytes / usage.entries),
      ...counters,
      hitRate: lookups === 0 ? 0 : counters.hits / lookups,
      evictions: { ...evictions },
      available: available(),
    };
  }

  return {
    /** How the cache treats this request; undefined when it is not cacheable at all. */
    plan(request: CacheRequest): CachePlan | undefined {
      if (!options.enabled) return undefined;
      const policy = policies.forQuery(request.query, request.operationName, request.prepared);
      if (!policy || policy.maxAgeMs === 0) return undefined;
      const ext = request.extensions;
      const requestedTtl =
        typeof ext?.['cacheTTL'] === 'number' && ext['cacheTTL'] >= 0 ? ext['cacheTTL'] * 1000 : Infinity;
      const maxAgeMs = Math.min(policy.maxAgeMs, requestedTtl);
      const bypass = request.bypass || ext?.['cache'] === false || maxAgeMs <= 0;
      if (bypass) counters.bypassed++;
      if (bypass || request.fresh) return { id: undefined, maxAgeMs, scope: policy.scope };
      // The document's hash stands for its text when the pipeline computed it (a shorter input).
      const text = request.prepared ? `#${request.prepared.key}` : request.query;
      const material = `${policy.scope === 'PRIVATE' ? request.viewer : ''}\u0000${request.operationName ?? ''}\u0000${text}\u0000${stableJson(request.variables ?? {})}`;
      return { id: createHash('sha256').update(material).digest('base64url'), maxAgeMs, scope: policy.scope };
    },

    /** The stored response, if one is fresh enough for this plan. */
    async lookup(plan: CachePlan): Promise<CacheEntry | undefined> {
      if (plan.id === undefined || !available()) return undefined;
      let entry: CacheEntry | null;
      try {
        entry = await store.get(plan.id);
      } catch (error) {
        failed('lookup', error);
        return undefined;
      }
      const now = Date.now();
      if (entry && entry.storedAt >= unreadableBefore && now - entry.storedAt < plan.maxAgeMs) {
        counters.hits++;
        return entry;
      }
      counters.misses++;
      return undefined;
    },

    /**
     * Runs a miss: identical concurrent misses share one execution; the result is stored when
     * it succeeded without errors and nothing it read changed meanwhile.
     */
    fill(plan: CachePlan, execute: (t: RequestTracker) => Promise<ExecutionResult>): Promise<ExecutionResult> {
      const { id } = plan;
      if (id === undefined) return execute(tracker());
      const running = inflight.get(id);
      if (running) {
        counters.coalesced++;
        return running;
      }
      const t = tracker(true);
      const run: Promise<ExecutionResult> = execute(t)
        .then(async (result) => {
          if (result.status === 200) await put(id, plan.maxAgeMs, t, result.body);
          return result;
        })
        .finally(() => {
          if (inflight.get(id) === run) inflight.delete(id);
        });
      inflight.set(id, run);
      return run;
    },

    /** A tracker for a request the cache does not store (mutations, uncacheable queries). */
    tracker: () => tracker(),

    evict,

    stats,

    start(): void {
      if (!options.enabled) return;
      // Events that came while no instance of this gateway ran were never evicted by it: what was
      // stored before it started is recomputed once (and stored again) rather than trusted.
      unreadableBefore = Date.now();
      // Expired entries leave Redis by themselves; their bookkeeping is swept here.
      sweeper = setInterval(async () => {
        try {
          // A sweep handles a bounded number of entries: go on while it finds a full batch.
          for (let i = 0; i < 100; i++) {
            const { expired } = await store.usage();
            evictions.expired += expired;
            if (expired < SWEEP_BATCH) break;
          }
        } catch {
          // Redis unavailable: the next sweep catches up.
        }
      }, SWEEP_MS);
      sweeper.unref();
    },
    stop(): void {
      clearInterval(sweeper);
    },
  };
}

/** The response cache's interface. */
export type ResponseCache = ReturnType<typeof createResponseCache>;
