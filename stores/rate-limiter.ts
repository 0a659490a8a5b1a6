/**
 * Rate limits shared by every gateway instance: counters in Redis (rate-limiter-flexible's
 * atomic Lua), or in this process when no REDIS_URL is configured. When Redis fails, an
 * in-process "insurance" limiter with the same budget takes over, so a Redis outage neither
 * blocks everyone nor lets everyone through.
 */
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { StatementObserver } from './observer.ts';
import { closeRedis, connectRedis, type RedisOptions } from './redis.ts';

/** The outcome of one request's consumption. */
export interface RateLimitResult {
  readonly allowed: boolean;
  /** When refused: how long until the budget allows this key again. */
  readonly retryAfterMs: number;
  readonly remaining: number;
}

/** A budget of `points` per `durationSec` per key. */
export interface RateLimitBudget {
  readonly points: number;
  readonly durationSec: number;
}

/** Budgets by name ("subject", "ip"), checked by key. */
export interface RateLimiter {
  readonly kind: 'server' | 'embedded';
  /** Consumes one point of `budget` for `key`. */
  consume(budget: string, key: string): Promise<RateLimitResult>;
  close(): Promise<void>;
}

function outcome(result: RateLimiterRes, allowed: boolean): RateLimitResult {
  return { allowed, retryAfterMs: allowed ? 0 : result.msBeforeNext, remaining: result.remainingPoints };
}

async function consumeWith(limiter: RateLimiterMemory | RateLimiterRedis, key: string): Promise<RateLimitResult> {
  try {
    return outcome(await limiter.consume(key, 1), true);
  } catch (rejection) {
    if (rejection instanceof RateLimiterRes) return outcome(rejection, false);
    throw rejection;
  }
}

/** Redis-backed budgets (own connection), with in-process insurance. */
export async function createServerRateLimiter(
  options: RedisOptions & { budgets: Readonly<Record<string, RateLimitBudget>>; observer: StatementObserver },
): Promise<RateLimiter> {
  const redis = await connectRedis({ ...options, autoPipelining: true });
  const limiters = new Map(
    Object.entries(options.budgets).map(([name, b]) => [
      name,
      new RateLimiterRedis({
        storeClient: redis,
        keyPrefix: `rl:${name}`,
        points: b.points,
        duration: b.durationSec,
        insuranceLimiter: new RateLimiterMemory({ points: b.points, duration: b.durationSec }),
      }),
    ]),
  );
  return {
    kind: 'server',
    consume(budget, key) {
      options.observer('ratelimit', 'CONSUME');
      const limiter = limiters.get(budget);
      if (!limiter) throw new Error(`unknown rate-limit budget ${budget}`);
      return consumeWith(limiter, key);
    },
    close: () => closeRedis(redis),
  };
}

/** In-process budgets (one gateway process; the embedded default). */
export function createEmbeddedRateLimiter(options: {
  budgets: Readonly<Record<string, RateLimitBudget>>;
}): RateLimiter {
  const limiters = new Map(
    Object.entries(options.budgets).map(([name, b]) => [
      name,
      new RateLimiterMemory({ points: b.points, duration: b.durationSec }),
    ]),
  );
  return {
    kind: 'embedded',
    consume(budget, key) {
      const limiter = limiters.get(budget);
      if (!limiter) throw new Error(`unknown rate-limit budget ${budget}`);
      return consumeWith(limiter, key);
    },
    close: async () => {},
  };
}
