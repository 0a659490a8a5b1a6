/**
 * Readiness: whether every configured tier answers now, with each one's latency. Each ping is
 * bounded by a timeout, so a hung tier makes the check say "down" instead of hanging it.
 */
import type { Tiers } from './tiers.ts';

/** One tier's answer. */
export interface TierHealth {
  readonly status: 'up' | 'down';
  readonly kind: 'server' | 'embedded';
  readonly latencyMs: number;
  readonly error?: string;
}

/** Every tier's answer; `ready` when all are up. */
export interface Readiness {
  readonly ready: boolean;
  readonly tiers: Readonly<Record<string, TierHealth>>;
}

async function probe(kind: 'server' | 'embedded', ping: () => Promise<void>, timeoutMs: number): Promise<TierHealth> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      ping(),
      new Promise(
        (_, reject) => (timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs)),
      ),
    ]);
    return { status: 'up', kind, latencyMs: Math.round((performance.now() - started) * 10) / 10 };
  } catch (error) {
    const cause = (error as { cause?: { message?: string } }).cause?.message;
    return {
      status: 'down',
      kind,
      latencyMs: Math.round(performance.now() - started),
      error: cause ?? (error instanceof Error ? error.message : String(error)),
    };
  } finally {
    clearTimeout(timer);
  }
}

/** Pings every tier in parallel. */
export async function checkReadiness(tiers: Tiers, timeoutMs = 1_000): Promise<Readiness> {
  const [postgres, clickhouse, redis, cache, vector, kafka] = await Promise.all([
    probe(tiers.postgres.kind, () => tiers.postgres.ping(), timeoutMs),
    probe(tiers.clickhouse.kind, () => tiers.clickhouse.ping(), timeoutMs),
    probe(tiers.hot.kind, () => tiers.hot.ping(), timeoutMs),
    probe(tiers.cache.kind, () => tiers.cache.ping(), timeoutMs),
    probe(tiers.vector.kind, () => tiers.vector.ping(), timeoutMs),
    probe(tiers.bus.kind, () => tiers.bus.ping(), timeoutMs),
  ]);
  // The cache store is Redis too, on its own connection: both must answer for "redis" to be up.
  const redisBoth: TierHealth = redis!.status === 'up' ? cache! : redis!;
  const byTier = { postgres: postgres!, clickhouse: clickhouse!, redis: redisBoth, vector: vector!, kafka: kafka! };
  return { ready: Object.values(byTier).every((t) => t.status === 'up'), tiers: byTier };
}
