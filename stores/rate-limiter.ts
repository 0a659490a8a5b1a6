/**
 * Rate limits shared by every gateway instance: counters in Redis (rate-limiter-flexible's
 * atomic fixed windows), or in this process when no REDIS_URL is configured. When Redis fails,
 * an in-process "insurance" limiter with the same budget takes over, so a Redis outage neither
 * blocks everyone nor lets everyone through.
 *
 * A request does not ask Redis: each instance leases a slice of a key's budget (a twentieth)
 * with one atomic increment and spends it locally, and asks again when it is spent. Two Redis
 * calls on every cached hit cost about a fifth of its throughput (bench/results/security.json);
 * a lease costs one call per slice. No instance admits more than the shared budget (a slice is
 * counted in Redis before it is spent); the price is that slices leased by other instances and
 * not yet spent are unavailable to this one, at most a twentieth of the budget per instance.
 * A key past its budget is refused locally until its window ends, without asking Redis.
 */
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { StatementObserver } from './observer.ts';
import { closeRedis, connectRedis, type RedisOptions } from './redis.ts';

/** The outcome of one request's consumption. */
export interface RateLimitResult {
  readonly allowed: boolean;
  /** When refused: how long until the budget allows this key again. */
  readonly retryAfterMs: number;
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

/** The share of a budget one lease takes. */
const LEASE_FRACTION = 1 / 20;
/** How often expired leases are dropped (a map entry per key seen in a window). */
const SWEEP_EVERY_MS = 1_000;

const ALLOWED: RateLimitResult = { allowed: true, retryAfterMs: 0 };

interface Lease {
  /** Points leased and not yet spent. */
  left: number;
  /** The store had no more to give in this window. */
  exhausted: boolean;
  /** When the store's window of the key ends (Date.now() clock). */
  endsAt: number;
  /** The lease request in flight, shared by concurrent requests of the key. */
  pending?: Promise<void>;
}

/** Spends one budget's points from leases taken from `store`. */
function leasedBudget(store: RateLimiterAbstract, budget: RateLimitBudget, onLease: () => void) {
  const size = Math.max(1, Math.floor(budget.points * LEASE_FRACTION));
  const leases = new Map<string, Lease>();
  let sweptAt = Date.now();

  async function renew(key: string, lease: Lease): Promise<void> {
    onLease();
    let result: RateLimiterRes;
    try {
      result = await store.consume(key, size);
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      result = rejection;
    }
    // The store counted the whole slice; the part of it within the budget is ours to spend.
    const granted = Math.max(0, Math.min(size, budget.points - (result.consumedPoints - size)));
    lease.left += granted;
    lease.exhausted = granted < size;
    lease.endsAt = Date.now() + result.msBeforeNext;
  }

  return async function consume(key: string): Promise<RateLimitResult> {
    const now = Date.now();
    if (now - sweptAt > SWEEP_EVERY_MS) {
      sweptAt = now;
      for (const [k, l] of leases) if (l.endsAt <= now && !l.pending) leases.delete(k);
    }
    let lease = leases.get(key);
    if (!lease || (lease.endsAt <= now && !lease.pending)) {
      lease = { left: 0, exhausted: false, endsAt: Number.POSITIVE_INFINITY };
      leases.set(key, lease);
    }
    while (lease.left === 0 && !lease.exhausted) {
      lease.pending ??= renew(key, lease).finally(() => (lease.pending = undefined));
      await lease.pending;
    }
    if (lease.left === 0) return { allowed: false, retryAfterMs: Math.max(1, lease.endsAt - Date.now()) };
    lease.left--;
    return ALLOWED;
  };
}

function limiterOf(
  kind: RateLimiter['kind'],
  budgets: Readonly<Record<string, RateLimitBudget>>,
  store: (budget: string, b: RateLimitBudget) => RateLimiterAbstract,
  onLease: () => void,
  close: () => Promise<void>,
): RateLimiter {
  const spenders = new Map(
    Object.entries(budgets).map(([name, b]) => [name, leasedBudget(store(name, b), b, onLease)]),
  );
  return {
    kind,
    consume(budget, key) {
      const spend = spenders.get(budget);
      if (!spend) throw new Error(`unknown rate-limit budget ${budget}`);
      return spend(key);
    },
    close,
  };
}

/** Redis-backed budgets (own connection), with in-process insurance. */
export async function createServerRateLimiter(
  options: RedisOptions & { budgets: Readonly<Record<string, RateLimitBudget>>; observer: StatementObserver },
): Promise<RateLimiter> {
  const redis = await connectRedis({ ...options, autoPipelining: true });
  return limiterOf(
    'server',
    options.budgets,
    (name, b) =>
      new RateLimiterRedis({
        storeClient: redis,
        keyPrefix: `rl:${name}`,
        points: b.points,
        duration: b.durationSec,
        insuranceLimiter: new RateLimiterMemory({ points: b.points, duration: b.durationSec }),
      }),
    () => options.observer('ratelimit', 'CONSUME'),
    () => closeRedis(redis),
  );
}

/** In-process budgets (one gateway process; the embedded default). */
export function createEmbeddedRateLimiter(options: {
  budgets: Readonly<Record<string, RateLimitBudget>>;
}): RateLimiter {
  return limiterOf(
    'embedded',
    options.budgets,
    (_, b) => new RateLimiterMemory({ points: b.points, duration: b.durationSec }),
    () => {},
    async () => {},
  );
}
