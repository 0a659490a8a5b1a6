/**
 * The one way this code connects to a Redis server (hot data and the response cache).
 * Redis is a cache for every reader, so a command fails at once while Redis is down (no
 * offline queue) and after `timeoutMs` when it hangs: readers fall back or answer uncached,
 * the worker backs off and retries, and nothing waits on a dead socket. ioredis reconnects
 * by itself, quickly and forever, so everything resumes when Redis is back.
 */
import { Redis } from 'ioredis';
import { tierUnavailable } from '../lib/errors.ts';

export interface RedisOptions {
  readonly url: string;
  readonly keyPrefix: string;
  readonly timeoutMs: number;
  /** Send concurrent commands as one pipeline (many small concurrent reads). */
  readonly autoPipelining?: boolean;
}

/** Connects and waits until the connection is ready; fails with TIER_UNAVAILABLE after `connectTimeoutMs`. */
export async function connectRedis(options: RedisOptions, connectTimeoutMs = 5_000): Promise<Redis> {
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
  if (redis.status === 'ready') return redis;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      redis.disconnect();
      reject(tierUnavailable('redis', new Error(`not ready after ${connectTimeoutMs} ms`)));
    }, connectTimeoutMs);
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
