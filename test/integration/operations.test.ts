/**
 * What operators see: Prometheus metrics that move when operations run, log lines that carry
 * the request id and never a secret, and optional OpenTelemetry traces with a span per
 * operation and per tier call (the tier spans children of the operation's).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGateway, openRuntime } from '../../bin/runtime.ts';
import { loadConfig } from '../../lib/config.ts';
import { createLogger } from '../../lib/logger.ts';
import { runInScope } from '../../lib/request-scope.ts';
import { inSpan } from '../../lib/tracing.ts';
import { startStack, until, type Stack } from '../stack.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ worker: true });
});
afterAll(() => stack?.stop());

/** Parses the Prometheus text format: every sample line is `name{labels} value`. */
function parseMetrics(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (-?[0-9.eE+-]+|NaN|[+-]Inf)$/.exec(line);
    if (!match) throw new Error(`not Prometheus text: ${line}`);
    samples.set(match[1]!, Number(match[2]));
  }
  return samples;
}

const scrape = async () => parseMetrics(await (await fetch(new URL('/metrics', stack.url))).text());
const value = (samples: Map<string, number>, prefix: string) =>
  [...samples].filter(([k]) => k.startsWith(prefix)).reduce((n, [, v]) => n + v, 0);

describe('/metrics', () => {
  it('is Prometheus text whose counters move when operations run', async () => {
    const res = await fetch(new URL('/metrics', stack.url));
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const before = await scrape();
    const demo = await stack.as('demo');
    const q = `query DemoAssets { asset(id: "ETH") { name } }`;
    await demo.gql(q);
    await demo.gql(q);
    await stack.gql(`{ portfolio(userId: "1") { totalValueUsd } }`); // refused: anonymous
    const after = await scrape();
    expect(value(after, 'graphql_operations_total{operation="DemoAssets"')).toBe(
      value(before, 'graphql_operations_total{operation="DemoAssets"') + 2,
    );
    expect(value(after, 'graphql_operations_total{operation="DemoAssets",outcome="cached"}')).toBeGreaterThanOrEqual(1);
    expect(value(after, 'graphql_operation_duration_seconds_count{operation="DemoAssets"')).toBeGreaterThanOrEqual(2);
    expect(value(after, 'graphql_rejections_total')).toBeGreaterThan(value(before, 'graphql_rejections_total'));
    expect(after.get('response_cache{measure="hits"}')).toBeGreaterThanOrEqual(1);
    expect(after.has('graphql_subscriptions_open')).toBe(true);
    expect(after.has('bus_consumer_lag')).toBe(true);
    // The miss read the asset through its loader: one batch, statements counted per tier.
    expect(value(after, 'loader_batch_size_count{loader="postgres.assets"}')).toBe(
      value(before, 'loader_batch_size_count{loader="postgres.assets"}') + 1,
    );
    expect(value(after, 'tier_statements_total{tier="postgres"}')).toBeGreaterThan(
      value(before, 'tier_statements_total{tier="postgres"}'),
    );
    // The worker's families, in the same process here (npm start runs both).
    await stack.tiers.postgres.query(`UPDATE protocols SET tvl_usd = tvl_usd + 1 WHERE id = 'curve'`);
    const worker = await until('the change counted', async () => {
      const s = await scrape();
      return value(s, 'cdc_changes_total{outcome="processed"}') >= 1 && s;
    });
    expect(worker.has('cdc_table{table="protocols",measure="pending"}')).toBe(true);
    expect(worker.has('cdc_listening')).toBe(true);
  });
});

describe('logs', () => {
  it('carry the request id on every line of a request, and never a token, password or connection string', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'debug', namespace: 'probe', write: (l) => lines.push(l) });
    const token = await stack.token('demo');
    runInScope({ requestId: 'req-42' }, () => {
      logger.info('a line of the request');
      logger.child('deeper').warn('another, deeper', {
        authorization: `Bearer ${token}`,
        headers: { authorization: `Bearer ${token}` },
        password: 'hunter2',
        url: 'postgres://app:s3cret@db:5432/x',
        error: new Error(`failed with Bearer ${token} on redis://:s3cret@cache:6379`),
      });
    });
    logger.info('outside any request');
    expect(lines.map((l) => JSON.parse(l).requestId)).toEqual(['req-42', 'req-42', undefined]);
    const all = lines.join('\n');
    for (const secret of [token, token.split('.')[2]!, 'hunter2', 's3cret']) expect(all).not.toContain(secret);
    expect(all).toContain('[redacted]');
  });

  it('a masked error reaches the log with the request id the client got', async () => {
    const lines: string[] = [];
    const config = loadConfig({ ...envOf(stack), LOG_LEVEL: 'error' });
    const runtime = await openRuntime({ name: 'logprobe', config, logLevel: 'error' });
    // The runtime's own logger writes to stderr: a gateway on a capturing logger instead.
    const capturing = { ...runtime, logger: createLogger({ level: 'error', write: (l) => lines.push(l) }) };
    const gateway = await buildGateway(capturing);
    const { url } = await gateway.start();
    try {
      // A ClickHouse statement failure inside a resolver is unexpected: masked for the client, logged
      // with its id. (A missing table is the tier's state, TIER_UNAVAILABLE; a missing column is our bug.)
      await runtime.tiers.clickhouse.command('ALTER TABLE candles_1h RENAME COLUMN trades TO trades_away');
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': 'masked-1' },
        body: JSON.stringify({ query: `{ marketData(assetId: "ETH", interval: HOUR) { bucket } }` }),
      });
      const body = (await res.json()) as { errors: Array<{ extensions: Record<string, string> }> };
      expect(body.errors[0]!.extensions['requestId']).toBe('masked-1');
      const logged = lines.map((l) => JSON.parse(l)).filter((l) => l.requestId === 'masked-1');
      expect(logged.length).toBeGreaterThanOrEqual(1);
    } finally {
      await runtime.tiers.clickhouse
        .command('ALTER TABLE candles_1h RENAME COLUMN trades_away TO trades')
        .catch(() => {});
      await gateway.stop();
      await runtime.close();
    }
  });
});

describe('tracing (OpenTelemetry, OTLP over HTTP)', () => {
  it('exports a span per operation with the tier calls as its children, and puts the trace id in the logs', async () => {
    const received: unknown[] = [];
    const collector = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        if (req.url === '/v1/traces') received.push(JSON.parse(body));
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
    const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
    const lines: string[] = [];
    const config = loadConfig({ ...envOf(stack), OTEL_EXPORTER_OTLP_ENDPOINT: endpoint });
    const runtime = await openRuntime({ name: 'traced', config, logLevel: 'silent' });
    const gateway = await buildGateway({
      ...runtime,
      logger: createLogger({ level: 'info', write: (l) => lines.push(l) }),
    });
    const { url } = await gateway.start();
    try {
      const token = await stack.token('demo');
      const demoId = await stack.userId('demo');
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'cache-control': 'no-cache' },
        body: JSON.stringify({
          query: `query Traced($u: ID!) { portfolio(userId: $u) { holdings { asset { latestPrice } } } }`,
          variables: { u: demoId },
        }),
      });
      expect(res.status).toBe(200);
      // A line logged inside a span carries its trace id.
      await inSpan('probe', {}, async () =>
        createLogger({ level: 'info', write: (l) => lines.push(l) }).info('inside a span'),
      );
    } finally {
      await gateway.stop();
      await runtime.close(); // flushes the spans
      collector.close();
    }
    type Span = { name: string; traceId: string; spanId: string; parentSpanId?: string };
    const spans: Span[] = received.flatMap((r: any) =>
      r.resourceSpans.flatMap((rs: any) => rs.scopeSpans.flatMap((ss: any) => ss.spans as Span[])),
    );
    const operation = spans.find((s) => s.name === 'graphql query Traced');
    expect(operation, spans.map((s) => s.name).join(', ')).toBeDefined();
    const children = spans.filter((s) => s.traceId === operation!.traceId && s.spanId !== operation!.spanId);
    expect(children.some((s) => s.name === 'postgres query')).toBe(true);
    expect(children.some((s) => s.name.startsWith('redis '))).toBe(true);
    const probe = spans.find((s) => s.name === 'probe')!;
    const line = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'inside a span');
    expect(line.traceId).toBe(probe.traceId);
  });
});

/** The environment of a stack's config, to open a second runtime on the same tiers. */
function envOf(s: Stack): Record<string, string> {
  const c = s.config;
  const env: Record<string, string> = { PORT: '0', DATA_DIR: ':memory:', NODE_ENV: 'test', VALIDATE_INTERVAL_MS: '0' };
  if (c.auth.key.kind === 'secret') env['AUTH_JWT_SECRET'] = c.auth.key.secret;
  if (c.postgres.url) env['DATABASE_URL'] = c.postgres.url;
  if (c.redis.url) {
    env['REDIS_URL'] = c.redis.url;
    env['REDIS_KEY_PREFIX'] = c.redis.keyPrefix;
  }
  if (c.kafka.brokers) {
    env['KAFKA_BROKERS'] = c.kafka.brokers.join(',');
    env['KAFKA_TOPIC_PREFIX'] = c.kafka.topicPrefix;
  }
  return env;
}
