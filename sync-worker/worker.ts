/**
 * The sync worker app: keeps ClickHouse, Redis and the bus in step with Postgres.
 *
 * Wake-up: on a Postgres server the worker LISTENs on `cdc_change`; while it is idle the
 * capture trigger notifies on commit (only then: NOTIFY serializes commits, see
 * migrations/postgres/002_cdc.sql), and it drains batches until none is claimable. It also polls every
 * `pollIntervalMs` in case a notification is lost (LISTEN connection dropped) and to pick up
 * changes whose backoff expired. Embedded Postgres (pglite-socket) delivers no NOTIFY, so
 * there the poll is the only wake-up (shared/FACTS.md).
 * Scale-out: run more workers; claiming with SKIP LOCKED splits the work, and per-row order
 * holds because a change is applied only after every earlier change of its row (change-log.ts).
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type pg from 'pg';
import type { Config } from '../lib/config.ts';
import type { Logger } from '../lib/logger.ts';
import { backoffDelayMs, defaultRetryPolicy } from '../lib/retry.ts';
import type { Tiers } from '../stores/tiers.ts';
import type { Change } from './change.ts';
import { pruneProcessed } from './change-log.ts';
import { createChangeProcessor, type BatchOutcome } from './processor.ts';

export interface SyncWorker {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Processes batches until nothing is claimable now (tests, CLI). */
  drain(): Promise<{ processed: number; failed: number; deadLettered: number }>;
}

/** How often processed changes are pruned. */
const PRUNE_EVERY_MS = 60_000;

export function createSyncWorker(options: {
  tiers: Tiers;
  config: Config;
  logger: Logger;
  onApplied?: (changes: readonly Change[]) => void;
}): SyncWorker {
  const { tiers, config } = options;
  const logger = options.logger.child('sync-worker');
  const processor = createChangeProcessor({ tiers, config, logger, onApplied: options.onApplied });
  let running = false;
  let loop: Promise<void> | undefined;
  let wakeUp: ((reason: 'notify' | 'stop') => void) | undefined;
  let listener: pg.PoolClient | undefined;
  let pruneTimer: NodeJS.Timeout | undefined;
  let consecutiveOutages = 0;
  const workerId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;

  // A notification that arrives while a batch runs (no sleep to cut short) is remembered, so
  // the next sleep ends at once: a change committed while the last batch found nothing is
  // claimed now, not one poll interval later.
  let notified = false;
  const wake = () => {
    if (wakeUp) wakeUp('notify');
    else notified = true;
  };
  /** `wakeable: false` (an outage's back-off): only stop() ends it early, not every commit. */
  const sleep = (ms: number, wakeable = true) =>
    new Promise<void>((resolve) => {
      if (wakeable && notified) {
        notified = false;
        return resolve();
      }
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wakeUp = undefined;
        resolve();
      }
      wakeUp = (reason) => {
        if (wakeable || reason === 'stop') done();
      };
    });

  async function listen(): Promise<void> {
    if (!tiers.postgres.supportsNotify) return;
    try {
      listener = await tiers.postgres.connect();
      listener.on('notification', wake);
      // A dropped LISTEN connection is not fatal: polling continues, and the next start re-listens.
      listener.on('error', (error) => logger.warn('LISTEN connection lost; polling only', { error }));
      await listener.query('LISTEN cdc_change');
    } catch (error) {
      logger.warn('LISTEN unavailable; polling only', { error });
    }
  }

  async function runBatch(): Promise<BatchOutcome | undefined> {
    try {
      const outcome = await processor.processBatch();
      consecutiveOutages = 0;
      return outcome;
    } catch (error) {
      // A tier is down (or Postgres itself): nothing was marked; back off and try again.
      consecutiveOutages++;
      const delayMs = Math.max(
        config.cdc.pollIntervalMs,
        backoffDelayMs({ ...defaultRetryPolicy, maxDelayMs: 10_000 }, consecutiveOutages),
      );
      logger.warn('batch not applied; retrying', { error, delayMs });
      // Not cut short by notifications: commits keep coming while a tier is down.
      await sleep(delayMs, false);
      return undefined;
    }
  }

  /** Tells capture triggers whether this worker wants a NOTIFY (migrations/postgres/002_cdc.sql). */
  let lastHeartbeat = 0;
  async function setIdle(idle: boolean): Promise<void> {
    if (!listener) return;
    lastHeartbeat = Date.now();
    await tiers.postgres
      .query(
        `INSERT INTO cdc.workers (worker_id, idle, heartbeat) VALUES ($1, $2, now())
         ON CONFLICT (worker_id) DO UPDATE SET idle = EXCLUDED.idle, heartbeat = now()`,
        [workerId, idle],
      )
      .catch((error) => logger.warn('could not record worker state', { error }));
  }

  async function run(): Promise<void> {
    let idle = false;
    while (running) {
      const outcome = await runBatch();
      if (!running) break;
      if (outcome && outcome.claimed > 0) {
        if (idle) await setIdle((idle = false));
        continue;
      }
      if (!outcome) continue;
      if (!idle) {
        await setIdle((idle = true));
        // A change committed while we announced ourselves idle did not notify: look once more.
        continue;
      }
      await sleep(config.cdc.pollIntervalMs);
      // Heartbeat: a worker idle for long stays known as listening (triggers ignore rows older than a minute).
      if (Date.now() - lastHeartbeat > 15_000) await setIdle(true);
    }
    await setIdle(false);
  }

  async function prune(): Promise<void> {
    try {
      const removed = await pruneProcessed(tiers.postgres, config.cdc.retentionMs);
      if (removed > 0) logger.info('pruned processed changes', { removed });
    } catch (error) {
      logger.warn('prune failed', { error });
    }
  }

  return {
    async start() {
      if (running) return;
      running = true;
      await listen();
      pruneTimer = setInterval(() => void prune(), Math.min(PRUNE_EVERY_MS, Math.max(1_000, config.cdc.retentionMs)));
      pruneTimer.unref();
      loop = run();
      logger.info('sync worker started', {
        tables: config.cdc.tables.map((t) => t.table),
        notify: tiers.postgres.supportsNotify,
      });
    },
    async stop() {
      running = false;
      wakeUp?.('stop');
      await loop;
      if (pruneTimer) clearInterval(pruneTimer);
      if (listener) {
        await tiers.postgres.query('DELETE FROM cdc.workers WHERE worker_id = $1', [workerId]).catch(() => {});
        listener.removeAllListeners('notification');
        await listener.query('UNLISTEN *').catch(() => {});
        listener.release();
        listener = undefined;
      }
    },
    async drain() {
      const total = { processed: 0, failed: 0, deadLettered: 0 };
      for (;;) {
        const outcome = await processor.processBatch();
        total.processed += outcome.processed;
        total.failed += outcome.failed;
        total.deadLettered += outcome.deadLettered;
        if (outcome.claimed === 0 || outcome.processed === 0) return total;
      }
    },
  };
}
