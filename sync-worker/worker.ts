/**
 * The sync worker app. This first cut only owns backfill (sync-worker/backfill.ts); change
 * data capture from Postgres into ClickHouse, Redis and Kafka is issue #3 and lands here
 * behind the same `{ start, stop }`.
 */
import type { Logger } from '../lib/logger.ts';
import type { Tiers } from '../stores/tiers.ts';

export interface SyncWorker {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function createSyncWorker(options: { tiers: Tiers; logger: Logger }): SyncWorker {
  const logger = options.logger.child('sync-worker');
  return {
    async start() {
      logger.info('sync worker started (backfill only; CDC not yet enabled)');
    },
    async stop() {},
  };
}
