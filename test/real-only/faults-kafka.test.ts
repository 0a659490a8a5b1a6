/**
 * Kafka faults under a gateway and a sync worker at work, on a throwaway broker
 * (test/faults/kafka.ts): stopped, then started again with its data.
 *
 * What must hold: queries keep being answered (Kafka is not on the read path); the worker's
 * publishes fail, so it backs off and the change log keeps every change committed meanwhile
 * (the outbox: nothing charged, nothing dead-lettered); when the broker is back the worker
 * publishes the backlog, the gateway's consumer resumes, and subscribers receive every event
 * committed during the outage (they were never published before, so nothing is skipped: the
 * hub's consumer resumes from its committed offsets), then live ones; and the response cache is
 * evicted by those events again.
 */
import { createClient, type Client as WsClient } from 'graphql-ws';
import { afterAll, beforeAll, expect, it, onTestFinished } from 'vitest';
import WebSocket from 'ws';
import { startThrowawayKafka, type ThrowawayKafka } from '../faults/kafka.ts';
import { startLoad, UNLIMITED_RATE, type Probe } from '../faults/load.ts';
import { watchProcessErrors } from '../faults/process-errors.ts';
import { startStack, until, type Client, type Stack } from '../stack.ts';

const TX_SUB = `subscription($u: ID!) { transactionRecorded(userId: $u) { sequence operation transaction { id amount } } }`;
const PORTFOLIO = `query($u: ID!) { portfolio(userId: $u) { holdings { id quantity } } }`;
/** Transactions committed while the broker is down. */
const DURING_OUTAGE = 10;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const processErrors = watchProcessErrors();
let broker: ThrowawayKafka;
let stack: Stack;
let ws: WsClient;
let user: Client;
let userId: string;
let holdingId: string;

beforeAll(async () => {
  broker = await startThrowawayKafka();
  stack = await startStack({ worker: true, overrides: { kafka: { brokers: broker.brokers } }, env: UNLIMITED_RATE });
  expect(stack.config.kafka.brokers).toEqual(broker.brokers);
  user = await stack.as('user03');
  userId = await stack.userId('user03');
  [{ id: holdingId }] = (await stack.tiers.postgres.query<{ id: string }>(
    'SELECT id::text AS id FROM portfolio_holdings WHERE user_id = $1 ORDER BY id LIMIT 1',
    [userId],
  )) as [{ id: string }];
  const token = await stack.token('user03');
  ws = createClient({
    url: stack.url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    lazy: false,
    retryAttempts: 0,
    onNonLazyError: () => {},
    connectionParams: { authorization: `Bearer ${token}` },
  });
});

afterAll(async () => {
  processErrors.dispose();
  await ws?.dispose();
  await stack?.stop();
  await broker?.destroy();
});

/** Commits a transaction of the user with plain SQL; resolves with its id. */
async function insertTransaction(amount: number): Promise<string> {
  const [row] = await stack.tiers.postgres.query<{ id: string }>(
    `INSERT INTO transaction_history (user_id, asset_id, type, amount) VALUES ($1, 'ETH', 'DEPOSIT', $2) RETURNING id::text AS id`,
    [userId, amount],
  );
  return row!.id;
}

/** The change log rows of some transactions. */
const changesOf = (ids: readonly string[]) =>
  stack.tiers.postgres.query<{ processed: boolean; dead_lettered: boolean; retry_count: number }>(
    `SELECT processed, dead_lettered, retry_count FROM cdc.change_log
      WHERE table_name = 'transaction_history' AND row_key = ANY($1::text[]) ORDER BY seq`,
    [ids],
  );

const subscriptions = async () =>
  ((await (await fetch(new URL('/readyz', stack.url))).json()) as { subscriptions: number }).subscriptions;

it('keeps answering while the broker is down, holds the backlog, and delivers every event once it is back', async () => {
  const worker = stack.worker!;
  const received: Array<{ at: number; id: string }> = [];
  const errors: unknown[] = [];
  const unsubscribe = ws.subscribe<{ transactionRecorded: { transaction: { id: string } } }>(
    { query: TX_SUB, variables: { u: userId } },
    {
      next: (v) =>
        v.errors
          ? errors.push(v.errors)
          : received.push({ at: performance.now(), id: v.data!.transactionRecorded.transaction.id }),
      error: (e) => errors.push(e),
      complete: () => {},
    },
  );
  onTestFinished(() => unsubscribe());
  await until('the subscription', async () => (await subscriptions()) === 1);
  const first = await insertTransaction(1);
  await until('the first event', () => received.some((r) => r.id === first));

  // A cached portfolio, to be evicted by an event once the broker is back.
  const portfolio: Probe = () => user.post({ query: PORTFOLIO, variables: { u: userId } });
  const quantityIn = (body: { data?: any }) =>
    body.data?.portfolio.holdings.find((h: { id: string }) => h.id === holdingId)?.quantity;
  await until(
    'the portfolio cached',
    async () => (await user.post({ query: PORTFOLIO, variables: { u: userId } })).headers.get('x-cache') === 'HIT',
  );
  const load = startLoad({ probe: portfolio, concurrency: 2, pauseMs: 20 });
  const uncached = startLoad({
    probe: () => user.post({ query: PORTFOLIO, variables: { u: userId } }, { 'cache-control': 'no-cache' }),
    concurrency: 1,
    pauseMs: 50,
  });
  onTestFinished(async () => {
    await load.stop();
    await uncached.stop();
  });

  await broker.stop();
  const stopped = performance.now();
  // The broker back, whatever failed: the stack's stop disconnects from it (start is idempotent).
  onTestFinished(() => broker.start());
  let attempts = 0;
  const sampler = setInterval(() => (attempts = Math.max(attempts, worker.status().consecutiveOutages)), 20);
  onTestFinished(() => clearInterval(sampler));
  const duringOutage: string[] = [];
  for (let i = 0; i < DURING_OUTAGE; i++) duringOutage.push(await insertTransaction(100 + i));
  await stack.tiers.postgres.query(`UPDATE portfolio_holdings SET quantity = '4242' WHERE id = $1`, [holdingId]);
  const readiness = await fetch(new URL('/readyz', stack.url));
  const kafkaHealth = ((await readiness.json()) as { tiers: Record<string, { status: string }> }).tiers['kafka'];
  // Long enough for the worker's first publish to give up (kafkajs retries for ~10-20 s) and back off.
  await until('the worker to back off', () => worker.status().consecutiveOutages > 0, 60_000);
  const gaveUp = performance.now();
  await sleep(2_000);
  const held = await changesOf(duringOutage);
  const deliveredDuringOutage = received.filter((r) => r.at > stopped).length;

  // The broker answers some time before start() resolves (it waits until a topic can be
  // created): recovery is measured from both ends.
  const starting = performance.now();
  await broker.start();
  const started = performance.now();
  const outageMs = started - stopped;
  // When the worker got its backlog out (published and marked), apart from when it reached the client.
  const published = until(
    'the backlog published',
    async () => (await changesOf(duringOutage)).every((c) => c.processed) && performance.now(),
    90_000,
  );
  await until('every event of the outage', () => duringOutage.every((id) => received.some((r) => r.id === id)), 90_000);
  const allDelivered = performance.now();
  const publishedAt = await published;
  const firstDelivered = Math.min(...received.filter((r) => duringOutage.includes(r.id)).map((r) => r.at));
  await until('the cached portfolio evicted', async () => quantityIn((await portfolio()).body) === '4242', 30_000);
  const evicted = performance.now();
  clearInterval(sampler);

  // Live again: commit → event, and commit → cached answer evicted.
  const latencies: number[] = [];
  for (let i = 0; i < 5; i++) {
    const committed = performance.now();
    const id = await insertTransaction(1_000 + i);
    await until('a live event', () => received.some((r) => r.id === id), 30_000);
    latencies.push(Math.round(performance.now() - committed));
  }
  await stack.tiers.postgres.query(`UPDATE portfolio_holdings SET quantity = '4343' WHERE id = $1`, [holdingId]);
  const updated = performance.now();
  await until('the cache evicted again', async () => quantityIn((await portfolio()).body) === '4343', 30_000);
  const evictedAgain = performance.now();
  const tally = await load.stop();
  const tallyUncached = await uncached.stop();

  const ids = received.map((r) => r.id);
  console.info('kafka broker stopped and started', {
    outageMs: Math.round(outageMs),
    cachedRequests: tally,
    uncachedRequests: tallyUncached,
    readinessDuringOutage: { status: readiness.status, kafka: kafkaHealth?.status },
    workerBatchAttemptsDuringOutage: attempts,
    firstPublishFailedAfterMs: Math.round(gaveUp - stopped),
    backlogDuringOutage: held.length,
    brokerStartTookMs: Math.round(started - starting),
    brokerBackToBacklogPublishedMs: Math.round(publishedAt - started),
    brokerBackToFirstEventMs: Math.round(firstDelivered - started),
    brokerBackToAllEventsMs: Math.round(allDelivered - started),
    brokerBackToCacheEvictedMs: Math.round(evicted - started),
    liveEventLatencyAfterMs: latencies,
    liveEvictionAfterMs: Math.round(evictedAgain - updated),
    eventsReceived: received.length,
    repeats: ids.length - new Set(ids).size,
  });

  expect(processErrors.errors).toEqual([]);
  expect(errors).toEqual([]);
  // Reads never need Kafka: not one error.
  expect(tally.ok).toBe(tally.total);
  expect(tallyUncached.ok).toBe(tallyUncached.total);
  expect(readiness.status).toBe(503);
  expect(kafkaHealth?.status).toBe('down');
  // The outbox held every change, charged none; nothing was delivered while the broker was down.
  expect(held).toEqual(duringOutage.map(() => ({ processed: false, dead_lettered: false, retry_count: 0 })));
  expect(deliveredDuringOutage).toBe(0);
  // Backing off, not spinning: at most one attempt per 500 ms of outage.
  expect(attempts).toBeLessThanOrEqual(Math.ceil(outageMs / 500) + 1);
  // Every event of the outage, each once (the hub drops repeats). Kafka orders a row's events,
  // not different rows' (they may be on different partitions): compared as sets.
  expect(ids.filter((id) => duringOutage.includes(id)).sort()).toEqual([...duringOutage].sort());
  expect(new Set(ids).size).toBe(ids.length);
  expect(await changesOf(duringOutage)).toEqual(
    duringOutage.map(() => ({ processed: true, dead_lettered: false, retry_count: 0 })),
  );
  expect(worker.status().consecutiveOutages).toBe(0);
});
