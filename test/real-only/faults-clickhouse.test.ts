/**
 * ClickHouse faults under a gateway and a sync worker at work. ClickHouse is chDB in this
 * process, so it cannot be stopped: its tables are taken away instead (RENAME TABLE, as an
 * operator's migration or a lost table would), and given back.
 *
 * What must hold: fields that need the missing tables answer TIER_UNAVAILABLE, never
 * INTERNAL_SERVER_ERROR, and the rest of the response is returned; the worker's batches fail
 * and are retried as an outage (nothing charged to the changes, nothing dead-lettered); and
 * everything recovers once the tables are back.
 *
 * Before stores/clickhouse.ts classified UNKNOWN_TABLE as a tier outage, clients got
 * INTERNAL_SERVER_ERROR, and the worker took the error for a poisoned change: it retried
 * each change CDC_MAX_ATTEMPTS times and dead-lettered it, losing it for ClickHouse.
 */
import { afterAll, beforeAll, expect, it, onTestFinished } from 'vitest';
import { firstOkAfter, startLoad, UNLIMITED_RATE, type Outcome } from '../faults/load.ts';
import { watchProcessErrors } from '../faults/process-errors.ts';
import { startStack, until, type GraphQLResult, type Stack } from '../stack.ts';

/** Public fields: the asset and the protocol from Postgres, the analytics from ClickHouse. */
const ANALYTICS = `query($p: ID!) {
  asset(id: "ETH") { name }
  protocol(id: $p) { name }
  protocolAnalytics(protocolId: $p) { protocol { name } totalVolumeUsd volume { day volumeUsd } }
}`;
const CANDLES = `{ asset(id: "ETH") { name } marketData(assetId: "ETH", interval: HOUR) { bucket close } }`;
/** Attempts before a failing change is dead-lettered, and the first retry delay: quick, so a misclassified outage shows. */
const MAX_ATTEMPTS = 3;
const RETRY_BASE_MS = 100;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const processErrors = watchProcessErrors();
let stack: Stack;
let protocolId: string;
let userId: string;

beforeAll(async () => {
  stack = await startStack({
    worker: true,
    env: { ...UNLIMITED_RATE, CDC_MAX_ATTEMPTS: String(MAX_ATTEMPTS), CDC_RETRY_BASE_MS: String(RETRY_BASE_MS) },
  });
  [{ id: protocolId }] = (await stack.tiers.postgres.query<{ id: string }>(
    'SELECT id FROM protocols ORDER BY id LIMIT 1',
  )) as [{ id: string }];
  userId = await stack.userId('demo');
});

afterAll(async () => {
  processErrors.dispose();
  // Whatever happened, the tables go back: later stacks of this process share them.
  await restoreTables().catch(() => {});
  await stack?.stop();
});

const TAKEN = [
  ['transactions', 'transactions_away'],
  ['candles_1h', 'candles_1h_away'],
] as const;
const takeTables = () =>
  stack.tiers.clickhouse.command(`RENAME TABLE ${TAKEN.map(([table, away]) => `${table} TO ${away}`).join(', ')}`);
async function restoreTables(): Promise<void> {
  const present = new Set(
    (
      await stack.tiers.clickhouse.query<{ name: string }>(
        'SELECT name FROM system.tables WHERE database = currentDatabase()',
      )
    ).map((t) => t.name),
  );
  const back = TAKEN.filter(([, away]) => present.has(away));
  if (back.length > 0)
    await stack.tiers.clickhouse.command(
      `RENAME TABLE ${back.map(([table, away]) => `${away} TO ${table}`).join(', ')}`,
    );
}

/** The change log rows of the transactions inserted under test. */
async function changesOf(ids: readonly string[]) {
  return stack.tiers.postgres.query<{ processed: boolean; dead_lettered: boolean; retry_count: number }>(
    `SELECT processed, dead_lettered, retry_count FROM cdc.change_log
      WHERE table_name = 'transaction_history' AND row_key = ANY($1::text[])`,
    [ids],
  );
}

it('answers ClickHouse fields with TIER_UNAVAILABLE beside the rest, retries the worker as an outage, and recovers', async () => {
  const analytics = () =>
    stack.post({ query: ANALYTICS, variables: { p: protocolId } }, { 'cache-control': 'no-cache' });
  const candles = () => stack.post({ query: CANDLES }, { 'cache-control': 'no-cache' });
  const baseline = (await analytics()).body;
  expect(baseline.errors).toBeUndefined();
  expect((await candles()).body.errors).toBeUndefined();

  // Every answer is kept, to check what came with its errors.
  const answers: Array<{ sent: number; query: 'analytics' | 'candles'; body: GraphQLResult }> = [];
  const keep = (query: 'analytics' | 'candles', run: typeof analytics) => async () => {
    const sent = performance.now();
    const res = await run();
    answers.push({ sent, query, body: res.body });
    return res;
  };
  const analyticsLoad = startLoad({ probe: keep('analytics', analytics), concurrency: 2, pauseMs: 20 });
  const candlesLoad = startLoad({ probe: keep('candles', candles), concurrency: 1, pauseMs: 20 });
  // A failed assertion must not leave the loads running: the stack could not stop under them.
  onTestFinished(async () => {
    await analyticsLoad.stop();
    await candlesLoad.stop();
  });
  await sleep(300);

  await takeTables();
  const taken = performance.now();
  const ids = (
    await stack.tiers.postgres.query<{ id: string }>(
      `INSERT INTO transaction_history (user_id, asset_id, protocol_id, type, amount, value_usd, occurred_at)
       SELECT $1, 'ETH', $2, 'SWAP', g, g * 100, now() - g * interval '1 minute' FROM generate_series(1, 10) g
       RETURNING id::text AS id`,
      [userId, protocolId],
    )
  ).map((r) => r.id);
  // Long enough for every retry of a misclassified failure: 100 + 200 ms of back-off, plus batches.
  await sleep(3_000);
  const duringOutage = await changesOf(ids);
  const outages = stack.worker!.status().consecutiveOutages;
  // Requests sent after the tables were gone (one sent before may still have read them).
  const during = (query: string) => answers.filter((a) => a.query === query && a.sent > taken);

  // Partial results: Postgres's fields are there, the ClickHouse field is null with a coded error.
  const partial = during('analytics');
  expect(partial.length).toBeGreaterThan(5);
  for (const { body } of partial) {
    expect(body.data).toMatchObject({
      asset: { name: 'Ether' },
      protocol: { name: baseline.data!['protocol'].name },
      protocolAnalytics: null,
    });
    // One error per failed field (volume, totalVolumeUsd), all under protocolAnalytics.
    expect(body.errors!.length).toBeGreaterThan(0);
    for (const error of body.errors!) {
      expect([error.path?.[0], error.extensions?.['code']]).toEqual(['protocolAnalytics', 'TIER_UNAVAILABLE']);
    }
  }
  // marketData (nullable, as every root field a tier's outage can fail) is null with its coded
  // error; the asset from Postgres beside it is served.
  const failedCandles = during('candles');
  expect(failedCandles.length).toBeGreaterThan(5);
  for (const { body } of failedCandles) {
    expect(body.data).toEqual({ asset: { name: 'Ether' }, marketData: null });
    expect(body.errors!.map((e) => [e.path?.[0], e.extensions?.['code']])).toEqual([
      ['marketData', 'TIER_UNAVAILABLE'],
    ]);
  }
  // The worker treats it as an outage: it retries whole batches, charging no change and dead-lettering none.
  // Backing off (capped exponential, full jitter), not spinning: at most one attempt per 100 ms.
  expect(outages).toBeGreaterThan(0);
  expect(outages).toBeLessThanOrEqual(30);
  expect(duringOutage).toEqual(ids.map(() => ({ processed: false, dead_lettered: false, retry_count: 0 })));

  await restoreTables();
  const restored = performance.now();
  await until('the transactions processed', async () => (await changesOf(ids)).every((c) => c.processed), 30_000);
  const drained = performance.now();
  await until('analytics answered', async () => (await analytics()).body.errors === undefined, 30_000);
  const analyticsTally = await analyticsLoad.stop();
  const candlesTally = await candlesLoad.stop();
  const replicated = await stack.tiers.clickhouse.query<{ n: string }>(
    `SELECT toString(count()) AS n FROM transactions FINAL WHERE id IN {ids:Array(UInt64)} AND _deleted = 0`,
    { ids: ids.map(Number) },
  );
  const outcomes: Outcome[] = [...analyticsLoad.outcomes, ...candlesLoad.outcomes];
  console.info('clickhouse tables taken away and back', {
    analytics: analyticsTally,
    candles: candlesTally,
    workerBatchAttemptsDuringOutage: outages,
    drainedAfterRestoreMs: Math.round(drained - restored),
    firstOkAfterRestoreMs: Math.round((firstOkAfter(analyticsLoad.outcomes, restored) ?? NaN) - restored),
  });

  expect(processErrors.errors).toEqual([]);
  expect(outcomes.filter((o) => o.status !== 200 || o.codes.some((c) => c !== 'TIER_UNAVAILABLE'))).toEqual([]);
  expect(await changesOf(ids)).toEqual(ids.map(() => ({ processed: true, dead_lettered: false, retry_count: 0 })));
  expect(replicated[0]!.n).toBe(String(ids.length));
  expect(stack.worker!.status().consecutiveOutages).toBe(0);
  expect((await analytics()).body.errors).toBeUndefined();
  expect((await candles()).body.errors).toBeUndefined();
});
