/**
 * The hot-data tier (Redis): latest prices, portfolio hashes, recent transactions, and
 * the response cache. One interface, two implementations: ioredis on a server, or an
 * in-process LRU with TTL when no REDIS_URL is configured. Keys are namespaced by
 * `keyPrefix` in both so several deployments (or test suites) can share one Redis.
 */
import { closeRedis, connectRedis, type RedisOptions } from './redis.ts';
import { statementRunner, type StatementObserver } from './observer.ts';

export interface HotEntry {
  readonly key: string;
  readonly value: string;
  /** Expiry in milliseconds; absent means no expiry. */
  readonly ttlMs?: number;
}

/** One write of a batch. Every op is idempotent, so a replayed batch converges. */
export type HotOp =
  | { readonly op: 'hset'; readonly key: string; readonly fields: Readonly<Record<string, string>> }
  | { readonly op: 'hdel'; readonly key: string; readonly fields: readonly string[] }
  | { readonly op: 'set'; readonly key: string; readonly value: string; readonly ttlMs?: number }
  | { readonly op: 'del'; readonly keys: readonly string[] }
  /** Adds a member and keeps only the `keep` highest-scored ones. */
  | {
      readonly op: 'zadd';
      readonly key: string;
      readonly score: number;
      readonly member: string;
      readonly keep: number;
    }
  | { readonly op: 'zrem'; readonly key: string; readonly members: readonly string[] };

export interface HotStore {
  readonly kind: 'server' | 'embedded';
  /** One round trip for many keys; `null` where a key is absent. */
  mget(keys: readonly string[]): Promise<Array<string | null>>;
  /** Writes many keys in one round trip. */
  mset(entries: readonly HotEntry[]): Promise<void>;
  del(keys: readonly string[]): Promise<number>;
  hgetall(key: string): Promise<Record<string, string>>;
  /** Runs many writes in one round trip, in order (a pipeline): the sync worker's batch. */
  apply(ops: readonly HotOp[]): Promise<void>;
  /** Members of a sorted set, highest score first. */
  zrevrange(key: string, count: number): Promise<string[]>;
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
          if (e.ttlMs === undefined) pipeline.set(e.key, e.value);
          else pipeline.set(e.key, e.value, 'PX', e.ttlMs);
        }
        const results = await pipeline.exec();
        const failed = results?.find(([error]) => error);
        if (failed) throw failed[0];
      });
    },
    del: (keys) => (keys.length === 0 ? Promise.resolve(0) : run('DEL', () => redis.del(...keys))),
    hgetall: (key) => run('HGETALL', () => redis.hgetall(key)),
    async apply(ops) {
      if (ops.length === 0) return;
      await run('PIPELINE', async () => {
        // MULTI: the batch's writes become visible together.
        const multi = redis.multi();
        for (const o of ops) {
          if (o.op === 'hset') multi.hset(o.key, o.fields);
          else if (o.op === 'hdel') multi.hdel(o.key, ...o.fields);
          else if (o.op === 'set')
            o.ttlMs === undefined ? multi.set(o.key, o.value) : multi.set(o.key, o.value, 'PX', o.ttlMs);
          else if (o.op === 'del') multi.del(...o.keys);
          else if (o.op === 'zadd') multi.zadd(o.key, o.score, o.member).zremrangebyrank(o.key, 0, -(o.keep + 1));
          else multi.zrem(o.key, ...o.members);
        }
        const results = await multi.exec();
        const failed = results?.find(([error]) => error);
        if (failed) throw failed[0];
      });
    },
    zrevrange: (key, count) => run('ZREVRANGE', () => redis.zrevrange(key, 0, count - 1)),
    close: () => closeRedis(redis),
  };
}

type Value = string | Map<string, string> | Map<string, number>;

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
  /** The hash (string values) or sorted set (number scores) at `key`, created empty if absent. */
  const mapAt = <V extends string | number>(key: string): Map<string, V> => {
    const value = get(key);
    if (value instanceof Map) return value as Map<string, V>;
    const created = new Map<string, V>();
    put(key, created as Value);
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
    async hgetall(key) {
      observe('HGETALL');
      const value = get(key);
      return value instanceof Map ? Object.fromEntries(value) : {};
    },
    async apply(ops) {
      if (ops.length > 0) observe('PIPELINE');
      for (const o of ops) {
        if (o.op === 'hset') for (const [f, v] of Object.entries(o.fields)) mapAt<string>(o.key).set(f, v);
        else if (o.op === 'hdel') for (const f of o.fields) mapAt<string>(o.key).delete(f);
        else if (o.op === 'set') put(o.key, o.value, o.ttlMs);
        else if (o.op === 'del') for (const k of o.keys) data.delete(k);
        else if (o.op === 'zadd') {
          const z = mapAt<number>(o.key);
          z.set(o.member, o.score);
          if (z.size > o.keep) {
            const lowest = [...z].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1)).slice(0, z.size - o.keep);
            for (const [m] of lowest) z.delete(m);
          }
        } else for (const m of o.members) mapAt<number>(o.key).delete(m);
      }
    },
    async zrevrange(key, count) {
      observe('ZREVRANGE');
      const z = get(key);
      if (!(z instanceof Map)) return [];
      return [...(z as Map<string, number>)]
        .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? 1 : -1))
        .slice(0, count)
        .map(([m]) => m);
    },
    close: async () => data.clear(),
  };
}
