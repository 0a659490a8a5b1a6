/**
 * Keeps the derived hot data rebuilt after its tier lost it: Redis restarted without
 * persistence, flushed, or evicting under memory pressure; an in-process vector index after a
 * restart of the process.
 *
 * - Redis: a sentinel key is written after every rebuild; when it is gone, Redis lost its data,
 *   and the latest prices of every asset are computed again in ClickHouse (one statement) and
 *   written back, only where no newer price arrived meanwhile (SET NX). Readers never wait for
 *   this: a missing price is computed on read anyway; the rebuild brings the hit rate back.
 * - Vector index: when it holds fewer points than Postgres has embeddings, every embedding is
 *   upserted again from `asset_embeddings` (the source of truth).
 * Each rebuild is logged and counted in the worker's status.
 */
import { computePriceStats, storeHotPrices } from '../domain/prices.ts';
import type { Logger } from '../lib/logger.ts';
import type { Tiers } from '../stores/tiers.ts';

/** The sentinel: present while Redis still has what the last rebuild wrote. */
export const HOT_SENTINEL_KEY = 'hot:sentinel';

/** Rebuild counters for health and stats. */
export interface HotDataStatus {
  readonly redisRebuilds: number;
  readonly vectorRebuilds: number;
  readonly lastRebuildAt: string | null;
  readonly lastCheckAt: string | null;
}

const UPSERT_BATCH = 500;

/** Creates the keeper; it checks at start and every `checkIntervalMs`. */
export function createHotDataKeeper(options: { tiers: Tiers; logger: Logger; checkIntervalMs: number }) {
  const { tiers } = options;
  const logger = options.logger.child('hot-data');
  let timer: NodeJS.Timeout | undefined;
  let checking: Promise<void> | undefined;
  let redisRebuilds = 0;
  let vectorRebuilds = 0;
  let lastRebuildAt: string | null = null;
  let lastCheckAt: string | null = null;
  let failing = false;

  async function rebuildPrices(): Promise<number> {
    const assets = await tiers.postgres.query<{ id: string }>('SELECT id FROM assets ORDER BY id');
    const stats = await computePriceStats(
      tiers.clickhouse,
      assets.map((a) => a.id),
    );
    await storeHotPrices(tiers.hot, stats, { onlyIfAbsent: true });
    await tiers.hot.mset([{ key: HOT_SENTINEL_KEY, value: new Date().toISOString() }]);
    return stats.size;
  }

  async function rebuildVectors(): Promise<number> {
    let upserted = 0;
    let last = '';
    for (;;) {
      const rows = await tiers.postgres.query<{ asset_id: string; embedding: number[] }>(
        `SELECT asset_id, embedding FROM asset_embeddings WHERE asset_id > $1 ORDER BY asset_id LIMIT $2`,
        [last, UPSERT_BATCH],
      );
      if (rows.length === 0) return upserted;
      await tiers.vector.upsert(rows.map((r) => ({ id: r.asset_id, vector: r.embedding })));
      upserted += rows.length;
      last = rows.at(-1)!.asset_id;
    }
  }

  async function check(): Promise<void> {
    try {
      const [sentinel] = await tiers.hot.mget([HOT_SENTINEL_KEY]);
      if (sentinel === null) {
        const prices = await rebuildPrices();
        redisRebuilds++;
        lastRebuildAt = new Date().toISOString();
        logger.warn('redis had lost its hot data; latest prices rebuilt from ClickHouse', {
          prices,
          rebuilds: redisRebuilds,
        });
      }
      const [[source], indexed] = await Promise.all([
        tiers.postgres.query<{ n: number }>('SELECT count(*)::int AS n FROM asset_embeddings'),
        tiers.vector.count(),
      ]);
      if ((source?.n ?? 0) > indexed) {
        const upserted = await rebuildVectors();
        vectorRebuilds++;
        lastRebuildAt = new Date().toISOString();
        logger.warn('vector index was missing embeddings; rebuilt from Postgres', {
          indexed,
          upserted,
          rebuilds: vectorRebuilds,
        });
      }
      lastCheckAt = new Date().toISOString();
      if (failing) logger.info('hot data check succeeded again');
      failing = false;
    } catch (error) {
      // A tier is down: the next check retries. Logged once per outage, not per check.
      if (!failing) logger.warn('hot data check failed; retrying at the next check', { error });
      failing = true;
    }
  }

  const runCheck = () => (checking ??= check().finally(() => (checking = undefined)));

  return {
    start(): void {
      void runCheck();
      timer = setInterval(() => void runCheck(), options.checkIntervalMs);
      timer.unref();
    },
    async stop(): Promise<void> {
      clearInterval(timer);
      await checking;
    },
    /** Runs a check now (tests, the CLI). */
    check: runCheck,
    status(): HotDataStatus {
      return { redisRebuilds, vectorRebuilds, lastRebuildAt, lastCheckAt };
    },
  };
}
