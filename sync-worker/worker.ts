/**
 * The sync worker app: keeps ClickHouse, the vector index and the bus in step with Postgres,
 * runs the jobs the gateway and the CLI enqueue, and keeps Redis's hot data rebuilt.
 *
 * Wake-up: on a Postgres server the worker LISTENs on `cdc_change` (and `ops_jobs`); while it is
 * idle the capture trigger notifies on commit (only then: NOTIFY serializes commits, see
 * migrations/postgres/002_cdc.sql), and it drains batches until none is claimable. The LISTEN
 * connection reopens itself when the server drops it (stores/postgres.ts), and the worker then
 * looks for work at once, since notifications sent meanwhile were lost. It also polls every
 * `pollIntervalMs` in case a notification is lost and to pick up changes whose backoff
 * expired. Embedded Postgres (pglite-socket) delivers no NOTIFY, so there the poll is the only
 * wake-up.
 * Scale-out: run more workers; claiming with SKIP LOCKED splits the work, and per-row order
 * holds because a change is applied only after every earlier change of its row (changelog/queue.ts).
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Change } from '../changelog/change.ts';
import { pruneProcessed } from '../changelog/queue.ts';
import { selectTables } from '../domain/tables.ts';
import { createJobQueue, JOBS_CHANNEL } from '../jobs/queue.ts';
import type { Config } from '../lib/config.ts';
import type { Logger } from '../lib/logger.ts';
import type { Metrics } from '../lib/metrics.ts';
import { backoffDelayMs } from '../lib/retry.ts';
import { createSleeper } from '../lib/sleeper.ts';
import type { Listener } from '../stores/postgres.ts';
import type { Tiers } from '../stores/tiers.ts';
import { createHotDataKeeper, type HotDataStatus } from './hot-data.ts';
import { createConsistencyHandlers } from './consistency/jobs.ts';
import { createJobRunner, type JobHandlers } from './jobs.ts';
import { createWorkerMetrics } from './metrics.ts';
import { createChangeProcessor, type BatchOutcome } from './processor.ts';
import { createBusSink } from './sinks/bus-sink.ts';
import { createClickhouseSink } from './sinks/clickhouse-sink.ts';
import { createVectorSink } from './sinks/vector-sink.ts';

/** What the worker reports about itself (health, stats). */
export interface WorkerStatus {
  readonly workerId: string;
  readonly running: boolean;
  /** Whether the LISTEN connection is open (false on embedded Postgres, which polls). */
  readonly listening: boolean;
  readonly listenReconnects: number;
  /** Consecutive batches that failed because a tier was unavailable (0 when healthy). */
  readonly consecutiveOutages: number;
  readonly hotData: HotDataStatus;
}

/** The sync worker. */
export interface SyncWorker {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Processes batches until nothing is claimable now (tests, CLI). */
  drain(): Promise<{ processed: number; failed: number; deadLettered: number }>;
  status(): WorkerStatus;
}

/** How often processed changes are pruned. */
const PRUNE_EVERY_MS = 60_000;
/** Longest back-off while a tier is down: a recovered tier is used again within this. */
const MAX_OUTAGE_BACKOFF_MS = 2_000;

/** Creates the worker; `jobHandlers` adds job kinds (consistency checks) to the built-in backfill. */
export function createSyncWorker(options: {
  tiers: Tiers;
  config: Config;
  logger: Logger;
  metrics: Metrics;
  onApplied?: (changes: readonly Change[]) => void;
  jobHandlers?: Partial<JobHandlers>;
}): SyncWorker {
  const { tiers, config } = options;
  const logger = options.logger.child('sync-worker');
  const metrics = createWorkerMetrics(options.metrics, tiers);
  const tables = selectTables(config.cdc.tables);
  const workerId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const processor = createChangeProcessor({
    postgres: tiers.postgres,
    projections: [createClickhouseSink({ clickhouse: tiers.clickhouse }), createVectorSink({ vector: tiers.vector })],
    publisher: createBusSink({ bus: tiers.bus }),
    settings: config.cdc,
    logger,
    onApplied: options.onApplied,
  });
  const jobs = createJobRunner({
    queue: createJobQueue({ db: tiers.postgres }),
    tiers,
    config,
    tables,
    workerId,
    logger,
    handlers: { ...createConsistencyHandlers({ onVerdict: (r) => metrics.verdict(r) }), ...options.jobHandlers },
    onFinished: (kind, outcome) => metrics.job(kind, outcome),
    validateIntervalMs: config.worker.validateIntervalMs,
  });
  const hotData = createHotDataKeeper({ tiers, logger, checkIntervalMs: config.worker.hotDataCheckMs });
  let running = false;
  let loop: Promise<void> | undefined;
  let listener: Listener | undefined;
  let pruneTimer: NodeJS.Timeout | undefined;
  let consecutiveOutages = 0;

  // Woken by NOTIFY (ordinary) and by a reopened LISTEN or stop() (urgent: they also end an
  // outage's back-off). A notification during a batch is remembered (lib/sleeper.ts).
  const sleeper = createSleeper();
  const sleep = sleeper.sleep;

  async function listen(): Promise<void> {
    if (!tiers.postgres.supportsNotify) return;
    try {
      listener = await tiers.postgres.listen({
        channels: ['cdc_change', JOBS_CHANNEL],
        onNotify: (channel) => (channel === JOBS_CHANNEL ? jobs.wake() : sleeper.wake()),
        // Notifications sent while the connection was down are lost: look for work now.
        onReconnect: () => {
          sleeper.wake(true);
          jobs.wake();
        },
      });
    } catch (error) {
      // Postgres is unreachable at start: polling covers it until a restart of the worker.
      logger.warn('LISTEN unavailable; polling only', { error });
    }
  }

  async function runBatch(): Promise<BatchOutcome | undefined> {
    try {
      const started = performance.now();
      const outcome = await processor.processBatch();
      metrics.batch(outcome, (performance.now() - started) / 1000);
      if (consecutiveOutages > 0) logger.info('tiers reachable again; applying changes', { after: consecutiveOutages });
      consecutiveOutages = 0;
      return outcome;
    } catch (error) {
      // A tier is down (or Postgres itself): nothing was marked; back off and try again.
      consecutiveOutages++;
      const delayMs = Math.max(
        config.cdc.pollIntervalMs,
        backoffDelayMs(
          { maxAttempts: 0, initialDelayMs: 100, maxDelayMs: MAX_OUTAGE_BACKOFF_MS, factor: 2 },
          consecutiveOutages,
        ),
      );
      if (consecutiveOutages === 1 || consecutiveOutages % 20 === 0) {
        logger.warn('batch not applied; retrying', { error, delayMs, attempt: consecutiveOutages });
      }
      // Not cut short by notifications (commits keep coming while a tier is down), only by recovery.
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

  metrics.collectFrom({
    listening: () => listener?.listening ?? false,
    rebuilds: () => {
      const s = hotData.status();
      return { redis: s.redisRebuilds, vector: s.vectorRebuilds };
    },
  });

  let stopping: Promise<void> | undefined;
  return {
    async start() {
      if (running) return;
      running = true;
      // A stopped worker may be started again (tests, an operator pausing it).
      stopping = undefined;
      await listen();
      pruneTimer = setInterval(() => void prune(), Math.min(PRUNE_EVERY_MS, Math.max(1_000, config.cdc.retentionMs)));
      pruneTimer.unref();
      loop = run();
      jobs.start();
      hotData.start();
      logger.info('sync worker started', {
        workerId,
        tables: tables.map((t) => t.name),
        notify: tiers.postgres.supportsNotify,
      });
    },
    stop() {
      // Idempotent: the batch in hand finishes (or rolls back), nothing is claimed after.
      stopping ??= (async () => {
        running = false;
        sleeper.wake(true);
        await loop;
        if (pruneTimer) clearInterval(pruneTimer);
        await jobs.stop();
        await hotData.stop();
        if (listener) {
          await tiers.postgres.query('DELETE FROM cdc.workers WHERE worker_id = $1', [workerId]).catch(() => {});
          await listener.close();
          listener = undefined;
        }
      })();
      return stopping;
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
    status() {
      return {
        workerId,
        running,
        listening: listener?.listening ?? false,
        listenReconnects: listener?.reconnects ?? 0,
        consecutiveOutages,
        hotData: hotData.status(),
      };
    },
  };
}
