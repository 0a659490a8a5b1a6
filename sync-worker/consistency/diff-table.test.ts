/**
 * diffTable on real Postgres (a database whose default collation is ICU en-US, so text keys
 * sort differently from bytes) and chDB: it names exactly the injected keys, with a cost that
 * follows the differences, and it does not report a change that is only in flight.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toReplicaRow } from '../../domain/replica-rows.ts';
import { tableSpec } from '../../domain/tables.ts';
import type { ReplicatedTable } from './canonical-encoding.ts';
import { diffTable } from './diff-table.ts';
import {
  injectDrift,
  openTestTiers,
  replicateAll,
  seedSource,
  type InjectedDrift,
  type TestTiers,
} from '../../test/consistency-tiers.ts';

const transactions = tableSpec('transaction_history') as ReplicatedTable;
const protocols = tableSpec('protocols') as ReplicatedTable;
const holdings = tableSpec('portfolio_holdings') as ReplicatedTable;
const ROWS = 20_000;

let tiers: TestTiers;
beforeAll(async () => {
  tiers = await openTestTiers({ icuLocale: 'en-US' });
  await seedSource(tiers.postgres, { transactions: ROWS });
  await replicateAll(tiers);
});
afterAll(() => tiers?.close());

const diff = (table: ReplicatedTable, extra: Partial<Parameters<typeof diffTable>[0]> = {}) =>
  diffTable({ postgres: tiers.postgres, clickhouse: tiers.clickhouse, table, ...extra });

describe('diffTable', () => {
  it('finds nothing in a faithful replica, in one level, moving checksums only', async () => {
    const progress: number[] = [];
    const result = await diff(transactions, { onProgress: (f) => progress.push(f) });
    expect(result).toMatchObject({
      postgresRows: ROWS,
      clickhouseRows: ROWS,
      missingTotal: 0,
      extraTotal: 0,
      differentTotal: 0,
      candidates: 0,
      levels: 1,
      rowsCompared: 0,
      // Key bounds and one level, in each database.
      statements: 4,
    });
    // 256 segments of (label, count, checksum) from each side, not 20,000 rows.
    expect(result.bytesMoved).toBeLessThan(2 * 256 * 45);
    expect(progress.at(-1)).toBe(1);
    for (const table of [protocols, holdings]) {
      expect(await diff(table)).toMatchObject({ missingTotal: 0, extraTotal: 0, differentTotal: 0 });
    }
  });

  describe('with injected drift', () => {
    let injected: Record<'transactions' | 'protocols', InjectedDrift>;
    beforeAll(async () => {
      injected = await injectDrift(tiers);
    });

    it('names exactly the injected keys of a bigint-keyed table', async () => {
      const result = await diff(transactions);
      expect({ missing: result.missing, extra: result.extra, different: result.different }).toEqual(
        injected.transactions,
      );
      expect([result.missingTotal, result.extraTotal, result.differentTotal]).toEqual([2, 2, 5]);
      expect(result.unsettled).toEqual([]);
      expect(result.postgresRows).toBe(ROWS);
      expect(result.clickhouseRows).toBe(ROWS);
    });

    it('names exactly the injected keys of a text-keyed table, in byte order', async () => {
      // Small segments force several levels of sampled boundaries on 600-odd keys.
      const result = await diff(protocols, { segments: 4, leafRows: 8 });
      expect({ missing: result.missing, extra: result.extra, different: result.different }).toEqual(injected.protocols);
      expect(result.levels).toBeGreaterThan(2);
    });

    it('costs in proportion to the differences, not to the table', async () => {
      const result = await diff(transactions);
      // The extra key 50,000,000 stretches the grid: the first level puts all 20,000 rows in one
      // segment (and the extra key alone in another), so it takes 3 levels of checksums to reach
      // segments of ≤ 256 rows, and leaves turn up at levels 2 to 4.
      expect(result.levels).toBe(4);
      // Key bounds, 3 levels of checksums, 3 rounds of leaves, the re-check of 9 keys (3 statements).
      expect(result.statements).toBeLessThanOrEqual(2 + 2 * 3 + 2 * 3 + 3);
      expect(result.rowsCompared).toBeLessThan(9 * 256 + 9);
      const naiveBytes = ROWS * 2 * 180;
      expect(result.bytesMoved).toBeLessThan(naiveBytes / 40);
      // With fewer leaf rows, fewer hashes cross (and one more level of checksums).
      const finer = await diff(transactions, { leafRows: 16 });
      expect(finer.different).toEqual(injected.transactions.different);
      expect(finer.rowsCompared).toBeLessThan(result.rowsCompared);
    });

    it('lists at most maxKeys per category but counts them all', async () => {
      const result = await diff(transactions, { maxKeys: 1 });
      expect(result.different).toEqual(['303']);
      expect(result.differentTotal).toBe(5);
    });
  });

  describe('a change in flight', () => {
    it('is not reported when the worker applies it during the re-check', async () => {
      const id = '9001';
      await tiers.postgres.query(`UPDATE transaction_history SET amount = amount + 1 WHERE id = $1`, [id]);
      // A stand-in for the worker: applies the pending change 300 ms later, then marks it processed.
      const apply = (async () => {
        await new Promise((r) => setTimeout(r, 300));
        const [change] = await tiers.postgres.query<{ seq: string; doc: Record<string, unknown> }>(
          `SELECT seq::text AS seq, new_record AS doc FROM cdc.change_log
           WHERE table_name = 'transaction_history' AND row_key = $1 AND NOT processed`,
          [id],
        );
        await tiers.clickhouse.insert('transactions', [
          toReplicaRow(transactions, change!.doc, { version: change!.seq, deleted: false }),
        ]);
        await tiers.postgres.query('UPDATE cdc.change_log SET processed = true, processed_at = now() WHERE seq = $1', [
          change!.seq,
        ]);
      })();
      const result = await diff(transactions, { settleTimeoutMs: 5_000 });
      await apply;
      expect(result.candidates).toBeGreaterThanOrEqual(1);
      expect(result.different).not.toContain(id);
      expect(result.unsettled).toEqual([]);
    });

    it('is reported, as unsettled, when nobody applies it before the deadline', async () => {
      const id = '9002';
      await tiers.postgres.query(`UPDATE transaction_history SET amount = amount + 1 WHERE id = $1`, [id]);
      const started = Date.now();
      const result = await diff(transactions, { settleTimeoutMs: 300 });
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
      expect(result.different).toContain(id);
      expect(result.unsettled).toEqual([id]);
    });

    it('is reported at once when its change was dead-lettered', async () => {
      await tiers.postgres.query(
        `UPDATE cdc.change_log SET dead_lettered = true WHERE table_name = 'transaction_history' AND row_key = '9002' AND NOT processed`,
      );
      const result = await diff(transactions, { settleTimeoutMs: 5_000 });
      expect(result.different).toContain('9002');
      expect(result.unsettled).toEqual([]);
      expect(result.durationMs).toBeLessThan(5_000);
    });
  });
});
