/**
 * Convergence of the ClickHouse replicas (real chDB): the same batch applied twice, or two
 * batches applied out of order, leave the same answer as applying them once in order.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../lib/logger.ts';
import { migrateClickhouse } from '../../migrations/migrate.ts';
import { createEmbeddedClickhouse, type Clickhouse } from '../../stores/clickhouse.ts';
import type { Change } from '../../changelog/change.ts';
import { createClickhouseSink } from './clickhouse-sink.ts';

let clickhouse: Clickhouse;
beforeAll(async () => {
  clickhouse = await createEmbeddedClickhouse({ dataDir: ':memory:', observer: () => {} });
  await migrateClickhouse({ clickhouse, logger: createLogger({ level: 'silent' }) });
});
afterAll(() => clickhouse?.close());

let nextId = 1;
function holdingChanges(id: string): Change[] {
  const base = { user_id: '7', asset_id: 'ETH', protocol_id: null, updated_at: '2026-11-25T10:00:00+00:00' };
  const change = (
    seq: number,
    operation: Change['operation'],
    before: object | null,
    after: object | null,
  ): Change => ({
    id: `c${seq}`,
    seq: String(seq),
    table: 'portfolio_holdings',
    operation,
    rowKey: id,
    before: before as Change['before'],
    after: after as Change['after'],
    timestamp: new Date('2026-11-25T10:00:00Z'),
    transactionId: String(1000 + seq),
    retryCount: 0,
  });
  const v1 = { ...base, id, quantity: '1', value_usd: '100' };
  const v2 = { ...base, id, quantity: '2.5', value_usd: '250' };
  const v3 = { ...base, id, quantity: '4', value_usd: '400.000000000000000001' };
  const s = nextId++ * 10;
  return [change(s + 1, 'INSERT', null, v1), change(s + 2, 'UPDATE', v1, v2), change(s + 3, 'UPDATE', v2, v3)];
}

async function state(id: string) {
  const rows = await clickhouse.query<{ quantity: string; value_usd: string }>(
    `SELECT toString(quantity) AS quantity, toString(value_usd) AS value_usd FROM portfolio_holdings FINAL WHERE id = {id:UInt64} AND _deleted = 0`,
    { id },
  );
  const raw = await clickhouse.query<{ n: string }>(
    `SELECT toString(count()) AS n FROM portfolio_holdings WHERE id = {id:UInt64}`,
    { id },
  );
  return { rows, rawRows: Number(raw[0]!.n) };
}

describe('ClickHouse replica convergence', () => {
  it('leaves the same answer when a batch is applied twice', async () => {
    const changes = holdingChanges('101');
    await createClickhouseSink({ clickhouse }).apply(changes);
    const once = await state('101');
    await createClickhouseSink({ clickhouse }).apply(changes);
    const twice = await state('101');
    // Repeats are stored (inserts are blind) but readers see one current row.
    expect(twice.rawRows).toBeGreaterThanOrEqual(once.rawRows);
    expect(twice.rows).toEqual(once.rows);
    expect(once.rows).toEqual([{ quantity: '4', value_usd: '400.000000000000000001' }]);
    const activity = await clickhouse.query<{ n: string }>(
      `SELECT toString(count()) AS n FROM user_activity FINAL WHERE change_seq IN (11, 12, 13)`,
    );
    expect(activity[0]!.n).toBe('3');
  });

  it('leaves the same answer when batches arrive out of order', async () => {
    const [a, b, c] = holdingChanges('102');
    await createClickhouseSink({ clickhouse }).apply([c!]);
    await createClickhouseSink({ clickhouse }).apply([a!, b!]);
    expect((await state('102')).rows).toEqual([{ quantity: '4', value_usd: '400.000000000000000001' }]);
  });

  it('keeps a delete as a tombstone that an older, late change cannot resurrect', async () => {
    const [insert, update] = holdingChanges('103');
    const del: Change = {
      ...update!,
      id: 'del',
      seq: '99999',
      operation: 'DELETE',
      before: update!.after,
      after: null,
    };
    await createClickhouseSink({ clickhouse }).apply([insert!, del]);
    await createClickhouseSink({ clickhouse }).apply([update!]);
    expect((await state('103')).rows).toEqual([]);
  });
});
