/**
 * Change data capture end to end: rows written with plain SQL straight into Postgres (not
 * through the gateway) reach ClickHouse, the vector index and a bus consumer; failures retry,
 * dead-letter and re-drive; a rolled-back transaction leaves no trace; backfills are jobs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redrive } from '../../changelog/queue.ts';
import { cdcStats } from '../../changelog/stats.ts';
import type { BusMessage } from '../../stores/bus.ts';
import { startStack, until, type Client, type Stack } from '../stack.ts';

let stack: Stack;
let userId: string;
let admin: Client;
beforeAll(async () => {
  stack = await startStack({ worker: true });
  userId = await stack.userId('user07');
  admin = await stack.admin();
});
afterAll(() => stack?.stop());

const sql = <R extends object = Record<string, unknown>>(text: string, params: unknown[] = []) =>
  stack.tiers.postgres.query<R>(text, params);

describe('capture and apply', () => {
  it('carries plain-SQL inserts, updates and deletes to ClickHouse, the activity feed and the bus', async () => {
    const received: BusMessage[] = [];
    const sub = await stack.tiers.bus.subscribe({
      topics: ['defi.portfolio', 'defi.transactions'],
      onMessages: async (m) => void received.push(...m),
    });
    try {
      const [tx] = await sql<{ id: string }>(
        `INSERT INTO transaction_history (user_id, asset_id, protocol_id, type, amount, value_usd) VALUES ($1, 'ETH', 'aave-v3', 'DEPOSIT', '1.25', '4000.123456789012345678') RETURNING id::text AS id`,
        [userId],
      );
      const [h] = await sql<{ id: string }>(
        `INSERT INTO portfolio_holdings (user_id, asset_id, protocol_id, quantity, value_usd) VALUES ($1, 'YFI', 'yearn', '2', '14000') RETURNING id::text AS id`,
        [userId],
      );
      await sql(
        `UPDATE portfolio_holdings SET quantity = '3.5', value_usd = '24500.000000000000000001' WHERE id = $1`,
        [h!.id],
      );
      await sql(`DELETE FROM transaction_history WHERE id = $1`, [tx!.id]);

      // ClickHouse: the holding's current version; the transaction tombstoned.
      const holding = await until('holding replica', async () => {
        const rows = await stack.tiers.clickhouse.query<{ quantity: string; value_usd: string }>(
          `SELECT toString(quantity) AS quantity, toString(value_usd) AS value_usd FROM portfolio_holdings FINAL WHERE id = {id:UInt64} AND _deleted = 0`,
          { id: h!.id },
        );
        return rows[0]?.quantity.startsWith('3.5') ? rows[0] : undefined;
      });
      expect(holding.value_usd).toBe('24500.000000000000000001');
      await until('transaction tombstone', async () => {
        const rows = await stack.tiers.clickhouse.query<{ n: string }>(
          `SELECT toString(count()) AS n FROM transactions FINAL WHERE id = {id:UInt64} AND _deleted = 0`,
          { id: tx!.id },
        );
        // The tombstone is stored (a delete is a row with _deleted = 1); FINAL hides the row.
        const tombstones = await stack.tiers.clickhouse.query<{ n: string }>(
          `SELECT toString(count()) AS n FROM transactions WHERE id = {id:UInt64} AND _deleted = 1`,
          { id: tx!.id },
        );
        return rows[0]!.n === '0' && Number(tombstones[0]!.n) >= 1;
      });
      const activity = await stack.tiers.clickhouse.query<{ action: string }>(
        `SELECT action FROM user_activity FINAL WHERE user_id = {u:UInt64} ORDER BY change_seq`,
        { u: userId },
      );
      expect(activity.map((a) => a.action)).toEqual(['INSERT', 'UPDATE']);

      // The activity feed a user reads is that log.
      const owner = await stack.as('user07');
      const feed = await owner.gql(
        `query($u: ID!) { user(id: $u) { activity(first: 5) { action quantity asset { symbol } protocol { id } } } }`,
        { u: userId },
      );
      expect(feed.errors).toBeUndefined();
      expect(feed.data!.user.activity.slice(0, 2)).toEqual([
        { action: 'UPDATE', quantity: '3.5', asset: { symbol: 'YFI' }, protocol: { id: 'yearn' } },
        { action: 'INSERT', quantity: '2', asset: { symbol: 'YFI' }, protocol: { id: 'yearn' } },
      ]);

      // The bus: one event per change, keyed by the row key, in sequence order per row.
      await until('four events', async () => received.filter((m) => [tx!.id, h!.id].includes(m.key)).length >= 4);
      const events = received
        .filter((m) => [tx!.id, h!.id].includes(m.key))
        .map((m) => ({ topic: m.topic, key: m.key, ...JSON.parse(m.value) }));
      const holdingEvents = events.filter((e) => e.key === h!.id && e.topic === 'defi.portfolio');
      expect(holdingEvents.map((e) => e.operation)).toEqual(['INSERT', 'UPDATE']);
      expect(BigInt(holdingEvents[1].sequence)).toBeGreaterThan(BigInt(holdingEvents[0].sequence));
      expect(holdingEvents[1].before.quantity).toBe('2.000000000000000000');
      expect(holdingEvents[1].after.quantity).toBe('3.500000000000000000');
      expect(holdingEvents[1].transactionId).toMatch(/^\d+$/);
      const txEvents = events.filter((e) => e.key === tx!.id && e.topic === 'defi.transactions');
      expect(txEvents.map((e) => e.operation)).toEqual(['INSERT', 'DELETE']);
      expect(txEvents[1].after).toBeNull();
      expect(txEvents[0].after.amount).toBe('1.250000000000000000');
    } finally {
      await sub.stop();
    }
  });

  it('records only the configured columns, and ignores updates of other columns', async () => {
    const [before] = await sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM cdc.change_log WHERE table_name = 'protocols'`,
    );
    await sql(`UPDATE protocols SET website = 'https://changed.example' WHERE id = 'curve'`);
    const [after] = await sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM cdc.change_log WHERE table_name = 'protocols'`,
    );
    expect(after!.n).toBe(before!.n);
    await sql(`UPDATE protocols SET tvl_usd = '123.45' WHERE id = 'curve'`);
    const [change] = await sql<{ new_record: Record<string, unknown> }>(
      `SELECT new_record FROM cdc.change_log WHERE table_name = 'protocols' ORDER BY seq DESC LIMIT 1`,
    );
    expect(Object.keys(change!.new_record).sort()).toEqual(['category', 'chain', 'id', 'name', 'tvl_usd']);
    expect(change!.new_record['tvl_usd']).toBe('123.450000000000000000');
  });

  it('captures nothing from a rolled-back transaction', async () => {
    const [before] = await sql<{ n: number }>(`SELECT count(*)::int AS n FROM cdc.change_log`);
    await expect(
      stack.tiers.postgres.transaction(async (tx) => {
        await tx.query(
          `INSERT INTO transaction_history (user_id, asset_id, type, amount) VALUES ($1, 'ETH', 'SWAP', '9')`,
          [userId],
        );
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    const [after] = await sql<{ n: number }>(`SELECT count(*)::int AS n FROM cdc.change_log`);
    expect(after!.n).toBe(before!.n);
  });
});

describe('failures', () => {
  it('retries a poisoned change, dead-letters it after 3 attempts, keeps its row waiting, lets other rows pass, and re-drives it', async () => {
    await stack.worker!.stop();
    try {
      // A change ClickHouse cannot take (a corrupted amount), then a later change to the same row, and one to another row.
      const poison = {
        id: '900000001',
        user_id: userId,
        asset_id: 'ETH',
        protocol_id: null,
        type: 'SWAP',
        amount: 'not-a-number',
        value_usd: '0',
        tx_hash: null,
        occurred_at: new Date().toISOString(),
      };
      const fixed = { ...poison, amount: '1' };
      await sql(
        `INSERT INTO cdc.change_log (table_name, operation, row_key, new_record) VALUES ('transaction_history', 'INSERT', '900000001', $1)`,
        [poison],
      );
      await sql(
        `INSERT INTO cdc.change_log (table_name, operation, row_key, old_record, new_record) VALUES ('transaction_history', 'UPDATE', '900000001', $1, $2)`,
        [poison, fixed],
      );
      const [other] = await sql<{ id: string }>(
        `INSERT INTO transaction_history (user_id, asset_id, type, amount) VALUES ($1, 'DAI', 'SWAP', '5') RETURNING id::text AS id`,
        [userId],
      );

      const first = await stack.worker!.drain();
      expect(first.failed).toBe(1);
      const [row] = await sql<{ retry_count: number; error_message: string; dead_lettered: boolean }>(
        `SELECT retry_count, error_message, dead_lettered FROM cdc.change_log WHERE row_key = '900000001' AND operation = 'INSERT'`,
      );
      expect(row).toMatchObject({ retry_count: 1, dead_lettered: false });
      expect(row!.error_message.length).toBeGreaterThan(0);
      // The other row went through; the poisoned row's later change waits behind it.
      const otherInCh = await stack.tiers.clickhouse.query<{ n: string }>(
        `SELECT toString(count()) AS n FROM transactions FINAL WHERE id = {id:UInt64}`,
        { id: other!.id },
      );
      expect(otherInCh[0]!.n).toBe('1');
      const [waiting] = await sql<{ processed: boolean }>(
        `SELECT processed FROM cdc.change_log WHERE row_key = '900000001' AND operation = 'UPDATE'`,
      );
      expect(waiting!.processed).toBe(false);

      for (let attempt = 2; attempt <= 3; attempt++) {
        await sql(`UPDATE cdc.change_log SET next_attempt_at = now() WHERE row_key = '900000001'`); // skip the backoff wait
        await stack.worker!.drain();
      }
      const [dead] = await sql<{ retry_count: number; dead_lettered: boolean }>(
        `SELECT retry_count, dead_lettered FROM cdc.change_log WHERE row_key = '900000001' AND operation = 'INSERT'`,
      );
      expect(dead).toMatchObject({ retry_count: 3, dead_lettered: true });
      const stats = await cdcStats(stack.tiers);
      expect(stats.deadLettered).toBe(1);
      expect(stats.tables.find((t) => t.table === 'transaction_history')!.deadLettered).toBe(1);
      const status = await admin.gql(`{ cdcStats { deadLettered pending tables { table deadLettered pending } } }`);
      expect(status.data!.cdcStats.deadLettered).toBe(1);

      // Fix the record and re-drive: both changes of the row apply, in order.
      await sql(`UPDATE cdc.change_log SET new_record = $1 WHERE row_key = '900000001' AND operation = 'INSERT'`, [
        { ...poison, amount: '0.5' },
      ]);
      expect(await redrive(stack.tiers.postgres, { table: 'transaction_history' })).toBe(1);
      await stack.worker!.drain();
      const replica = await stack.tiers.clickhouse.query<{ amount: string }>(
        `SELECT toString(amount) AS amount FROM transactions FINAL WHERE id = 900000001`,
      );
      expect(replica).toEqual([{ amount: '1' }]);
      expect((await cdcStats(stack.tiers)).deadLettered).toBe(0);
    } finally {
      await stack.worker!.start();
    }
  });
});

describe('the vector index follows asset_embeddings', () => {
  it('upserts a changed embedding and removes a deleted one, and similar-asset answers follow', async () => {
    const near = (id: string) =>
      stack.gql(`query($id: ID!) { similarAssets(assetId: $id, k: 1) { asset { id } } }`, { id });
    // Give LINK exactly DOGE's direction: its nearest neighbour becomes DOGE.
    await stack.tiers.postgres.query(
      `UPDATE asset_embeddings SET embedding = (SELECT embedding FROM asset_embeddings WHERE asset_id = 'DOGE') WHERE asset_id = 'LINK'`,
    );
    await until('LINK next to DOGE', async () => (await near('LINK')).data?.similarAssets[0]?.asset.id === 'DOGE');
    await stack.tiers.postgres.query(`DELETE FROM asset_embeddings WHERE asset_id = 'LINK'`);
    await until('LINK out of the index', async () => (await near('LINK')).data?.similarAssets.length === 0);
    expect((await stack.tiers.vector.fetch(['LINK'])).size).toBe(0);
  });
});

/** Polls a job until it finished; returns it. */
async function finished(client: Client, id: string) {
  return until(`job ${id}`, async () => {
    const res = await client.gql(
      `query($id: ID!) { job(id: $id) { id kind status progress error startedAt finishedAt result { __typename ... on SyncResult { table copied total tombstoned } } } }`,
      { id },
    );
    const job = res.data?.job;
    return job && (job.status === 'SUCCEEDED' || job.status === 'FAILED') && job;
  });
}

describe('backfill as a job', () => {
  it('queues a backfill for an admin, which a worker runs; refuses anyone else without touching anything', async () => {
    const FORCE = `mutation { forceSync(table: "protocols") { id kind status } }`;
    expect((await stack.gql(FORCE)).errors![0]!.extensions!['code']).toBe('UNAUTHENTICATED');
    expect((await (await stack.as('demo')).gql(FORCE)).errors![0]!.extensions!['code']).toBe('FORBIDDEN');
    const queued = await admin.gql(FORCE);
    expect(queued.errors).toBeUndefined();
    expect(queued.data!.forceSync).toMatchObject({ kind: 'BACKFILL', status: expect.stringMatching(/QUEUED|RUNNING/) });
    const job = await finished(admin, queued.data!.forceSync.id);
    expect(job).toMatchObject({
      status: 'SUCCEEDED',
      progress: 1,
      result: { __typename: 'SyncResult', table: 'protocols', copied: 12, total: 12 },
    });
    expect(new Date(job.finishedAt).getTime()).toBeGreaterThanOrEqual(new Date(job.startedAt).getTime());
    const history = await admin.gql(`{ jobs(last: 5) { id kind status } }`);
    expect(history.data!.jobs[0]).toMatchObject({ id: job.id, kind: 'BACKFILL', status: 'SUCCEEDED' });
    expect((await admin.gql(`mutation { forceSync(table: "users") { id } }`)).errors![0]!.extensions!['code']).toBe(
      'INVALID_ARGUMENT',
    );
  });

  it('tombstones replica rows whose source row is gone', async () => {
    // A replica row Postgres never had (as if its delete had been lost).
    await stack.tiers.clickhouse.insert('protocols', [
      { id: 'zz-ghost', name: 'Ghost', category: 'dex', chain: 'ethereum', tvl_usd: '1', _version: 1, _deleted: 0 },
    ]);
    const live = async () =>
      (
        await stack.tiers.clickhouse.query<{ n: string }>(
          `SELECT toString(count()) AS n FROM protocols FINAL WHERE id = 'zz-ghost' AND _deleted = 0`,
        )
      )[0]!.n;
    expect(await live()).toBe('1');
    const queued = await admin.gql(`mutation { forceSync(table: "protocols") { id } }`);
    const job = await finished(admin, queued.data!.forceSync.id);
    expect(job.result.tombstoned).toBe(1);
    expect(await live()).toBe('0');
  });
});
