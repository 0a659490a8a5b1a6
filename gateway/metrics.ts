/**
 * The gateway's metric families, on the process's registry (lib/metrics.ts), served as
 * Prometheus text on /metrics: operations by name and outcome with latency histograms,
 * rejections by kind (query limits, authorization, rate limits), and, read at scrape time, the
 * response cache's and the subscriptions' counters.
 */
import { Counter, Gauge, Histogram } from 'prom-client';
import { oncePerRegistry, type Metrics } from '../lib/metrics.ts';

/** Distinct operation names labelled; later ones count as "other" (clients choose names: keep the series bounded). */
const MAX_OPERATION_LABELS = 200;
const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** What the gateway records. */
export interface GatewayMetrics {
  /** One finished operation: `outcome` ok | error | cached | timeout. */
  observe(operation: string, outcome: string, startedMs: number): void;
  readonly rejections: Counter<'kind'>;
  readonly subscriptionEvents: Counter<'outcome'>;
  /** The size of one loader batch (keys sent to a tier in one statement). */
  loaderBatch(loader: string, keys: number): void;
  /** Read at scrape time. */
  collectFrom(source: {
    cache: () => Promise<Record<string, number>> | Record<string, number>;
    subscriptions: () => number;
    busLag: () => number;
  }): void;
}

/** Registers the gateway's families on `metrics.registry` (once per registry: tests run two gateways). */
export function createGatewayMetrics(metrics: Metrics): GatewayMetrics {
  return oncePerRegistry(metrics.registry, 'gateway', () => register(metrics));
}

function register(metrics: Metrics): GatewayMetrics {
  const registers = [metrics.registry];
  const operations = new Counter({
    name: 'graphql_operations_total',
    help: 'GraphQL operations by operation name and outcome (ok, error, cached, timeout)',
    labelNames: ['operation', 'outcome'] as const,
    registers,
  });
  const duration = new Histogram({
    name: 'graphql_operation_duration_seconds',
    help: 'Time to answer a GraphQL operation, by operation name and outcome',
    labelNames: ['operation', 'outcome'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const rejections = new Counter({
    name: 'graphql_rejections_total',
    help: 'Requests refused before execution, by kind (query limit codes, unauthenticated, forbidden, rate_limit, ...)',
    labelNames: ['kind'] as const,
    registers,
  });
  const subscriptionEvents = new Counter({
    name: 'graphql_subscription_events_total',
    help: 'Subscription events by outcome (delivered, coalesced, dropped)',
    labelNames: ['outcome'] as const,
    registers,
  });
  const batchSizes = new Histogram({
    name: 'loader_batch_size',
    help: 'Keys per DataLoader batch (one statement to its tier), by loader (tier.loader)',
    labelNames: ['loader'] as const,
    buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500],
    registers,
  });
  let source: Parameters<GatewayMetrics['collectFrom']>[0] | undefined;
  new Gauge({
    name: 'graphql_subscriptions_open',
    help: 'Open subscriptions',
    registers,
    collect() {
      if (source) this.set(source.subscriptions());
    },
  });
  new Gauge({
    name: 'bus_consumer_lag',
    help: 'Kafka messages this gateway received and has not yet handled (subscriptions, cache eviction)',
    registers,
    collect() {
      if (source) this.set(source.busLag());
    },
  });
  new Gauge({
    name: 'response_cache',
    help: 'Response cache: entries and bytes (deployment-wide), hits, misses, stores, evictions... (this instance, since start)',
    labelNames: ['measure'] as const,
    registers,
    async collect() {
      if (!source) return;
      for (const [measure, value] of Object.entries(await source.cache())) this.set({ measure }, value);
    },
  });
  const known = new Set<string>();
  const label = (operation: string) => {
    if (!NAME.test(operation)) return 'other';
    if (known.has(operation)) return operation;
    if (known.size >= MAX_OPERATION_LABELS) return 'other';
    known.add(operation);
    return operation;
  };
  return {
    observe(operation, outcome, startedMs) {
      const name = label(operation);
      operations.inc({ operation: name, outcome });
      duration.observe({ operation: name, outcome }, (performance.now() - startedMs) / 1000);
    },
    rejections,
    subscriptionEvents,
    loaderBatch(loader, keys) {
      batchSizes.observe({ loader }, keys);
    },
    collectFrom(from) {
      source = from;
    },
  };
}
