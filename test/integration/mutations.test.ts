/**
 * The public mutations, checked against the tiers they write to: what the gateway answers
 * must be what Postgres and ClickHouse then hold, what the read queries then show, and what
 * goes out on the event bus.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BusMessage } from '../../stores/bus.ts';
import { startStack, type Stack } from '../stack.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack?.stop());

// ---- Exact decimal oracle, written independently of lib/decimal.ts -------------------------

const SCALE = 10n ** 18n;

/** A decimal string as BigInt units of 10^-18 (the scale of every money column). */
function units(v: string): bigint {
  const negative = v.startsWith('-');
  const [i = '0', f = ''] = (negative ? v.slice(1) : v).split('.');
  if (f.length > 18) throw new Error(`more than 18 decimal places: ${v}`);
  const u = BigInt(i) * SCALE + BigInt(f.padEnd(18, '0'));
  return negative ? -u : u;
}

/** Exact sum of decimal strings, in units. */
const exactSum = (values: readonly string[]) => values.reduce((acc, v) => acc + units(v), 0n);

/** a x b rounded half away from zero to 18 places, in units. */
function product(a: string, b: string): bigint {
  const p = units(a) * units(b);
  const half = SCALE / 2n;
  return p >= 0n ? (p + half) / SCALE : -((-p + half) / SCALE);
}

// ---- Helpers -------------------------------------------------------------------------------

/**
 * Sends an operation as the user its variables name (`u`, `userId`, `input.userId`): users
 * write only their own data; anything else (prices, public reads) as an admin. Authorization
 * itself is tested in authorization.test.ts.
 */
async function gql(query: string, variables: Record<string, any> = {}) {
  const user = variables['u'] ?? variables['userId'] ?? variables['input']?.userId;
  const client = typeof user === 'string' && /^\d+$/.test(user) ? await stack.as(user) : await stack.admin();
  return client.gql(query, variables);
}

const code = (res: { errors?: Array<{ extensions?: Record<string, unknown> }> }) =>
  res.errors?.[0]?.extensions?.['code'];

async function userId(handle: string): Promise<string> {
  const [row] = await stack.tiers.postgres.query<{ id: string }>('SELECT id::text AS id FROM users WHERE handle = $1', [
    handle,
  ]);
  return row!.id;
}

/** The newest tick of an asset straight from ClickHouse. */
async function newestTick(assetId: string): Promise<string> {
  const [row] = await stack.tiers.clickhouse.query<{ last: string }>(
    'SELECT toString(argMax(price, ts)) AS last FROM price_data_raw WHERE asset_id = {a:String}',
    { a: assetId },
  );
  return row!.last;
}

async function latestPrice(assetId: string): Promise<string> {
  const res = await gql(`query($id: ID!) { asset(id: $id) { latestPrice } }`, { id: assetId });
  expect(res.errors).toBeUndefined();
  return res.data!.asset.latestPrice;
}

/** A price with random digits, so this run's ticks and events are recognizable. */
const uniquePrice = (integer: number) => `${integer}.${String(randomInt(1, 1_000_000_000)).padStart(9, '0')}1`;

/** The start of the minute `minutes` from now: later than every demo tick (those stop at now). */
function futureMinute(minutes: number): Date {
  const t = new Date(Date.now() + minutes * 60_000);
  t.setUTCSeconds(0, 0);
  return t;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const TRANSACTION_FIELDS = `id type amount valueUsd txHash occurredAt user { id } asset { id } protocol { id }`;

// ---- recordTransaction ---------------------------------------------------------------------

describe('recordTransaction', () => {
  it('records a transaction valued at amount x latest price, shows it first in the history, and stores it in Postgres', async () => {
    const user = await userId('demo');
    const price = await latestPrice('LINK');
    // The gateway's price is ClickHouse's newest tick for the asset.
    expect(units(price)).toBe(units(await newestTick('LINK')));

    // 18 fractional digits in the amount, so the product needs rounding to 18 places.
    const amount = '3.141592653589793239';
    const txHash = '0x' + randomBytes(32).toString('hex');
    const before = Date.now();
    const res = await gql(
      `mutation($input: RecordTransactionInput!) { recordTransaction(input: $input) { ${TRANSACTION_FIELDS} } }`,
      { input: { userId: user, assetId: 'LINK', protocolId: 'aave-v3', type: 'DEPOSIT', amount, txHash } },
    );
    const after = Date.now();
    expect(res.errors).toBeUndefined();
    const tx = res.data!.recordTransaction;
    expect(tx).toMatchObject({
      type: 'DEPOSIT',
      txHash,
      user: { id: user },
      asset: { id: 'LINK' },
      protocol: { id: 'aave-v3' },
    });
    expect(units(tx.amount)).toBe(units(amount));
    expect(units(tx.valueUsd)).toBe(product(amount, price));
    // occurredAt defaults to the time of the call.
    const at = new Date(tx.occurredAt).getTime();
    expect(at).toBeGreaterThanOrEqual(before - 1);
    expect(at).toBeLessThanOrEqual(after + 1);

    // The newest transaction of the user is the one just recorded.
    const history = await gql(
      `query($u: ID!) { transactions(userId: $u, first: 3) { edges { node { ${TRANSACTION_FIELDS} } } } }`,
      { u: user },
    );
    expect(history.errors).toBeUndefined();
    expect(history.data!.transactions.edges[0].node).toEqual(tx);

    const rows = await stack.tiers.postgres.query<{
      user_id: string;
      asset_id: string;
      protocol_id: string | null;
      type: string;
      amount: string;
      value_usd: string;
      tx_hash: string;
      occurred_at: Date;
    }>(
      'SELECT user_id::text, asset_id, protocol_id, type, amount::text, value_usd::text, tx_hash, occurred_at FROM transaction_history WHERE id = $1',
      [tx.id],
    );
    expect(rows).toHaveLength(1);
    const row = rows[0]!;
    expect(row).toMatchObject({
      user_id: user,
      asset_id: 'LINK',
      protocol_id: 'aave-v3',
      type: 'DEPOSIT',
      tx_hash: txHash,
    });
    expect(units(row.amount)).toBe(units(amount));
    expect(units(row.value_usd)).toBe(product(amount, price));
    expect(row.occurred_at.toISOString()).toBe(tx.occurredAt);
  });

  it('keeps a given occurredAt and places the transaction by it, not by insertion order', async () => {
    const user = await userId('user01');
    const occurredAt = '2021-03-04T05:06:07.089Z';
    const res = await gql(
      `mutation($input: RecordTransactionInput!) { recordTransaction(input: $input) { id occurredAt txHash protocol { id } valueUsd } }`,
      { input: { userId: user, assetId: 'ETH', type: 'TRANSFER', amount: '0.5', occurredAt } },
    );
    expect(res.errors).toBeUndefined();
    const tx = res.data!.recordTransaction;
    expect(tx).toMatchObject({ occurredAt, txHash: null, protocol: null });
    expect(units(tx.valueUsd)).toBe(product('0.5', await latestPrice('ETH')));

    const [row] = await stack.tiers.postgres.query<{
      occurred_at: Date;
      protocol_id: string | null;
      tx_hash: string | null;
    }>('SELECT occurred_at, protocol_id, tx_hash FROM transaction_history WHERE id = $1', [tx.id]);
    expect(row).toEqual({ occurred_at: new Date(occurredAt), protocol_id: null, tx_hash: null });

    // Older than every demo transaction: the last edge of the whole history, not the first.
    const [{ n } = { n: 0 }] = await stack.tiers.postgres.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM transaction_history WHERE user_id = $1',
      [user],
    );
    const all = await gql(
      `query($u: ID!, $n: Int) { transactions(userId: $u, first: $n) { edges { node { id } } pageInfo { hasNextPage } } }`,
      { u: user, n },
    );
    expect(all.errors).toBeUndefined();
    const ids = all.data!.transactions.edges.map((e: any) => e.node.id);
    expect(ids).toHaveLength(n);
    expect(ids.at(-1)).toBe(tx.id);
    expect(ids[0]).not.toBe(tx.id);
  });
});

// ---- updateHolding -------------------------------------------------------------------------

describe('updateHolding', () => {
  const HOLDING_FIELDS = `id quantity valueUsd asset { id } protocol { id }`;
  const update = (input: Record<string, unknown>) =>
    gql(`mutation($input: UpdateHoldingInput!) { updateHolding(input: $input) { ${HOLDING_FIELDS} } }`, {
      input,
    });

  async function positions(user: string, assetId: string, protocolId: string | null) {
    return stack.tiers.postgres.query<{ id: string; quantity: string; value_usd: string }>(
      `SELECT id::text AS id, quantity::text AS quantity, value_usd::text AS value_usd FROM portfolio_holdings
       WHERE user_id = $1 AND asset_id = $2 AND protocol_id IS NOT DISTINCT FROM $3`,
      [user, assetId, protocolId],
    );
  }

  /** The portfolio through the gateway, checked against Postgres: same holdings, exact total. */
  async function checkPortfolio(user: string) {
    const res = await gql(`query($u: ID!) { portfolio(userId: $u) { totalValueUsd holdings { ${HOLDING_FIELDS} } } }`, {
      u: user,
    });
    expect(res.errors).toBeUndefined();
    const portfolio = res.data!.portfolio;
    const rows = await stack.tiers.postgres.query<{ id: string; quantity: string; value_usd: string }>(
      'SELECT id::text AS id, quantity::text AS quantity, value_usd::text AS value_usd FROM portfolio_holdings WHERE user_id = $1 ORDER BY id',
      [user],
    );
    expect(portfolio.holdings.map((h: any) => h.id).sort()).toEqual(rows.map((r) => r.id).sort());
    expect(units(portfolio.totalValueUsd)).toBe(exactSum(portfolio.holdings.map((h: any) => h.valueUsd)));
    expect(units(portfolio.totalValueUsd)).toBe(exactSum(rows.map((r) => r.value_usd)));
    return portfolio;
  }

  it('creates a wallet position, then updates it in place', async () => {
    const user = await userId('demo');
    // The demo user holds the first 24 demo assets only; BONK is not among them.
    expect(await positions(user, 'BONK', null)).toHaveLength(0);
    const price = await latestPrice('BONK');

    const created = await update({ userId: user, assetId: 'BONK', quantity: '1234567.000000000000000001' });
    expect(created.errors).toBeUndefined();
    const holding = created.data!.updateHolding;
    expect(holding).toMatchObject({ asset: { id: 'BONK' }, protocol: null });
    expect(units(holding.quantity)).toBe(units('1234567.000000000000000001'));
    expect(units(holding.valueUsd)).toBe(product('1234567.000000000000000001', price));
    let rows = await positions(user, 'BONK', null);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.id).toBe(holding.id);

    let portfolio = await checkPortfolio(user);
    expect(units(portfolio.holdings.find((h: any) => h.id === holding.id).quantity)).toBe(
      units('1234567.000000000000000001'),
    );

    const updated = await update({ userId: user, assetId: 'BONK', quantity: '42.5' });
    expect(updated.errors).toBeUndefined();
    expect(updated.data!.updateHolding.id).toBe(holding.id);
    expect(units(updated.data!.updateHolding.quantity)).toBe(units('42.5'));
    expect(units(updated.data!.updateHolding.valueUsd)).toBe(product('42.5', price));
    rows = await positions(user, 'BONK', null);
    expect(rows).toHaveLength(1);
    expect(units(rows[0]!.quantity)).toBe(units('42.5'));
    expect(units(rows[0]!.value_usd)).toBe(product('42.5', price));

    portfolio = await checkPortfolio(user);
    const shown = portfolio.holdings.filter((h: any) => h.asset.id === 'BONK');
    expect(shown).toHaveLength(1);
    expect(units(shown[0].quantity)).toBe(units('42.5'));
  });

  it('keeps positions in different protocols apart, and updates a seeded one without duplicating it', async () => {
    const user = await userId('demo');
    // The demo user's ETH is a wallet position (no protocol); a Lido ETH position is a separate one.
    const [wallet] = await positions(user, 'ETH', null);
    expect(wallet).toBeDefined();
    expect(await positions(user, 'ETH', 'lido')).toHaveLength(0);
    const price = await latestPrice('ETH');

    const staked = await update({ userId: user, assetId: 'ETH', protocolId: 'lido', quantity: '2' });
    expect(staked.errors).toBeUndefined();
    expect(staked.data!.updateHolding).toMatchObject({ asset: { id: 'ETH' }, protocol: { id: 'lido' } });
    expect(staked.data!.updateHolding.id).not.toBe(wallet!.id);

    const walletUpdate = await update({ userId: user, assetId: 'ETH', quantity: '0.000000000000000007' });
    expect(walletUpdate.errors).toBeUndefined();
    expect(walletUpdate.data!.updateHolding.id).toBe(wallet!.id);
    expect(units(walletUpdate.data!.updateHolding.valueUsd)).toBe(product('0.000000000000000007', price));

    const walletRows = await positions(user, 'ETH', null);
    const lidoRows = await positions(user, 'ETH', 'lido');
    expect(walletRows).toHaveLength(1);
    expect(lidoRows).toHaveLength(1);
    expect(units(walletRows[0]!.quantity)).toBe(7n);
    expect(units(lidoRows[0]!.quantity)).toBe(units('2'));

    // Zero is a valid quantity (the position stays, worth nothing).
    const zero = await update({ userId: user, assetId: 'ETH', protocolId: 'lido', quantity: '0' });
    expect(zero.errors).toBeUndefined();
    expect(units(zero.data!.updateHolding.valueUsd)).toBe(0n);

    const portfolio = await checkPortfolio(user);
    const eth = portfolio.holdings.filter((h: any) => h.asset.id === 'ETH');
    expect(eth).toHaveLength(2);
    expect(units(eth.find((h: any) => h.protocol === null).quantity)).toBe(7n);
    expect(units(eth.find((h: any) => h.protocol?.id === 'lido').quantity)).toBe(0n);
  });

  it('refuses a position for a user that does not exist (a valid token of no user) and writes nothing', async () => {
    const res = await update({ userId: '987654321', assetId: 'ETH', quantity: '1' });
    expect(code(res)).toBe('UNAUTHENTICATED');
    const [{ n } = { n: -1 }] = await stack.tiers.postgres.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM portfolio_holdings WHERE user_id = 987654321',
    );
    expect(n).toBe(0);
  });
});

// ---- ingestPrices --------------------------------------------------------------------------

interface TickIn {
  assetId: string;
  price: string;
  volume?: string;
  timestamp: string;
}

const ingest = (ticks: TickIn[]) =>
  gql(`mutation($t: [PriceTickInput!]!) { ingestPrices(ticks: $t) { accepted assets { id symbol latestPrice } } }`, {
    t: ticks,
  });

describe('ingestPrices', () => {
  it('stores the ticks, refreshes the latest price and aggregates them into minute candles', async () => {
    const minute = futureMinute(10);
    const next = new Date(minute.getTime() + 60_000);
    const at = (base: Date, ms: number) => new Date(base.getTime() + ms).toISOString();
    // Sent out of time order: open and close must follow the timestamps, not the list.
    const inMinute: TickIn[] = [
      { assetId: 'GMX', price: uniquePrice(31), volume: '12.25', timestamp: at(minute, 20_000) },
      { assetId: 'GMX', price: uniquePrice(29), volume: '3', timestamp: at(minute, 1_500) },
      { assetId: 'GMX', price: uniquePrice(35), volume: '0.000000000000000001', timestamp: at(minute, 33_333) },
      { assetId: 'GMX', price: uniquePrice(27), timestamp: at(minute, 40_000) },
      { assetId: 'GMX', price: uniquePrice(30), volume: '100', timestamp: at(minute, 59_999) },
    ];
    const later: TickIn = { assetId: 'GMX', price: uniquePrice(33), volume: '1', timestamp: at(next, 10_000) };

    const res = await ingest([...inMinute, later]);
    expect(res.errors).toBeUndefined();
    expect(res.data!.ingestPrices.accepted).toBe(6);
    expect(res.data!.ingestPrices.assets.map((a: any) => a.id)).toEqual(['GMX']);
    expect(units(res.data!.ingestPrices.assets[0].latestPrice)).toBe(units(later.price));

    // The latest price is the newest tick's, in a later request too.
    expect(units(await latestPrice('GMX'))).toBe(units(later.price));

    // ClickHouse holds exactly these ticks after the start of that minute.
    const raw = await stack.tiers.clickhouse.query<{ ts_ms: string; price: string; volume: string }>(
      `SELECT toString(toUnixTimestamp64Milli(ts)) AS ts_ms, toString(price) AS price, toString(volume) AS volume
       FROM price_data_raw WHERE asset_id = 'GMX' AND ts >= fromUnixTimestamp64Milli({from:Int64}) ORDER BY ts`,
      { from: minute.getTime() },
    );
    const sent = [...inMinute, later].sort((a, b) => a.timestamp.localeCompare(b.timestamp));
    expect(raw.map((r) => [Number(r.ts_ms), units(r.price), units(r.volume)])).toEqual(
      sent.map((t) => [Date.parse(t.timestamp), units(t.price), units(t.volume ?? '0')]),
    );

    const candles = await gql(
      `query($from: DateTime, $to: DateTime) { marketData(assetId: "GMX", interval: MINUTE, from: $from, to: $to) { bucket open high low close volume trades } }`,
      { from: new Date(minute.getTime() - 60_000).toISOString(), to: new Date(next.getTime() + 120_000).toISOString() },
    );
    expect(candles.errors).toBeUndefined();
    const list = candles.data!.marketData;
    expect(list.map((c: any) => c.bucket)).toEqual([minute.toISOString(), next.toISOString()]);
    const byTime = [...inMinute].sort((a, b) => a.timestamp.localeCompare(b.timestamp));
    const prices = inMinute.map((t) => units(t.price));
    const c = list[0];
    expect([c.open, c.high, c.low, c.close, c.volume].map(units)).toEqual([
      units(byTime[0]!.price),
      prices.reduce((a, b) => (b > a ? b : a)),
      prices.reduce((a, b) => (b < a ? b : a)),
      units(byTime.at(-1)!.price),
      exactSum(inMinute.map((t) => t.volume ?? '0')),
    ]);
    expect(c.trades).toBe(inMinute.length);
    const n = list[1];
    expect([n.open, n.high, n.low, n.close, n.volume].map(units)).toEqual(
      [later.price, later.price, later.price, later.price, '1'].map(units),
    );
    expect(n.trades).toBe(1);
  });

  it('values later transactions and holdings at the ingested price, rounding half away from zero', async () => {
    const minute = futureMinute(30);
    const res = await ingest([
      { assetId: 'CRV', price: '0.5', volume: '1', timestamp: new Date(minute.getTime() + 1_000).toISOString() },
    ]);
    expect(res.errors).toBeUndefined();
    expect(units(await latestPrice('CRV'))).toBe(units('0.5'));

    const user = await userId('user02');
    // 1e-18 x 0.5 is exactly half a unit of the last place: it rounds up, not to even, not down.
    const tx = await gql(
      `mutation($u: ID!) { recordTransaction(input: { userId: $u, assetId: "CRV", type: CLAIM, amount: "0.000000000000000001" }) { id valueUsd } }`,
      { u: user },
    );
    expect(tx.errors).toBeUndefined();
    expect(tx.data!.recordTransaction.valueUsd).toBe('0.000000000000000001');
    const [row] = await stack.tiers.postgres.query<{ v: string }>(
      'SELECT value_usd::text AS v FROM transaction_history WHERE id = $1',
      [tx.data!.recordTransaction.id],
    );
    expect(units(row!.v)).toBe(1n);

    const holding = await gql(
      `mutation($u: ID!) { updateHolding(input: { userId: $u, assetId: "CRV", protocolId: "curve", quantity: "1000.000000000000000005" }) { valueUsd } }`,
      { u: user },
    );
    expect(holding.errors).toBeUndefined();
    // 500.0000000000000000025 -> 500.000000000000000003
    expect(holding.data!.updateHolding.valueUsd).toBe('500.000000000000000003');
  });

  it('publishes one market event per asset, keyed by the asset id, carrying the new price', async () => {
    const minute = futureMinute(20);
    const ticks: TickIn[] = [
      {
        assetId: 'PENDLE',
        price: uniquePrice(4),
        volume: '1',
        timestamp: new Date(minute.getTime() + 5_000).toISOString(),
      },
      {
        assetId: 'PENDLE',
        price: uniquePrice(5),
        volume: '2',
        timestamp: new Date(minute.getTime() + 6_000).toISOString(),
      },
      {
        assetId: 'DYDX',
        price: uniquePrice(2),
        volume: '3',
        timestamp: new Date(minute.getTime() + 7_000).toISOString(),
      },
    ];
    const expected = new Map([
      ['PENDLE', { price: ticks[1]!.price, ts: ticks[1]!.timestamp }],
      ['DYDX', { price: ticks[2]!.price, ts: ticks[2]!.timestamp }],
    ]);

    // This run's events carry this run's (random) prices and times: anything else on the
    // shared topic is ignored.
    const ours: BusMessage[] = [];
    const isOurs = (m: BusMessage) => {
      const want = expected.get(m.key);
      if (!want) return false;
      try {
        const v = JSON.parse(m.value) as { price?: string; ts?: string };
        return v.ts === want.ts || (typeof v.price === 'string' && units(v.price) === units(want.price));
      } catch {
        return false;
      }
    };
    // From the beginning of the topic: a new Kafka consumer group that starts at "latest"
    // only gets its offsets after joining, and would miss an event published meanwhile.
    const subscription = await stack.tiers.bus.subscribe({
      topics: ['defi.market'],
      fromBeginning: true,
      onMessages: async (messages) => {
        ours.push(...messages.filter(isOurs));
      },
    });
    try {
      const res = await ingest(ticks);
      expect(res.errors).toBeUndefined();
      expect(res.data!.ingestPrices.accepted).toBe(3);
      expect(res.data!.ingestPrices.assets.map((a: any) => a.id).sort()).toEqual(['DYDX', 'PENDLE']);

      // Delivery is asynchronous (and a Kafka consumer group takes a few seconds to join).
      for (let i = 0; i < 300 && new Set(ours.map((m) => m.key)).size < expected.size; i++) await sleep(100);

      expect(ours.map((m) => m.key).sort()).toEqual(['DYDX', 'PENDLE']);
      for (const message of ours) {
        expect(message.topic).toBe('defi.market');
        const value = JSON.parse(message.value);
        const want = expected.get(message.key)!;
        expect(value.assetId).toBe(message.key);
        expect(units(value.price)).toBe(units(want.price));
        expect(value.ts).toBe(want.ts);
      }
    } finally {
      await subscription.stop();
    }
  });
});

describe('limits of money', () => {
  it('sums candle volumes beyond Decimal(38,18) exactly instead of wrapping', async () => {
    const bucket = futureMinute(20);
    const huge = '99999999999999999999';
    const res = await ingest([
      { assetId: 'LINK', price: uniquePrice(15), volume: huge, timestamp: bucket.toISOString() },
      {
        assetId: 'LINK',
        price: uniquePrice(15),
        volume: huge,
        timestamp: new Date(bucket.getTime() + 1_000).toISOString(),
      },
    ]);
    expect(res.errors).toBeUndefined();
    const candles = await gql(
      `query($f: DateTime, $t: DateTime) { marketData(assetId: "LINK", interval: MINUTE, from: $f, to: $t) { bucket volume trades } }`,
      {
        f: bucket.toISOString(),
        t: new Date(bucket.getTime() + 60_000).toISOString(),
      },
    );
    expect(candles.data!.marketData).toEqual([
      { bucket: bucket.toISOString(), volume: '199999999999999999998', trades: 2 },
    ]);
  });

  it('refuses a holding whose USD value overflows the money columns, writing nothing', async () => {
    const demo = await userId('demo');
    const [before] = await stack.tiers.postgres.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM portfolio_holdings',
    );
    const res = await gql(
      `mutation($u: ID!) { updateHolding(input: { userId: $u, assetId: "WBTC", quantity: "99999999999999999999" }) { id } }`,
      { u: demo },
    );
    expect(code(res)).toBe('INVALID_DECIMAL');
    expect(res.errors![0]!.message).toMatch(/too large/);
    const [after] = await stack.tiers.postgres.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM portfolio_holdings',
    );
    expect(after!.n).toBe(before!.n);
  });

  it('refuses a tick dated far in the future', async () => {
    const res = await ingest([{ assetId: 'LINK', price: '15', timestamp: '2400-01-01T00:00:00Z' }]);
    expect(code(res)).toBe('INVALID_ARGUMENT');
  });
});
