/**
 * The response cache's storage, in the Redis tier: GraphQL responses by key, each tagged with
 * the entities it read (`Holdings:42`, `Price:ETH`) so a change evicts exactly the responses
 * that touched it. One interface, two implementations: Redis (shared by every gateway
 * instance) or an in-process map when no REDIS_URL is configured.
 *
 * Redis layout, under the deployment's key prefix:
 *   rc:e:{id}   the entry: "{storedAt}:{maxAgeMs}:{body}", expiring with its max-age
 *   rc:t:{tag}  set of entry ids that read the entity; lives as long as its longest entry
 *   rc:z        sorted set id -> expiry time, rc:s hash id -> size, rc:b total bytes:
 *               the bookkeeping behind `usage()` (Redis itself cannot count a key pattern cheaply)
 * Writes and evictions are Lua scripts, so an entry and its tags and counters change together.
 */
import { statementRunner, type StatementObserver } from './observer.ts';
import { closeRedis, connectRedis, type RedisOptions } from './redis.ts';

/** A stored answer. */
export interface CacheEntry {
  /** The serialized GraphQL response, exactly as first sent: bytes, written to a hit's socket as they are. */
  readonly body: Buffer;
  readonly storedAt: number;
  readonly maxAgeMs: number;
}

/** An answer to store: its body as serialized (text or bytes). */
export type NewCacheEntry = Omit<CacheEntry, 'body'> & { readonly body: string | Buffer };

/** What the cache holds. */
export interface CacheUsage {
  readonly entries: number;
  readonly bytes: number;
  /** Entries found expired and swept by this call. */
  readonly expired: number;
}

/** The response cache's storage. */
export interface CacheStore {
  readonly kind: 'server' | 'embedded';
  get(id: string): Promise<CacheEntry | null>;
  set(id: string, entry: NewCacheEntry, tags: readonly string[]): Promise<void>;
  /** Removes every entry tagged with any of `tags`; returns how many entries it removed. */
  evict(tags: readonly string[]): Promise<number>;
  /** Sweeps expired entries' bookkeeping, then counts what is stored. */
  usage(): Promise<CacheUsage>;
  /** Removes every entry and its bookkeeping; returns how many entries it removed. */
  clear(): Promise<number>;
  /** A persisted query's text by its sha256 (automatic persisted queries), or null. */
  getPersisted(hash: string): Promise<string | null>;
  /** Remembers a persisted query's text for `ttlMs`. */
  putPersisted(hash: string, query: string, ttlMs: number): Promise<void>;
  /** Whether the store answers now (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

const encode = (e: NewCacheEntry) =>
  typeof e.body === 'string'
    ? `${e.storedAt}:${e.maxAgeMs}:${e.body}`
    : Buffer.concat([Buffer.from(`${e.storedAt}:${e.maxAgeMs}:`), e.body]);

/** Reads an entry's bytes without copying its body (a hit writes it to the socket as it is). */
function decode(value: Buffer): CacheEntry {
  const COLON = 0x3a;
  const a = value.indexOf(COLON);
  const b = value.indexOf(COLON, a + 1);
  return {
    storedAt: Number(value.toString('latin1', 0, a)),
    maxAgeMs: Number(value.toString('latin1', a + 1, b)),
    body: value.subarray(b + 1),
  };
}

const SET_SCRIPT = `
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[2])
local old = redis.call('HGET', KEYS[3], ARGV[2])
if old then redis.call('DECRBY', KEYS[4], old) end
redis.call('HSET', KEYS[3], ARGV[2], ARGV[6])
redis.call('INCRBY', KEYS[4], ARGV[6])
local ttl = tonumber(ARGV[4])
for i = 7, #ARGV do
  local t = ARGV[1] .. 'rc:t:' .. ARGV[i]
  redis.call('SADD', t, ARGV[2])
  if redis.call('PTTL', t) < ttl then redis.call('PEXPIRE', t, ttl) end
end`;

/** Lua shared by the scripts below, whose KEYS are the bookkeeping: rc:z, rc:s, rc:b. */
const FORGET = `
local function forget(id)
  redis.call('ZREM', KEYS[1], id)
  local size = redis.call('HGET', KEYS[2], id)
  if size then
    redis.call('DECRBY', KEYS[3], size)
    redis.call('HDEL', KEYS[2], id)
  end
end`;

const EVICT_SCRIPT = `${FORGET}
local removed = 0
for i = 2, #ARGV do
  local t = ARGV[1] .. 'rc:t:' .. ARGV[i]
  local ids = redis.call('SMEMBERS', t)
  redis.call('DEL', t)
  for _, id in ipairs(ids) do
    removed = removed + redis.call('DEL', ARGV[1] .. 'rc:e:' .. id)
    forget(id)
  end
end
return removed`;

const SWEEP_SCRIPT = `${FORGET}
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, id in ipairs(ids) do forget(id) end
return {#ids, redis.call('ZCARD', KEYS[1]), tonumber(redis.call('GET', KEYS[3]) or '0')}`;

/** Expired entries' bookkeeping swept per `usage()` call, so one call stays short. */
export const SWEEP_BATCH = 10_000;

/** On its own connection: cache reads must not queue behind the sync worker's pipelines. */
export async function createServerCacheStore(
  options: RedisOptions & { observer: StatementObserver },
): Promise<CacheStore> {
  const { keyPrefix } = options;
  const redis = await connectRedis({ ...options, autoPipelining: true });
  const run = statementRunner(options.observer, 'cache', 'redis');
  const books = ['rc:z', 'rc:s', 'rc:b'];
  return {
    kind: 'server',
    async get(id) {
      const value = await run('GET', () => redis.getBuffer(`rc:e:${id}`));
      return value === null ? null : decode(value);
    },
    async set(id, entry, tags) {
      const value = encode(entry);
      await run('EVAL', () =>
        redis.eval(
          SET_SCRIPT,
          4,
          `rc:e:${id}`,
          ...books,
          keyPrefix,
          id,
          value,
          entry.maxAgeMs,
          entry.storedAt + entry.maxAgeMs,
          Buffer.byteLength(value),
          ...tags,
        ),
      );
    },
    async evict(tags) {
      if (tags.length === 0) return 0;
      return Number(await run('EVAL', () => redis.eval(EVICT_SCRIPT, 3, ...books, keyPrefix, ...tags)));
    },
    async usage() {
      const [expired, entries, bytes] = (await run('EVAL', () =>
        redis.eval(SWEEP_SCRIPT, 3, ...books, Date.now(), SWEEP_BATCH),
      )) as number[];
      return { entries: entries!, bytes: bytes!, expired: expired! };
    },
    async clear() {
      // SCAN returns full key names; ioredis prefixes DEL's arguments itself, so strip ours.
      let cursor = '0';
      let removed = 0;
      do {
        const [next, keys] = await run('SCAN', () => redis.scan(cursor, 'MATCH', `${keyPrefix}rc:*`, 'COUNT', 1_000));
        cursor = next;
        const own = keys.map((k) => k.slice(keyPrefix.length));
        removed += own.filter((k) => k.startsWith('rc:e:')).length;
        if (own.length > 0) await run('UNLINK', () => redis.unlink(...own));
      } while (cursor !== '0');
      return removed;
    },
    getPersisted: (hash) => run('GET', () => redis.get(`pq:${hash}`)),
    async putPersisted(hash, query, ttlMs) {
      await run('SET', () => redis.set(`pq:${hash}`, query, 'PX', ttlMs));
    },
    ping: async () => {
      await run('PING', () => redis.ping());
    },
    close: () => closeRedis(redis),
  };
}

/** Entries the in-process cache keeps; the least recently stored goes first. */
const EMBEDDED_MAX_ENTRIES = 10_000;

/** In-process stand-in (no REDIS_URL): the same semantics in Maps, least recently stored dropped past a bound. */
export function createEmbeddedCacheStore(options: { observer: StatementObserver }): CacheStore {
  const entries = new Map<string, { entry: CacheEntry; size: number; tags: readonly string[] }>();
  const byTag = new Map<string, Set<string>>();
  const persisted = new Map<string, { query: string; expiresAt: number }>();
  let bytes = 0;
  const remove = (id: string) => {
    const found = entries.get(id);
    if (!found) return false;
    entries.delete(id);
    bytes -= found.size;
    for (const tag of found.tags) {
      const ids = byTag.get(tag);
      ids?.delete(id);
      if (ids?.size === 0) byTag.delete(tag);
    }
    return true;
  };
  const expired = (e: CacheEntry, now: number) => e.storedAt + e.maxAgeMs <= now;
  const observe = (statement: string) => options.observer('cache', statement);
  return {
    kind: 'embedded',
    async get(id) {
      observe('GET');
      const found = entries.get(id);
      if (!found) return null;
      // Left for usage() to sweep and count, as Redis leaves its bookkeeping.
      return expired(found.entry, Date.now()) ? null : found.entry;
    },
    async set(id, entry, tags) {
      observe('EVAL');
      remove(id);
      const body = typeof entry.body === 'string' ? Buffer.from(entry.body) : entry.body;
      const size = body.length + 32;
      entries.set(id, { entry: { ...entry, body }, size, tags });
      bytes += size;
      for (const tag of tags) {
        let ids = byTag.get(tag);
        if (!ids) byTag.set(tag, (ids = new Set()));
        ids.add(id);
      }
      if (entries.size > EMBEDDED_MAX_ENTRIES) remove(entries.keys().next().value as string);
    },
    async evict(tags) {
      if (tags.length === 0) return 0;
      observe('EVAL');
      let removed = 0;
      for (const tag of tags) for (const id of [...(byTag.get(tag) ?? [])]) if (remove(id)) removed++;
      return removed;
    },
    async usage() {
      observe('EVAL');
      const now = Date.now();
      let swept = 0;
      for (const [id, { entry }] of entries) if (expired(entry, now) && remove(id)) swept++;
      return { entries: entries.size, bytes, expired: swept };
    },
    async clear() {
      observe('CLEAR');
      const removed = entries.size;
      entries.clear();
      byTag.clear();
      bytes = 0;
      return removed;
    },
    async getPersisted(hash) {
      const found = persisted.get(hash);
      if (!found || found.expiresAt <= Date.now()) return null;
      return found.query;
    },
    async putPersisted(hash, query, ttlMs) {
      persisted.delete(hash);
      persisted.set(hash, { query, expiresAt: Date.now() + ttlMs });
      if (persisted.size > EMBEDDED_MAX_ENTRIES) persisted.delete(persisted.keys().next().value as string);
    },
    ping: async () => {},
    async close() {
      await this.clear();
      persisted.clear();
    },
  };
}
