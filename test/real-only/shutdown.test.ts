/**
 * Graceful shutdown under load (what SIGTERM runs: the apps' `stop()`):
 * - a gateway stopped while clients send requests finishes every request it had accepted
 *   (held in Postgres by a table lock, so they are certainly in flight), refuses new
 *   connections, closes its WebSocket subscriptions with 1001 (Going away), and stops even
 *   though clients keep sending on their keep-alive connections;
 * - a worker stopped in the middle of its batches releases the batch in hand (its claim
 *   commits or rolls back), and a second worker drains the rest: nothing is lost, nothing
 *   is left locked.
 */
import { createClient } from 'graphql-ws';
import http from 'node:http';
import pg from 'pg';
import { afterAll, beforeAll, expect, it, onTestFinished } from 'vitest';
import WebSocket from 'ws';
import { buildGateway, buildWorker } from '../../bin/runtime.ts';
import { attempt, startLoad, tally, UNLIMITED_RATE, type Outcome } from '../faults/load.ts';
import { watchProcessErrors } from '../faults/process-errors.ts';
import { startStack, until, type Stack } from '../stack.ts';

const PORTFOLIO = `query($u: ID!) { portfolio(userId: $u) { holdings { id quantity } } }`;
const ASSET = `{ asset(id: "ETH") { name latestPrice } }`;
const TX_SUB = `subscription($u: ID!) { transactionRecorded(userId: $u) { sequence } }`;
/**
 * Requests held in Postgres when the gateway is told to stop. A portfolio read may use two
 * connections at once: the pool is made large enough for them and the traffic beside them.
 */
const HELD = 4;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const processErrors = watchProcessErrors();
let stack: Stack;
let locker: pg.Client;

beforeAll(async () => {
  stack = await startStack({ env: { ...UNLIMITED_RATE, CDC_BATCH_SIZE: '100', PG_POOL_MAX: '20' } });
  locker = new pg.Client({ connectionString: stack.config.postgres.url });
  await locker.connect();
});

afterAll(async () => {
  processErrors.dispose();
  await locker?.end();
  await stack?.stop();
});

/** Opens a new connection to `url` and sends a GET: resolves with the status, or the error code. */
function freshConnection(url: string): Promise<number | string> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

/** Locks other sessions hold on the change log now: a claim in progress. */
async function claimLocks(): Promise<number> {
  const rows = await stack.tiers.postgres.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
      WHERE c.relname = 'change_log' AND l.pid <> pg_backend_pid()`,
  );
  return rows[0]!.n;
}

/** Requests waiting on a lock in Postgres now. */
async function waitingOnLocks(): Promise<number> {
  // Not on `locker`: inside its transaction, pg_stat_activity is a snapshot taken at first read.
  const rows = await stack.tiers.postgres.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
  );
  return rows[0]!.n;
}

/**
 * A client with its own keep-alive agent (as a load balancer keeps connections to a backend),
 * so the test can close its sockets itself: fetch's pool is shared by the whole process.
 */
function keepAliveClient(url: string) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const post = (body: Record<string, unknown>, authorization?: string) =>
    new Promise<{ status: number; body: { data?: unknown; errors?: Array<{ extensions?: Record<string, unknown> }> } }>(
      (resolve, reject) => {
        const data = JSON.stringify(body);
        const req = http.request(
          url,
          {
            method: 'POST',
            agent,
            headers: {
              'content-type': 'application/json',
              'content-length': Buffer.byteLength(data),
              'cache-control': 'no-cache',
              ...(authorization ? { authorization } : {}),
            },
          },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => (text += chunk));
            res.on('end', () => {
              try {
                resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) });
              } catch (error) {
                reject(error);
              }
            });
          },
        );
        req.on('error', reject);
        req.end(data);
      },
    );
  return { post, close: () => agent.destroy() };
}

/** A gateway of the stack's runtime with subscribers, traffic and HELD requests waiting in Postgres. */
async function gatewayUnderLoad() {
  const gateway = await buildGateway(stack.runtime);
  const { url } = await gateway.start();
  const client = keepAliveClient(url);
  onTestFinished(async () => {
    client.close();
    await gateway.stop();
  });

  // Two subscribers, to be told the gateway is going away.
  const closes: number[] = [];
  const userId = await stack.userId('user05');
  const token = await stack.token('user05');
  for (let i = 0; i < 2; i++) {
    const ws = createClient({
      url: url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      lazy: false,
      retryAttempts: 0,
      onNonLazyError: () => {},
      connectionParams: { authorization: `Bearer ${token}` },
      on: { closed: (event) => closes.push((event as { code: number }).code) },
    });
    onTestFinished(() => ws.dispose());
    ws.subscribe({ query: TX_SUB, variables: { u: userId } }, { next: () => {}, error: () => {}, complete: () => {} });
  }
  await until('both subscriptions', async () => {
    const res = await fetch(new URL('/readyz', url));
    return ((await res.json()) as { subscriptions: number }).subscriptions === 2;
  });

  // Continuous traffic on keep-alive connections, throughout the stop.
  const traffic = startLoad({ probe: () => client.post({ query: ASSET }), concurrency: 3, pauseMs: 2 });
  onTestFinished(async () => void (await traffic.stop()));
  await sleep(300);

  // Requests certainly accepted: they wait in Postgres on a lock held here.
  const readers = await Promise.all(
    ['demo', 'whale', 'user01', 'user02'].slice(0, HELD).map(async (handle) => ({
      authorization: (await stack.as(handle)).authorization!,
      userId: await stack.userId(handle),
    })),
  );
  const read = (r: (typeof readers)[number]) =>
    attempt(() => client.post({ query: PORTFOLIO, variables: { u: r.userId } }, r.authorization));
  for (const r of readers) expect((await read(r)).ok).toBe(true);
  await locker.query('BEGIN');
  onTestFinished(async () => void (await locker.query('ROLLBACK')));
  await locker.query('LOCK TABLE portfolio_holdings IN ACCESS EXCLUSIVE MODE');
  const held = readers.map(read);
  await until('the requests to wait on the lock', async () => (await waitingOnLocks()) >= HELD);

  const stopCalled = performance.now();
  let stoppedAt: number | undefined;
  const stopping = gateway.stop().then(() => (stoppedAt = performance.now()));
  // stop() closes the WebSockets first, then stops listening: the held requests are released
  // only once new connections are refused, so they are surely in flight when it stops listening.
  await until('new connections refused', async () => (await freshConnection(url)) === 'ECONNREFUSED');
  const refusing = performance.now();
  return {
    url,
    client,
    closes,
    traffic,
    stopCalled,
    refusedAfterMs: refusing - stopCalled,
    stopping,
    stopped: () => stoppedAt,
    /** Lets the held requests go on; resolves with their outcomes. */
    async release(): Promise<Outcome[]> {
      await locker.query('COMMIT');
      return Promise.all(held);
    },
  };
}

it('finishes the requests in flight, refuses new connections and closes subscriptions with 1001', async () => {
  const run = await gatewayUnderLoad();
  await sleep(300);
  const stillRunning = run.stopped() === undefined;
  const answered = await run.release();
  const answeredAt = performance.now();
  const traffic = await run.traffic.stop();
  // The clients hang up: only then can the server close (see the next test).
  run.client.close();
  await Promise.race([run.stopping, sleep(10_000)]);
  const afterStop = run.traffic.outcomes.filter((o) => o.at > run.stopCalled);
  console.info('gateway stopped under load', {
    inFlightAnswered: answered.map((o) => o.status),
    inFlightAnsweredAfterStopMs: Math.round(answeredAt - run.stopCalled),
    stopTookMs: Math.round((run.stopped() ?? NaN) - run.stopCalled),
    webSocketCloseCodes: run.closes,
    traffic,
    trafficAfterStopCalled: tally(afterStop),
    newConnectionsRefusedAfterMs: Math.round(run.refusedAfterMs),
  });

  expect(processErrors.errors).toEqual([]);
  // Still waiting for the requests it had accepted, which are then answered in full.
  expect(stillRunning).toBe(true);
  expect(answered.map((o) => [o.status, o.ok])).toEqual(answered.map(() => [200, true]));
  expect(run.closes).toEqual([1001, 1001]);
  // Every response was a full answer; a request that failed got no response at all: a refused
  // connection, or a keep-alive socket the server closed as idle before reading the request.
  expect(run.traffic.outcomes.filter((o) => o.status !== 0 && !o.ok)).toEqual([]);
  expect(
    run.traffic.outcomes.filter((o) => o.status === 0 && !/ECONNREFUSED|ECONNRESET|EPIPE/.test(o.codes[0]!)),
  ).toEqual([]);
  expect(run.stopped()).toBeDefined();
});

/**
 * Keep-alive clients that never stop sending: once stopping, every answer says
 * `Connection: close` and connections are closed as they go idle, so stop() finishes promptly
 * (it used to wait for as long as the traffic lasted, then for keepAliveTimeout, 65 s).
 */
it('stops within 5 s of its last accepted request while clients keep sending on keep-alive connections', async () => {
  const run = await gatewayUnderLoad();
  const answered = await run.release();
  const released = performance.now();
  await Promise.race([run.stopping, sleep(5_000)]);
  const stoppedAfterMs = (run.stopped() ?? Infinity) - released;
  console.info('gateway stop under steady keep-alive traffic', {
    stoppedAfterLastAcceptedMs: Number.isFinite(stoppedAfterMs) ? Math.round(stoppedAfterMs) : 'not within 5 s',
    servedAfterStopCalled: run.traffic.outcomes.filter((o) => o.at > run.stopCalled && o.ok).length,
    inFlightAnswered: answered.map((o) => [o.status, ...o.codes]),
    trafficAfterStopCalled: tally(run.traffic.outcomes.filter((o) => o.at > run.stopCalled)),
  });
  expect(stoppedAfterMs).toBeLessThan(5_000);
});

it('releases the batch in hand when the worker stops mid-stream; a second worker drains the rest', async () => {
  const userId = await stack.userId('user06');
  const pending = async () =>
    (
      await stack.tiers.postgres.query<{ pending: number; dead: number }>(
        `SELECT count(*) FILTER (WHERE NOT processed)::int AS pending, count(*) FILTER (WHERE dead_lettered)::int AS dead
           FROM cdc.change_log`,
      )
    )[0]!;
  const ids = (
    await stack.tiers.postgres.query<{ id: string }>(
      `INSERT INTO transaction_history (user_id, asset_id, type, amount)
       SELECT $1, 'ETH', 'DEPOSIT', g FROM generate_series(1, 3000) g RETURNING id::text AS id`,
      [userId],
    )
  ).map((r) => r.id);
  const total = (await pending()).pending;
  expect(total).toBe(ids.length);

  const first = buildWorker(stack.runtime);
  await first.start();
  onTestFinished(() => first.stop());
  // Well into the stream (batches of 100 follow each other without pause), and inside a batch:
  // its claim transaction holds a lock on the change log.
  await until('a few batches applied', async () => (await pending()).pending <= total - 300, 60_000);
  await until('a batch in progress', async () => (await claimLocks()) > 0);
  const stopCalled = performance.now();
  await first.stop();
  const stopTookMs = performance.now() - stopCalled;
  const left = await pending();
  // Nothing held: the stopped worker's claim is gone, so every pending change is claimable.
  const locked = await claimLocks();

  const second = buildWorker(stack.runtime);
  const drained = await second.drain();
  const replicated = await stack.tiers.clickhouse.query<{ n: string }>(
    `SELECT toString(count()) AS n FROM transactions FINAL WHERE id IN {ids:Array(UInt64)} AND _deleted = 0`,
    { ids: ids.map(Number) },
  );
  console.info('worker stopped mid-stream', {
    changes: total,
    processedBeforeStop: total - left.pending,
    stopTookMs: Math.round(stopTookMs),
    drainedBySecondWorker: drained,
  });

  expect(processErrors.errors).toEqual([]);
  expect(left.pending).toBeGreaterThan(0);
  expect(locked).toBe(0);
  expect(first.status().running).toBe(false);
  expect(drained).toMatchObject({ processed: left.pending, failed: 0, deadLettered: 0 });
  expect(await pending()).toEqual({ pending: 0, dead: 0 });
  expect(replicated[0]!.n).toBe(String(ids.length));
});
