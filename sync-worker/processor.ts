/**
 * Claims a batch of changes and applies it to every sink (ClickHouse, Redis, the bus) before
 * marking it processed, all inside the claiming transaction: a crash at any point rolls the
 * claim back, the batch is claimed again, and the idempotent sinks converge.
 *
 * Failures: an outage of a tier (TIER_UNAVAILABLE) fails the whole batch without charging any
 * change (it is not the changes' fault); the worker backs off and retries. Any other error is
 * isolated by applying the batch change by change: the failing change gets retry_count,
 * error_message and a backoff (dead-lettered after maxAttempts), later changes to its row in
 * the batch wait behind it, and every other change is applied and marked.
 */
import type { Change } from '../changelog/change.ts';
import { claimBatch, markFailed, markProcessed } from '../changelog/queue.ts';
import { AppError } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import type { Postgres } from '../stores/postgres.ts';
import type { Sink } from './sinks/sink.ts';

/** What one batch did. */
export interface BatchOutcome {
  readonly claimed: number;
  readonly processed: number;
  readonly failed: number;
  readonly deadLettered: number;
}

const isOutage = (error: unknown) => error instanceof AppError && error.code === 'TIER_UNAVAILABLE';

/** Tuning of the processor (from config.cdc). */
export interface ProcessorSettings {
  readonly batchSize: number;
  readonly maxAttempts: number;
  readonly retryBaseMs: number;
}

/**
 * Creates the processor. `projections` (ClickHouse, the vector index) take a batch first, in
 * parallel; `publisher` (the bus) takes it after them: an event means the projections already
 * have the change, so a consumer (a subscription resolver, the cache evicting a response) never
 * reads a tier that is behind the event.
 */
export function createChangeProcessor(options: {
  postgres: Postgres;
  projections: readonly Sink[];
  publisher: Sink;
  settings: ProcessorSettings;
  logger: Logger;
  onApplied?: (changes: readonly Change[]) => void;
}) {
  const { postgres, settings: config, logger } = options;
  const applyAll = async (changes: readonly Change[]) => {
    await Promise.all(options.projections.map((sink) => sink.apply(changes)));
    await options.publisher.apply(changes);
  };

  /** Claims, applies and marks one batch. */
  async function processBatch(): Promise<BatchOutcome> {
    return postgres.transaction(async (tx) => {
      const changes = await claimBatch(tx, config.batchSize);
      if (changes.length === 0) return { claimed: 0, processed: 0, failed: 0, deadLettered: 0 };
      try {
        await applyAll(changes);
        await markProcessed(
          tx,
          changes.map((c) => c.seq),
        );
        options.onApplied?.(changes);
        return { claimed: changes.length, processed: changes.length, failed: 0, deadLettered: 0 };
      } catch (error) {
        if (isOutage(error)) throw error;
        logger.warn('batch failed; applying its changes one by one', { error, size: changes.length });
      }
      const done: Change[] = [];
      const blockedRows = new Set<string>();
      let failed = 0;
      let deadLettered = 0;
      for (const change of changes) {
        const row = `${change.table}\u0000${change.rowKey}`;
        if (blockedRows.has(row)) continue;
        try {
          await applyAll([change]);
          done.push(change);
        } catch (error) {
          if (isOutage(error)) throw error;
          blockedRows.add(row);
          failed++;
          const message = error instanceof Error ? error.message : String(error);
          const outcome = await markFailed(tx, {
            seq: change.seq,
            error: message,
            maxAttempts: config.maxAttempts,
            retryBaseMs: config.retryBaseMs,
          });
          if (outcome.deadLettered) deadLettered++;
          logger[outcome.deadLettered ? 'error' : 'warn'](
            outcome.deadLettered ? 'change dead-lettered' : 'change failed; will retry',
            {
              seq: change.seq,
              table: change.table,
              rowKey: change.rowKey,
              attempt: change.retryCount + 1,
              error: message,
            },
          );
        }
      }
      await markProcessed(
        tx,
        done.map((c) => c.seq),
      );
      if (done.length > 0) options.onApplied?.(done);
      return { claimed: changes.length, processed: done.length, failed, deadLettered };
    });
  }

  return { processBatch };
}
