/**
 * The one place that chooses each tier's implementation from config: a configured URL
 * selects the production client, its absence the embedded default. Nothing else in the
 * code knows which implementation runs.
 */
import path from 'node:path';
import { mkdirSync } from 'node:fs';
import type { Config } from '../lib/config.ts';
import type { Logger } from '../lib/logger.ts';
import { createEmbeddedBus, type EventBus } from './bus.ts';
import { createEmbeddedCacheStore, createServerCacheStore, type CacheStore } from './cache.ts';
import { createEmbeddedClickhouse, createServerClickhouse, type Clickhouse } from './clickhouse.ts';
import { createEmbeddedHotStore, createServerHotStore, type HotStore } from './hot.ts';
import { createKafkaBus } from './kafka-bus.ts';
import { noopObserver, type StatementObserver } from './observer.ts';
import { createEmbeddedPostgres, createServerPostgres, type Postgres } from './postgres.ts';
import { createEmbeddedVectorIndex, createQdrantVectorIndex, type VectorIndex } from './vector.ts';

export interface Tiers {
  readonly postgres: Postgres;
  readonly clickhouse: Clickhouse;
  readonly hot: HotStore;
  /** The response cache's storage (also Redis). */
  readonly cache: CacheStore;
  readonly vector: VectorIndex;
  readonly bus: EventBus;
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
        ? createServerClickhouse({ url: config.clickhouse.url, database: config.clickhouse.database, observer })
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
          })
        : createEmbeddedBus({ observer }),
    );
    return {
      postgres,
      clickhouse,
      hot,
      cache,
      vector,
      bus,
      describe: () => ({
        postgres: postgres.kind,
        clickhouse: clickhouse.kind,
        redis: hot.kind,
        vector: vector.kind,
        kafka: bus.kind,
      }),
      async close() {
        // Reverse order of opening: the bus first, the source of truth last.
        for (const tier of [bus, vector, cache, hot, clickhouse, postgres]) await tier.close().catch(() => {});
      },
    };
  } catch (error) {
    for (const tier of opened.reverse()) await tier.close().catch(() => {});
    throw error;
  }
}
