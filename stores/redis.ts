/**
 * The one way this code connects to a Redis server (hot data and the response cache).
 * Redis is a cache for every reader, so a command fails at once while Redis is down (no
 * offline queue) and after `timeoutMs` when it hangs: readers fall back or answer uncached,
 * the worker backs off and retries, and nothing waits on a dead socket. ioredis reconnects
 * by itself, quickly and forever, so everything resumes when Redis is back.
 */
import { Redis } from 'ioredis';
import { tierUnavailable } from '../lib/errors.ts';

/** How to reach Redis. */
export interface RedisOptions {
  readonly url: string;
  readonly keyPrefix: string;
  readonly timeoutMs: number;
  /** Send concurrent commands as one pipeline (many small concurrent reads). */
  readonly autoPipelining?: boolean;
}

/** How long a start waits for Redis before failing. */
const CONNECT_TIMEOUT_MS = 5_000;

/** Connects and waits until the connection is ready; fails with TIER_UNAVAILABLE after CONNECT_TIMEOUT_MS. */
export async function connectRedis(options: RedisOptions): Promise<Redis> {
  const redis = new Redis(options.url, {
    keyPrefix: options.keyPrefix,
    commandTimeout: options.timeoutMs,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    enableAutoPipelining: options.autoPipelining ?? false,
    retryStrategy: (attempt) => Math.min(50 * attempt, 1_000),
  });
  // Without a listener an 'error' event would crash the process; failures surface per command.
  redis.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      redis.disconnect();
      reject(tierUnavailable('redis', new Error(`not ready after ${CONNECT_TIMEOUT_MS} ms`)));
    }, CONNECT_TIMEOUT_MS);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    redis.once('ready', onReady);
  });
  return redis;
}

/** Closes politely, or drops the socket when Redis is gone. */
export async function closeRedis(redis: Redis): Promise<void> {
  await redis.quit().catch(() => redis.disconnect());
}
