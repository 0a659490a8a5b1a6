/**
 * The one place that chooses each tier's implementation from config: a configured URL
 * selects the production client, its absence the embedded default. Nothing else in the
 * code knows which implementation runs.
 */
import path from 'node:path';
import { mkdirSync } from 'node:fs';
import type { Config } from '../lib/config.ts';
import type { Logger } from '../lib/logger.ts';
import type { ErrorReporter } from '../lib/metrics.ts';
import { createEmbeddedBus, type EventBus } from './bus.ts';
import { createEmbeddedCacheStore, createServerCacheStore, type CacheStore } from './cache.ts';
import { createEmbeddedClickhouse, createServerClickhouse, type Clickhouse } from './clickhouse.ts';
import { createEmbeddedHotStore, createServerHotStore, type HotStore } from './hot.ts';
import { createKafkaBus } from './kafka-bus.ts';
import { createEmbeddedRateLimiter, createServerRateLimiter, type RateLimiter } from './rate-limiter.ts';
import { noopObserver, type StatementObserver } from './observer.ts';
import { createEmbeddedPostgres, createServerPostgres, type Postgres } from './postgres.ts';
import { createEmbeddedVectorIndex, createQdrantVectorIndex, type VectorIndex } from './vector.ts';

/** Every tier, opened. */
export interface Tiers {
  readonly postgres: Postgres;
  readonly clickhouse: Clickhouse;
  readonly hot: HotStore;
  /** The response cache's storage (also Redis). */
  readonly cache: CacheStore;
  readonly vector: VectorIndex;
  readonly bus: EventBus;
  /** Rate-limit counters (Redis, shared by gateway instances; or in process). */
  readonly rateLimiter: RateLimiter;
  /** Which implementation each tier runs, for logs and health. */
  readonly describe: () => Record<string, 'server' | 'embedded'>;
  close(): Promise<void>;
}

function embeddedDir(config: Config, name: string): string {
  if (config.dataDir === ':memory:') return ':memory:';
  const dir = path.join(config.dataDir, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Opens every tier; on failure closes those already open and rethrows. */
export async function createTiers(options: {
  config: Config;
  logger: Logger;
  observer?: StatementObserver;
  /** Where tiers report errors they handle themselves (a failing event handler, a seek). */
  report: ErrorReporter;
}): Promise<Tiers> {
  const { config, logger } = options;
  const observer = options.observer ?? noopObserver;
  const opened: Array<{ close(): Promise<void> }> = [];
  const open = async <T extends { close(): Promise<void> }>(p: Promise<T> | T): Promise<T> => {
    const tier = await p;
    opened.push(tier);
    return tier;
  };
  try {
    const postgres = await open(
      config.postgres.url
        ? createServerPostgres({
            url: config.postgres.url,
            poolMax: config.postgres.poolMax,
            statementTimeoutMs: config.postgres.statementTimeoutMs,
            observer,
            logger: logger.child('postgres'),
          })
        : createEmbeddedPostgres({
            dataDir: embeddedDir(config, 'pglite'),
            observer,
            logger: logger.child('postgres'),
          }),
    );
    const clickhouse = await open(
      config.clickhouse.url
        ? createServerClickhouse({
            url: config.clickhouse.url,
            database: config.clickhouse.database,
            requestTimeoutMs: config.clickhouse.requestTimeoutMs,
            observer,
          })
        : createEmbeddedClickhouse({ dataDir: embeddedDir(config, 'chdb'), observer }),
    );
    const hot = await open(
      config.redis.url
        ? createServerHotStore({ ...config.redis, url: config.redis.url, observer })
        : createEmbeddedHotStore({ observer }),
    );
    const cache = await open(
      config.redis.url
        ? createServerCacheStore({ ...config.redis, url: config.redis.url, observer })
        : createEmbeddedCacheStore({ observer }),
    );
    const vector = await open(
      config.vector.url
        ? createQdrantVectorIndex({
            url: config.vector.url,
            collection: config.vector.collection,
            dimensions: config.vector.dimensions,
            observer,
          })
        : createEmbeddedVectorIndex({ dimensions: config.vector.dimensions, observer }),
    );
    const bus = await open(
      config.kafka.brokers
        ? createKafkaBus({
            brokers: config.kafka.brokers,
            clientId: config.kafka.clientId,
            topicPrefix: config.kafka.topicPrefix,
            observer,
            logger: logger.child('kafka'),
            report: options.report,
          })
        : createEmbeddedBus({ observer, report: options.report }),
    );
    const budgets = {
      subject: { points: config.rateLimit.perSubject, durationSec: config.rateLimit.windowSec },
      ip: { points: config.rateLimit.perIp, durationSec: config.rateLimit.windowSec },
    };
    const rateLimiter = await open(
      config.redis.url
        ? createServerRateLimiter({ ...config.redis, url: config.redis.url, budgets, observer })
        : createEmbeddedRateLimiter({ budgets }),
    );
    return {
      postgres,
      clickhouse,
      hot,
      cache,
      vector,
      bus,
      rateLimiter,
      describe: () => ({
        postgres: postgres.kind,
        clickhouse: clickhouse.kind,
        redis: hot.kind,
        vector: vector.kind,
        kafka: bus.kind,
      }),
      async close() {
        // Reverse order of opening: the bus first, the source of truth last.
        for (const tier of [bus, rateLimiter, vector, cache, hot, clickhouse, postgres]) {
          await tier.close().catch((error: unknown) => options.report('tiers.close', error));
        }
      },
    };
  } catch (error) {
    for (const tier of opened.reverse()) await tier.close().catch((e: unknown) => options.report('tiers.close', e));
    throw error;
  }
}
