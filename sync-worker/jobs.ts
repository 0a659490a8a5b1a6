/**
 * Runs the jobs of the queue (jobs/queue.ts) in a sync worker, one at a time: claims the
 * oldest queued job when woken (a NOTIFY on enqueue) or at its poll, runs the handler of its
 * kind with a progress callback that is also the heartbeat, and stores the result or the error.
 * A worker that stops hands its running job back to the queue; a worker that dies stops
 * heartbeating, and its job is queued again by whichever worker notices first.
 */
import { backfillTable } from '../changelog/backfill.ts';
import type { TableSpec } from '../domain/tables.ts';
import type { JobKind, JobQueue, JobRecord } from '../jobs/queue.ts';
import type { Config } from '../lib/config.ts';
import { AppError } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import { createSleeper } from '../lib/sleeper.ts';
import type { Tiers } from '../stores/tiers.ts';

/** What a handler gets besides its job. */
export interface JobContext {
  readonly tiers: Tiers;
  readonly config: Config;
  /** The captured tables (the operator's selection from the registry). */
  readonly tables: readonly TableSpec[];
  readonly logger: Logger;
  /** Reports progress (0..1); cheap to call often (throttled). */
  progress(fraction: number): void;
  /** Aborted when the worker stops: a handler checks it between steps and returns early by throwing. */
  readonly signal: AbortSignal;
}

/** Runs one job and returns its result (stored as JSON). */
export type JobHandler = (job: JobRecord, context: JobContext) => Promise<unknown>;

/** A handler per job kind. */
export type JobHandlers = Record<JobKind, JobHandler>;

/** A job whose worker has not heartbeaten for this long is presumed dead and queued again. */
const STALE_MS = 60_000;
const HEARTBEAT_MS = 5_000;
const PROGRESS_EVERY_MS = 250;

/** The built-in handlers; consistency checks are added by the caller (sync-worker/consistency). */
const builtIn: Partial<JobHandlers> = {
  BACKFILL: (job, context) =>
    backfillTable({
      postgres: context.tiers.postgres,
      clickhouse: context.tiers.clickhouse,
      table: String(job.params['table']),
      batchSize: context.config.cdc.backfillBatchSize,
      signal: context.signal,
      onProgress: (p) => context.progress(p.total === 0 ? 1 : p.copied / p.total),
    }),
};

/** Creates the runner; `start()` begins polling, `wake()` looks for a job now. */
export function createJobRunner(options: {
  queue: JobQueue;
  tiers: Tiers;
  config: Config;
  tables: readonly TableSpec[];
  workerId: string;
  logger: Logger;
  handlers?: Partial<JobHandlers>;
  onFinished?: (kind: JobKind, outcome: 'succeeded' | 'failed') => void;
  /** Queue a validation this often (the original design's checkInterval); 0: never. */
  validateIntervalMs?: number;
}) {
  const { queue, logger } = options;
  const handlers: Partial<JobHandlers> = { ...builtIn, ...options.handlers };
  let running = false;
  let loop: Promise<void> | undefined;
  const sleeper = createSleeper();
  /** Aborted by stop(); a new one per start(), so a restarted runner runs jobs again. */
  let abort = new AbortController();

  async function runOne(job: JobRecord): Promise<void> {
    const handler = handlers[job.kind];
    let lastProgress = 0;
    let pending: Promise<void> = Promise.resolve();
    const report = (fraction: number) => {
      pending = pending
        .then(() => queue.progress(job.id, fraction))
        .catch((error) => {
          logger.warn('job progress not recorded', { job: job.id, error });
        });
    };
    let lastProgressValue = 0;
    const heartbeat = setInterval(() => report(lastProgressValue), HEARTBEAT_MS);
    const context: JobContext = {
      tiers: options.tiers,
      config: options.config,
      tables: options.tables,
      logger: logger.child(`job:${job.id}`),
      signal: abort.signal,
      progress(fraction) {
        lastProgressValue = fraction;
        const now = Date.now();
        if (now - lastProgress < PROGRESS_EVERY_MS) return;
        lastProgress = now;
        report(fraction);
      },
    };
    const started = Date.now();
    logger.info('job started', { job: job.id, kind: job.kind, params: job.params });
    try {
      if (!handler) throw new AppError({ code: 'INTERNAL', message: `No handler for jobs of kind ${job.kind}` });
      const result = await handler(job, context);
      clearInterval(heartbeat);
      await pending;
      await queue.succeed(job.id, result);
      options.onFinished?.(job.kind, 'succeeded');
      logger.info('job succeeded', { job: job.id, kind: job.kind, ms: Date.now() - started });
    } catch (error) {
      clearInterval(heartbeat);
      await pending;
      if (abort.signal.aborted) {
        // Stopping: give the job back rather than fail it; another worker (or this one, restarted) runs it.
        await queue.release(job.id, options.workerId).catch(() => {});
        logger.info('job handed back to the queue on stop', { job: job.id });
        return;
      }
      const message =
        error instanceof AppError ? error.message : `Job failed: ${String((error as Error)?.message ?? error)}`;
      logger.error('job failed', { job: job.id, kind: job.kind, error });
      options.onFinished?.(job.kind, 'failed');
      await queue
        .fail(job.id, message)
        .catch((e) => logger.warn('job failure not recorded', { job: job.id, error: e }));
    }
  }

  async function run(): Promise<void> {
    let lastStaleCheck = 0;
    let lastSchedule = 0;
    const interval = options.validateIntervalMs ?? 0;
    while (running) {
      try {
        // Every worker asks; the queue lets one validation per interval through (a lock and a
        // "queued since" check in one transaction), so several workers do not pile them up.
        if (interval > 0 && Date.now() - lastSchedule > Math.min(interval, 60_000)) {
          lastSchedule = Date.now();
          const queued = await queue.enqueueIfDue('VALIDATE', {}, 'schedule', interval);
          if (queued) logger.info('scheduled validation queued', { job: queued.id });
        }
        if (Date.now() - lastStaleCheck > STALE_MS / 2) {
          lastStaleCheck = Date.now();
          const requeued = await queue.requeueStale(STALE_MS);
          if (requeued > 0) logger.warn('jobs of a dead worker queued again', { requeued });
        }
        const job = await queue.claim(options.workerId);
        if (job) {
          await runOne(job);
          continue;
        }
      } catch (error) {
        logger.warn('job queue unavailable; retrying', { error });
      }
      await sleeper.sleep(options.config.worker.jobPollIntervalMs);
    }
  }

  return {
    start(): void {
      if (running) return;
      running = true;
      abort = new AbortController();
      loop = run();
    },
    /** Looks for a job now (a NOTIFY on enqueue). */
    wake(): void {
      sleeper.wake();
    },
    async stop(): Promise<void> {
      running = false;
      abort.abort();
      sleeper.wake(true);
      await loop;
    },
  };
}
