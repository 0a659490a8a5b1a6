/**
 * The worker's metric families (Prometheus, on the process's registry): changes processed,
 * failed and dead-lettered, batches and their sizes; and, read at scrape time from the change
 * log, pending changes, lag and throughput per table; jobs by kind and outcome; hot-data
 * rebuilds; whether the LISTEN connection is open.
 */
import { Counter, Gauge, Histogram } from 'prom-client';
import { cdcStats } from '../changelog/stats.ts';
import { oncePerRegistry, type Metrics } from '../lib/metrics.ts';
import type { Tiers } from '../stores/tiers.ts';

/** What the worker records. */
export interface WorkerMetrics {
  batch(outcome: { claimed: number; processed: number; failed: number; deadLettered: number }, seconds: number): void;
  job(kind: string, outcome: 'succeeded' | 'failed'): void;
  /** A validation's verdict, overall and per table (1 valid, 0 drift). */
  verdict(report: { isValid: boolean; tables: ReadonlyArray<{ table: string; isValid: boolean }> }): void;
  /** Read at scrape time. */
  collectFrom(source: { listening: () => boolean; rebuilds: () => { redis: number; vector: number } }): void;
}

/** Registers the worker's families on `metrics.registry` (once per registry: tests run several workers). */
export function createWorkerMetrics(metrics: Metrics, tiers: Tiers): WorkerMetrics {
  return oncePerRegistry(metrics.registry, 'worker', () => register(metrics, tiers));
}

function register(metrics: Metrics, tiers: Tiers): WorkerMetrics {
  const registers = [metrics.registry];
  const changes = new Counter({
    name: 'cdc_changes_total',
    help: 'Captured changes handled by this worker, by outcome (processed, failed, dead_lettered)',
    labelNames: ['outcome'] as const,
    registers,
  });
  const batchSize = new Histogram({
    name: 'cdc_batch_size',
    help: 'Changes claimed per batch',
    buckets: [1, 5, 10, 50, 100, 250, 500, 1000, 5000],
    registers,
  });
  const batchSeconds = new Histogram({
    name: 'cdc_batch_duration_seconds',
    help: 'Time to claim, apply to every sink and mark one batch',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const jobs = new Counter({
    name: 'jobs_total',
    help: 'Jobs run by this worker, by kind and outcome',
    labelNames: ['kind', 'outcome'] as const,
    registers,
  });
  const verdicts = new Gauge({
    name: 'consistency_valid',
    help: 'The latest consistency validation: 1 valid, 0 drift; scope "all" or a table',
    labelNames: ['scope'] as const,
    registers,
  });
  let source: Parameters<WorkerMetrics['collectFrom']>[0] | undefined;
  new Gauge({
    name: 'cdc_listening',
    help: '1 while the LISTEN connection is open (0 on embedded Postgres, which polls)',
    registers,
    collect() {
      if (source) this.set(source.listening() ? 1 : 0);
    },
  });
  new Gauge({
    name: 'hot_data_rebuilds_total',
    help: 'Rebuilds of derived hot data that a tier had lost, by tier',
    labelNames: ['tier'] as const,
    registers,
    collect() {
      if (!source) return;
      const r = source.rebuilds();
      this.set({ tier: 'redis' }, r.redis);
      this.set({ tier: 'vector' }, r.vector);
    },
  });
  new Gauge({
    name: 'cdc_table',
    help: 'Per captured table, from the change log: pending, failed, dead_lettered, lag_seconds, changes_per_second',
    labelNames: ['table', 'measure'] as const,
    registers,
    async collect() {
      const stats = await cdcStats(tiers).catch(() => undefined);
      if (!stats) return;
      for (const t of stats.tables) {
        this.set({ table: t.table, measure: 'pending' }, t.pending);
        this.set({ table: t.table, measure: 'failed' }, t.failed);
        this.set({ table: t.table, measure: 'dead_lettered' }, t.deadLettered);
        this.set({ table: t.table, measure: 'lag_seconds' }, t.oldestPendingAgeMs / 1000);
        this.set({ table: t.table, measure: 'changes_per_second' }, t.changesPerSecond);
      }
    },
  });
  const created: WorkerMetrics = {
    batch(outcome, seconds) {
      if (outcome.claimed === 0) return;
      batchSize.observe(outcome.claimed);
      batchSeconds.observe(seconds);
      changes.inc({ outcome: 'processed' }, outcome.processed);
      if (outcome.failed) changes.inc({ outcome: 'failed' }, outcome.failed);
      if (outcome.deadLettered) changes.inc({ outcome: 'dead_lettered' }, outcome.deadLettered);
    },
    job(kind, outcome) {
      jobs.inc({ kind, outcome });
    },
    verdict(report) {
      verdicts.set({ scope: 'all' }, report.isValid ? 1 : 0);
      for (const t of report.tables) verdicts.set({ scope: t.table }, t.isValid ? 1 : 0);
    },
    collectFrom(from) {
      source = from;
    },
  };
  return created;
}
