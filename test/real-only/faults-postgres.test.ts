/**
 * Postgres faults under a gateway and a sync worker at work, on a throwaway server
 * (test/faults/postgres.ts): every backend of the stack's database terminated twice a second
 * for 5 s, and the server stopped (fast, then immediate) and started again. Throughout,
 * clients read their portfolios and plain-SQL updates commit every 20 ms. Then statements
 * cancelled by the server, and the LISTEN connection lost while it is being reopened.
 *
 * What must hold: the process never sees an unhandled error; a request that fails says
 * TIER_UNAVAILABLE (never INTERNAL_SERVER_ERROR or a 500); public data that needs no Postgres
 * keeps being served; the worker backs off instead of spinning, reopens its LISTEN connection
 * by itself, loses no committed change and charges none to the outage; and afterwards a commit
 * reaches ClickHouse by NOTIFY, not by the fallback poll.
 *
 * The poll is set to POLL_MS (3 s) here so the two are told apart: by NOTIFY a change is in
 * ClickHouse within tens of milliseconds; by the poll, uniformly within 0-3 s (median 1.5 s).
 * Before LISTEN was reopened after a lost connection, every change after the first fault
 * waited for the poll, and this test's freshness check failed.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { JOBS_CHANNEL } from '../../jobs/queue.ts';
import {
  attempt,
  firstOkAfter,
  startLoad,
  summarize,
  UNLIMITED_RATE,
  type Outcome,
  type Probe,
} from '../faults/load.ts';
import { startThrowawayPostgres, type PostgresStopMode, type ThrowawayPostgres } from '../faults/postgres.ts';
import { startPostgresProxy, type PostgresProxy } from '../faults/postgres-proxy.ts';
import { watchProcessErrors } from '../faults/process-errors.ts';
import { startStack, until, type Stack } from '../stack.ts';

const POLL_MS = 3_000;
const PORTFOLIO = `query($u: ID!) { portfolio(userId: $u) { totalValueUsd holdings { id quantity asset { symbol } } } }`;
const MARKET = `{ marketData(assetId: "ETH", interval: HOUR) { bucket close } }`;
/** Portfolios are read by their owners. */
const READERS = ['demo', 'whale', 'user01', 'user02'];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const processErrors = watchProcessErrors();
let server: ThrowawayPostgres;
let database: string;
let stack: Stack;
/** The plain-SQL writer: its own pool, whose connections are terminated too. */
let writer: pg.Pool;
/** Holdings of the demo user, updated round-robin. */
let holdings: string[];
let readPortfolio: Probe;
let readMarket: Probe;

beforeAll(async () => {
  server = await startThrowawayPostgres();
  const url = await server.createDatabase();
  database = decodeURIComponent(new URL(url).pathname.slice(1));
  // DATABASE_URL in `env` would lose to the stack's own database; an override wins over both.
  stack = await startStack({
    worker: true,
    overrides: { postgres: { url } },
    env: { ...UNLIMITED_RATE, CDC_POLL_INTERVAL_MS: String(POLL_MS) },
  });
  expect(stack.config.postgres.url).toBe(url);
  writer = new pg.Pool({ connectionString: url, max: 2 });
  // Its idle connections are terminated with the others: without a listener that would crash us.
  writer.on('error', () => {});
  holdings = (
    await writer.query<{ id: string }>(
      `SELECT h.id::text AS id FROM portfolio_holdings h JOIN users u ON u.id = h.user_id
        WHERE u.handle = 'demo' ORDER BY h.id LIMIT 6`,
    )
  ).rows.map((r) => r.id);
  const readers = await Promise.all(
    READERS.map(async (handle) => ({ client: await stack.as(handle), userId: await stack.userId(handle) })),
  );
  let next = 0;
  readPortfolio = () => {
    const { client, userId } = readers[next++ % readers.length]!;
    // no-cache: every read reaches Postgres, as a cold cache would.
    return client.post({ query: PORTFOLIO, variables: { u: userId } }, { 'cache-control': 'no-cache' });
  };
  readMarket = () => stack.post({ query: MARKET }, { 'cache-control': 'no-cache' });
  // Warm: every reader's first answer (and its token's user check) before any fault.
  for (let i = 0; i < READERS.length; i++) expect((await attempt(readPortfolio)).ok).toBe(true);
});

afterAll(async () => {
  processErrors.dispose();
  await writer?.end().catch(() => {});
  await stack?.stop();
  await server?.destroy();
});

/** Plain-SQL updates every 20 ms; remembers the transaction id of each acknowledged commit. */
function startWriter() {
  const acknowledged: string[] = [];
  let failed = 0;
  let running = true;
  let i = 0;
  const loop = (async () => {
    while (running) {
      try {
        const { rows } = await writer.query<{ tx: string }>(
          'UPDATE portfolio_holdings SET quantity = quantity + 1 WHERE id = $1 RETURNING txid_current()::text AS tx',
          [holdings[i++ % holdings.length]],
        );
        acknowledged.push(rows[0]!.tx);
      } catch {
        // Refused or cut off: not acknowledged, so not counted (it may still have committed).
        failed++;
      }
      await sleep(20);
    }
  })();
  return {
    acknowledged,
    get failed() {
      return failed;
    },
    async stop() {
      running = false;
      await loop;
    },
  };
}

/** Every change captured and nothing left: none pending, none dead-lettered, none charged a retry. */
async function changeLog() {
  const { rows } = await writer.query<{ pending: number; dead: number; retries: number }>(
    `SELECT count(*) FILTER (WHERE NOT processed)::int AS pending, count(*) FILTER (WHERE dead_lettered)::int AS dead,
            coalesce(sum(retry_count), 0)::int AS retries
       FROM cdc.change_log`,
  );
  return rows[0]!;
}

/**
 * Every acknowledged commit was processed and reached ClickHouse: its change is marked
 * processed, its activity row exists (keyed by the change's sequence), and each holding's
 * replica shows the quantity Postgres has.
 */
async function expectAllApplied(transactions: readonly string[]): Promise<void> {
  const { rows } = await writer.query<{ seq: string; processed: boolean }>(
    `SELECT seq::text AS seq, processed FROM cdc.change_log WHERE transaction_id = ANY($1::text[])`,
    [transactions],
  );
  expect(rows).toHaveLength(transactions.length);
  expect(rows.filter((r) => !r.processed)).toEqual([]);
  const seqs = rows.map((r) => r.seq);
  const inClickhouse = await stack.tiers.clickhouse.query<{ seq: string }>(
    `SELECT DISTINCT toString(change_seq) AS seq FROM user_activity WHERE change_seq IN {seqs:Array(UInt64)}`,
    { seqs: seqs.map(Number) },
  );
  expect(inClickhouse).toHaveLength(seqs.length);
  const source = (
    await writer.query<{ id: string; quantity: string }>(
      'SELECT id::text AS id, quantity::text AS quantity FROM portfolio_holdings WHERE id = ANY($1::bigint[]) ORDER BY id',
      [holdings],
    )
  ).rows;
  const replica = await stack.tiers.clickhouse.query<{ id: string; quantity: string }>(
    `SELECT toString(id) AS id, toString(quantity) AS quantity FROM portfolio_holdings FINAL
      WHERE id IN {ids:Array(UInt64)} AND _deleted = 0 ORDER BY id`,
    { ids: holdings.map(Number) },
  );
  expect(replica.map((r) => [r.id, Number(r.quantity)])).toEqual(source.map((r) => [r.id, Number(r.quantity)]));
}

/**
 * Commit → visible in ClickHouse, for `samples` single updates made one at a time on an idle
 * worker (each waits for the previous one to be visible, then a short random pause).
 */
let nextQuantity = 900_000;
async function freshness(samples = 10): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < samples; i++) {
    const id = holdings[i % holdings.length]!;
    const quantity = String(nextQuantity++);
    await writer.query('UPDATE portfolio_holdings SET quantity = $2 WHERE id = $1', [id, quantity]);
    const committed = performance.now();
    await until(
      'the change in ClickHouse',
      async () =>
        (
          await stack.tiers.clickhouse.query<{ n: string }>(
            `SELECT toString(count()) AS n FROM portfolio_holdings FINAL
              WHERE id = {id:UInt64} AND quantity = {q:Decimal(38, 18)} AND _deleted = 0`,
            { id, q: quantity },
          )
        )[0]?.n === '1',
      15_000,
    );
    out.push(performance.now() - committed);
    await sleep(100 + Math.random() * 100);
  }
  return out;
}

/** Failed requests said TIER_UNAVAILABLE, with a 200 (partial) or a 503: never a 500 or an unmasked code. */
function expectOnlyCodedFailures(outcomes: readonly Outcome[]): void {
  const bad = outcomes.filter(
    (o) => !o.ok && (![200, 503].includes(o.status) || o.codes.some((code) => code !== 'TIER_UNAVAILABLE')),
  );
  expect(bad.slice(0, 5)).toEqual([]);
}

it('survives every connection being terminated, loses no change, and is fresh by NOTIFY afterwards', async () => {
  const worker = stack.worker!;
  expect(worker.status()).toMatchObject({ listening: true, listenReconnects: 0 });
  const load = startLoad({ probe: readPortfolio, concurrency: 4 });
  const writes = startWriter();
  // A failed assertion must not leave them running: the stack could not stop under them.
  onTestFinished(async () => {
    await writes.stop();
    await load.stop();
  });
  await sleep(500);

  const stormStarted = performance.now();
  const terminated: number[] = [];
  while (performance.now() - stormStarted < 5_000) {
    terminated.push(await server.terminateConnections(database));
    await sleep(500);
  }
  const stormEnded = performance.now();
  await sleep(1_000);
  await writes.stop();
  const tally = await load.stop();

  const listening = await until('LISTEN reopened', () => worker.status().listening && performance.now(), 20_000);
  await until('the change log drained', async () => (await changeLog()).pending === 0, 30_000);
  const drained = performance.now();
  expect(await changeLog()).toEqual({ pending: 0, dead: 0, retries: 0 });
  await expectAllApplied(writes.acknowledged);

  const fresh = summarize(await freshness());
  const status = worker.status();
  console.info('postgres terminate storm', {
    terminatedPerRound: terminated,
    requests: tally,
    writes: { acknowledged: writes.acknowledged.length, refused: writes.failed },
    firstOkAfterStormMs: Math.round((firstOkAfter(load.outcomes, stormEnded) ?? NaN) - stormEnded),
    listeningAgainAfterStormMs: Math.round(listening - stormEnded),
    drainedAfterStormMs: Math.round(drained - stormEnded),
    listenReconnects: status.listenReconnects,
    freshnessAfter: fresh,
  });

  expect(processErrors.errors).toEqual([]);
  expect(terminated.some((n) => n > 0)).toBe(true);
  // Clients did notice (the storm hit their queries), and every failure was coded.
  expect(tally.byCode['TIER_UNAVAILABLE'] ?? 0).toBeGreaterThan(0);
  expectOnlyCodedFailures(load.outcomes);
  expect(load.outcomes.slice(-4).every((o) => o.ok)).toBe(true);
  expect(status).toMatchObject({ listening: true, consecutiveOutages: 0 });
  expect(status.listenReconnects).toBeGreaterThanOrEqual(1);
  expect(writes.acknowledged.length).toBeGreaterThan(50);
  // By NOTIFY: a poll would put the median near POLL_MS / 2.
  expect(fresh.medianMs).toBeLessThan(POLL_MS / 4);
  expect(fresh.maxMs).toBeLessThan(POLL_MS);
});

async function restart(mode: PostgresStopMode) {
  const worker = stack.worker!;
  const reconnectsBefore = worker.status().listenReconnects;
  const load = startLoad({ probe: readPortfolio, concurrency: 3 });
  const market = startLoad({ probe: readMarket, concurrency: 1, pauseMs: 50 });
  onTestFinished(async () => {
    await load.stop();
    await market.stop();
  });
  await sleep(500);

  await server.stop(mode);
  const stopped = performance.now();
  let attempts = 0;
  const sampler = setInterval(() => (attempts = Math.max(attempts, worker.status().consecutiveOutages)), 20);
  onTestFinished(async () => {
    clearInterval(sampler);
    // The server back, whatever failed: the next test and afterAll need it.
    await server.start().catch(() => {});
  });
  await sleep(1_000);
  const readiness = await fetch(new URL('/readyz', stack.url));
  const readinessBody = (await readiness.json()) as { tiers: Record<string, { status: string }> };
  await sleep(3_000);
  const marketDuringOutage = market.outcomes.filter((o) => o.at > stopped);

  await server.start();
  const started = performance.now();
  const outageMs = started - stopped;
  // Committed the moment the server is back, before the worker or the gateway reconnect.
  const backlog: string[] = [];
  for (let i = 0; i < 20; i++) {
    const { rows } = await writer.query<{ tx: string }>(
      'UPDATE portfolio_holdings SET quantity = quantity + 1 WHERE id = $1 RETURNING txid_current()::text AS tx',
      [holdings[i % holdings.length]],
    );
    backlog.push(rows[0]!.tx);
  }
  await until('the change log drained', async () => (await changeLog()).pending === 0, 30_000);
  const drained = performance.now();
  clearInterval(sampler);
  const listening = await until(
    'LISTEN reopened',
    () => worker.status().listening && worker.status().listenReconnects > reconnectsBefore && performance.now(),
    20_000,
  );
  await until('a portfolio answered', async () => (await attempt(readPortfolio)).ok, 20_000);
  const tally = await load.stop();
  const marketTally = await market.stop();
  expect(await changeLog()).toEqual({ pending: 0, dead: 0, retries: 0 });
  await expectAllApplied(backlog);
  const fresh = summarize(await freshness());
  console.info(`postgres stop (${mode}) and start`, {
    outageMs: Math.round(outageMs),
    requests: tally,
    marketDataDuringOutage: { total: marketDuringOutage.length, ok: marketDuringOutage.filter((o) => o.ok).length },
    readinessDuringOutage: { status: readiness.status, postgres: readinessBody.tiers['postgres']?.status },
    workerBatchAttemptsDuringOutage: attempts,
    firstOkAfterStartMs: Math.round((firstOkAfter(load.outcomes, started) ?? NaN) - started),
    backlogDrainedAfterStartMs: Math.round(drained - started),
    listeningAgainAfterStartMs: Math.round(listening - started),
    freshnessAfter: fresh,
  });

  expect(processErrors.errors).toEqual([]);
  expect(tally.byCode['TIER_UNAVAILABLE'] ?? 0).toBeGreaterThan(0);
  expectOnlyCodedFailures(load.outcomes);
  // Candles come from ClickHouse: an anonymous reader needs no Postgres at all.
  expect(marketDuringOutage.length).toBeGreaterThan(10);
  expect(marketTally.ok).toBe(marketTally.total);
  expect(readiness.status).toBe(503);
  expect(readinessBody.tiers['postgres']?.status).toBe('down');
  // Backing off: at most one batch attempt per 500 ms (a refused connection fails in
  // microseconds, so a loop without back-off makes thousands).
  expect(attempts).toBeGreaterThan(0);
  expect(attempts).toBeLessThanOrEqual(Math.ceil(outageMs / 500) + 1);
  expect(worker.status()).toMatchObject({ listening: true, consecutiveOutages: 0 });
  expect(fresh.medianMs).toBeLessThan(POLL_MS / 4);
  expect(fresh.maxMs).toBeLessThan(POLL_MS);
}

it('answers coded errors while the server is stopped (fast) and recovers by itself when it starts', () =>
  restart('fast'));

it('recovers the same way from a crash (immediate stop, WAL recovery at start)', () => restart('immediate'));

/**
 * The server cancels statements (SQLSTATE 57014): the statement timeout expires on a table an
 * operator or a migration holds locked, or an operator cancels them (pg_cancel_backend, used
 * here because it is quick). Before stores/postgres.ts classified 57014, clients got
 * INTERNAL_SERVER_ERROR for it.
 */
it('answers TIER_UNAVAILABLE for statements the server cancels', async () => {
  const locker = await writer.connect();
  let cancelled = 0;
  let answers: Outcome[] = [];
  try {
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE portfolio_holdings IN ACCESS EXCLUSIVE MODE');
    const pending = Array.from({ length: 3 }, () => attempt(readPortfolio));
    await until(
      'the reads to wait on the lock',
      async () =>
        (
          await writer.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
          )
        ).rows[0]!.n >= 3,
    );
    cancelled = (
      await writer.query<{ n: number }>(
        `SELECT count(*) FILTER (WHERE pg_cancel_backend(pid))::int AS n
           FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      )
    ).rows[0]!.n;
    answers = await Promise.all(pending);
  } finally {
    await locker.query('ROLLBACK').catch(() => {});
    locker.release();
  }
  console.info('postgres statements cancelled', {
    cancelled,
    answers: answers.map((o) => `${o.status} ${o.codes.join(',')}`),
  });
  expect(cancelled).toBeGreaterThanOrEqual(3);
  expect(answers.map((o) => [o.status, o.codes])).toEqual(answers.map(() => [200, ['TIER_UNAVAILABLE']]));
  expect((await attempt(readPortfolio)).ok).toBe(true);
});

/**
 * The LISTEN connection dies just as its LISTEN is answered, while the worker is reopening it:
 * the answer and the server's FATAL come in one read, so pg reports the lost connection
 * before the LISTEN query resolves. On a loaded machine that happens by itself during a
 * termination storm (the first test failed about one run in five); the proxy
 * (test/faults/postgres-proxy.ts) makes it happen every time, on a stack of its own.
 * Before stores/postgres.ts checked for it, the reopen loop took the resolved LISTEN for
 * success, the loss it had just seen was dropped (a reopen was already "in progress"), and
 * the worker never listened again: every change waited for the fallback poll.
 */
describe('a LISTEN connection lost while it is being reopened', () => {
  let proxy: PostgresProxy;
  let proxied: Stack;
  let proxiedDatabase: string;

  beforeAll(async () => {
    proxy = await startPostgresProxy({ host: '127.0.0.1', port: server.port });
    const direct = await server.createDatabase();
    proxiedDatabase = decodeURIComponent(new URL(direct).pathname.slice(1));
    proxied = await startStack({
      worker: true,
      overrides: { postgres: { url: proxy.urlFor(direct) } },
      env: { CDC_POLL_INTERVAL_MS: String(POLL_MS) },
    });
  });

  afterAll(async () => {
    await proxied?.stop();
    await proxy?.close();
  });

  /** Terminates the backends of the proxied database whose last statement matches `pattern`, or `pid`. */
  const terminate = async (filter: { pattern: string } | { pid: number }) =>
    (
      await writer.query<{ n: number }>(
        `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000))::int AS n FROM pg_stat_activity
          WHERE datname = $1 AND ($2::text IS NULL OR query LIKE $2) AND ($3::int IS NULL OR pid = $3)`,
        [proxiedDatabase, 'pattern' in filter ? filter.pattern : null, 'pid' in filter ? filter.pid : null],
      )
    ).rows[0]!.n;

  it('listens again', async () => {
    const worker = proxied.worker!;
    expect(worker.status()).toMatchObject({ listening: true, listenReconnects: 0 });
    const held = proxy.holdRepliesTo(new RegExp(`^LISTEN ${JOBS_CHANNEL}$`));
    expect(await terminate({ pattern: 'LISTEN %' })).toBe(1);
    // The worker reopens: the last LISTEN of its new connection is answered, but the answer is held...
    const { pid, serverEnded, release } = await held;
    // ...while that backend is terminated, so its FATAL is held right behind the answer.
    expect(await terminate({ pid })).toBe(1);
    await serverEnded;
    release();
    const released = performance.now();
    // Reopened for good: a connection that finished its LISTENs is open (the status alone would
    // say "listening" while the held LISTEN was still in flight).
    await until('LISTEN reopened', () => worker.status().listening && worker.status().listenReconnects >= 1, 15_000);
    const listeningAgainAfterMs = Math.round(performance.now() - released);
    const listeners = await writer.query(
      `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND query = $2 AND state = 'idle'`,
      [proxiedDatabase, `LISTEN ${JOBS_CHANNEL}`],
    );
    console.info('LISTEN lost while being reopened', {
      listeningAgainAfterMs,
      listenReconnects: worker.status().listenReconnects,
    });
    expect(listeners.rows).toHaveLength(1);
    expect(processErrors.errors).toEqual([]);
  });
});
