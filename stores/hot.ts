/**
 * The hot-data tier (Redis): latest prices, portfolio hashes, recent transactions, and
 * the response cache. One interface, two implementations: ioredis on a server, or an
 * in-process LRU with TTL when no REDIS_URL is configured. Keys are namespaced by
 * `keyPrefix` in both so several deployments (or test suites) can share one Redis.
 */
import { Redis } from 'ioredis';
import { tierUnavailable } from '../lib/errors.ts';
import type { StatementObserver } from './observer.ts';

export interface HotEntry {
  readonly key: string;
  readonly value: string;
  /** Expiry in milliseconds; absent means no expiry. */
  readonly ttlMs?: number;
}

export interface HotStore {
  readonly kind: 'server' | 'embedded';
  /** One round trip for many keys; `null` where a key is absent. */
  mget(keys: readonly string[]): Promise<Array<string | null>>;
  /** Writes many keys in one round trip. */
  mset(entries: readonly HotEntry[]): Promise<void>;
  del(keys: readonly string[]): Promise<number>;
  hset(key: string, fields: Readonly<Record<string, string>>): Promise<void>;
  hdel(key: string, fields: readonly string[]): Promise<void>;
  hgetall(key: string): Promise<Record<string, string>>;
  /** Prepends values and keeps only the newest `maxLength` (a capped recent list). */
  pushCapped(key: string, values: readonly string[], maxLength: number): Promise<void>;
  range(key: string, count: number): Promise<string[]>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** ioredis on a Redis server. */
export function createServerHotStore(options: { url: string; keyPrefix: string; observer: StatementObserver }): HotStore {
  const redis = new Redis(options.url, {
    keyPrefix: options.keyPrefix,
    // Fail fast instead of queueing forever when Redis is down: callers degrade (issue 5).
    maxRetriesPerRequest: 1,
    enableOfflineQueue: true,
    lazyConnect: false,
  });
  // ioredis reconnects by itself; an 'error' without a listener would crash the process.
  redis.on('error', () => {});
  const run = async <T>(statement: string, fn: () => Promise<T>): Promise<T> => {
    options.observer('redis', statement);
    try {
      return await fn();
    } catch (error) {
      throw tierUnavailable('redis', error);
    }
  };
  return {
    kind: 'server',
    mget: (keys) => (keys.length === 0 ? Promise.resolve([]) : run('MGET', () => redis.mget(...keys))),
    async mset(entries) {
      if (entries.length === 0) return;
      await run('MSET', async () => {
        const pipeline = redis.pipeline();
        for (const e of entries) {
          if (e.ttlMs === undefined) pipeline.set(e.key, e.value);
          else pipeline.set(e.key, e.value, 'PX', e.ttlMs);
        }
        const results = await pipeline.exec();
        const failed = results?.find(([error]) => error);
        if (failed) throw failed[0];
      });
    },
    del: (keys) => (keys.length === 0 ? Promise.resolve(0) : run('DEL', () => redis.del(...keys))),
    async hset(key, fields) {
      if (Object.keys(fields).length === 0) return;
      await run('HSET', () => redis.hset(key, fields));
    },
    async hdel(key, fields) {
      if (fields.length === 0) return;
      await run('HDEL', () => redis.hdel(key, ...fields));
    },
    hgetall: (key) => run('HGETALL', () => redis.hgetall(key)),
    async pushCapped(key, values, maxLength) {
      if (values.length === 0) return;
      await run('LPUSH+LTRIM', () => redis.multi().lpush(key, ...values).ltrim(key, 0, maxLength - 1).exec());
    },
    range: (key, count) => run('LRANGE', () => redis.lrange(key, 0, count - 1)),
    ping: async () => {
      try {
        return (await redis.ping()) === 'PONG';
      } catch {
        return false;
      }
    },
    close: async () => {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

type Value = string | Map<string, string> | string[];

/**
 * In-process stand-in: a Map in insertion order used as an LRU (a read moves the key to
 * the end; the oldest key is evicted past `maxEntries`), with lazy TTL expiry.
 */
export function createEmbeddedHotStore(options: { maxEntries?: number; observer: StatementObserver }): HotStore {
  const maxEntries = options.maxEntries ?? 100_000;
  const data = new Map<string, { value: Value; expiresAt: number }>();
  const get = (key: string) => {
    const entry = data.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      data.delete(key);
      return undefined;
    }
    data.delete(key);
    data.set(key, entry);
    return entry.value;
  };
  const put = (key: string, value: Value, ttlMs?: number) => {
    data.delete(key);
    data.set(key, { value, expiresAt: ttlMs === undefined ? Infinity : Date.now() + ttlMs });
    if (data.size > maxEntries) data.delete(data.keys().next().value as string);
  };
  const hash = (key: string) => {
    const value = get(key);
    if (value instanceof Map) return value;
    const created = new Map<string, string>();
    put(key, created);
    return created;
  };
  const list = (key: string) => {
    const value = get(key);
    if (Array.isArray(value)) return value;
    const created: string[] = [];
    put(key, created);
    return created;
  };
  const observe = (statement: string) => options.observer('redis', statement);
  return {
    kind: 'embedded',
    async mget(keys) {
      if (keys.length > 0) observe('MGET');
      return keys.map((key) => {
        const value = get(key);
        return typeof value === 'string' ? value : null;
      });
    },
    async mset(entries) {
      if (entries.length > 0) observe('MSET');
      for (const e of entries) put(e.key, e.value, e.ttlMs);
    },
    async del(keys) {
      if (keys.length > 0) observe('DEL');
      let removed = 0;
      for (const key of keys) if (get(key) !== undefined && data.delete(key)) removed++;
      return removed;
    },
    async hset(key, fields) {
      observe('HSET');
      const h = hash(key);
      for (const [field, value] of Object.entries(fields)) h.set(field, value);
    },
    async hdel(key, fields) {
      observe('HDEL');
      const h = hash(key);
      for (const field of fields) h.delete(field);
    },
    async hgetall(key) {
      observe('HGETALL');
      const value = get(key);
      return value instanceof Map ? Object.fromEntries(value) : {};
    },
    async pushCapped(key, values, maxLength) {
      observe('LPUSH+LTRIM');
      const l = list(key);
      l.unshift(...[...values].reverse());
      l.length = Math.min(l.length, maxLength);
    },
    async range(key, count) {
      observe('LRANGE');
      const value = get(key);
      return Array.isArray(value) ? value.slice(0, count) : [];
    },
    ping: async () => true,
    close: async () => data.clear(),
  };
}
