/**
 * The hot-data tier (Redis): latest prices, derived from ClickHouse ticks and kept hot for
 * every portfolio read. One interface, two implementations: ioredis on a server, or an
 * in-process LRU with TTL when no REDIS_URL is configured. Keys are namespaced by `keyPrefix`
 * in both so several deployments (or test suites) can share one Redis.
 */
import { closeRedis, connectRedis, type RedisOptions } from './redis.ts';
import { statementRunner, type StatementObserver } from './observer.ts';

/** One key to write. */
export interface HotEntry {
  readonly key: string;
  readonly value: string;
  /** Expiry in milliseconds; absent means no expiry. */
  readonly ttlMs?: number;
  /** Write only when the key is absent (SET NX): a refill must not overwrite a newer value. */
  readonly onlyIfAbsent?: boolean;
}

/** The hot-data tier. */
export interface HotStore {
  readonly kind: 'server' | 'embedded';
  /** One round trip for many keys; `null` where a key is absent. */
  mget(keys: readonly string[]): Promise<Array<string | null>>;
  /** Writes many keys in one round trip. */
  mset(entries: readonly HotEntry[]): Promise<void>;
  del(keys: readonly string[]): Promise<number>;
  /** Whether the tier answers now (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** ioredis on a Redis server (see stores/redis.ts for its failure behaviour). */
export async function createServerHotStore(options: RedisOptions & { observer: StatementObserver }): Promise<HotStore> {
  const redis = await connectRedis(options);
  const run = statementRunner(options.observer, 'redis', 'redis');
  return {
    kind: 'server',
    mget: (keys) => (keys.length === 0 ? Promise.resolve([]) : run('MGET', () => redis.mget(...keys))),
    async mset(entries) {
      if (entries.length === 0) return;
      await run('MSET', async () => {
        const pipeline = redis.pipeline();
        for (const e of entries) {
          if (e.ttlMs === undefined) {
            if (e.onlyIfAbsent) pipeline.set(e.key, e.value, 'NX');
            else pipeline.set(e.key, e.value);
          } else if (e.onlyIfAbsent) pipeline.set(e.key, e.value, 'PX', e.ttlMs, 'NX');
          else pipeline.set(e.key, e.value, 'PX', e.ttlMs);
        }
        const results = await pipeline.exec();
        const failed = results?.find(([error]) => error);
        if (failed) throw failed[0];
      });
    },
    del: (keys) => (keys.length === 0 ? Promise.resolve(0) : run('DEL', () => redis.del(...keys))),
    ping: async () => {
      await run('PING', () => redis.ping());
    },
    close: () => closeRedis(redis),
  };
}

/**
 * In-process stand-in: a Map in insertion order used as an LRU (a read moves the key to
 * the end; the oldest key is evicted past `maxEntries`), with lazy TTL expiry.
 */
export function createEmbeddedHotStore(options: { maxEntries?: number; observer: StatementObserver }): HotStore {
  const maxEntries = options.maxEntries ?? 100_000;
  const data = new Map<string, { value: string; expiresAt: number }>();
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
  const observe = (statement: string) => options.observer('redis', statement);
  return {
    kind: 'embedded',
    async mget(keys) {
      if (keys.length > 0) observe('MGET');
      return keys.map((key) => get(key) ?? null);
    },
    async mset(entries) {
      if (entries.length > 0) observe('MSET');
      for (const e of entries) {
        if (e.onlyIfAbsent && get(e.key) !== undefined) continue;
        data.delete(e.key);
        data.set(e.key, { value: e.value, expiresAt: e.ttlMs === undefined ? Infinity : Date.now() + e.ttlMs });
        if (data.size > maxEntries) data.delete(data.keys().next().value as string);
      }
    },
    async del(keys) {
      if (keys.length > 0) observe('DEL');
      let removed = 0;
      for (const key of keys) if (get(key) !== undefined && data.delete(key)) removed++;
      return removed;
    },
    ping: async () => {},
    close: async () => data.clear(),
  };
}
