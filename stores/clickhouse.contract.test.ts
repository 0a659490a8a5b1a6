/**
 * The ClickHouse tier's contract. Only chDB (embedded) runs here: no usable ClickHouse server
 * exists in this machine's registries. The server implementation shares every line but the
 * connection (`createServerClickhouse`), and must pass this suite against a server.
 */
import { describe, expect, it } from 'vitest';
import { AppError } from '../lib/errors.ts';
import { createEmbeddedClickhouse, type Clickhouse } from './clickhouse.ts';
import { noopObserver } from './observer.ts';

const implementations: Array<[string, () => Promise<Clickhouse>]> = [
  ['embedded', () => createEmbeddedClickhouse({ dataDir: ':memory:', observer: noopObserver })],
];

describe.each(implementations)('clickhouse (%s)', (_, open) => {
  it('inserts rows, queries with typed parameters, keeps decimals exact as strings', async () => {
    const ch = await open();
    try {
      await ch.ping();
      await ch.command(
        `CREATE TABLE IF NOT EXISTS contract_t (id UInt64, v Decimal(38, 18)) ENGINE = MergeTree ORDER BY id`,
      );
      await ch.insert('contract_t', [
        { id: 1, v: '0.000000000000000001' },
        { id: 2, v: '12345678901234567890.5' },
      ]);
      const rows = await ch.query<{ id: string; v: string }>(
        `SELECT toString(id) AS id, toString(v) AS v FROM contract_t WHERE id IN {ids:Array(UInt64)} ORDER BY id`,
        { ids: [1, 2] },
      );
      expect(rows).toEqual([
        { id: '1', v: '0.000000000000000001' },
        { id: '2', v: '12345678901234567890.5' },
      ]);
    } finally {
      await ch.close();
    }
  });

  it('reports a bad statement as an error of the statement, not as the tier being unavailable', async () => {
    const ch = await open();
    try {
      const error = await ch.query('SELEC nonsense').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expect(error instanceof AppError && error.code === 'TIER_UNAVAILABLE').toBe(false);
    } finally {
      await ch.close();
    }
  });
});
