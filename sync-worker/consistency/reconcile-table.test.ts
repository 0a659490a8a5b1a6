/**
 * reconcileTable on real Postgres and chDB: a dry run plans and writes nothing; a run repairs
 * exactly the drifted keys with the documented versions; the next diff is clean; running it
 * again writes nothing; and a later captured change still wins over a repair.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toReplicaRow } from '../../domain/replica-rows.ts';
import { tableSpec } from '../../domain/tables.ts';
import type { Clickhouse } from '../../stores/clickhouse.ts';
import type { Postgres } from '../../stores/postgres.ts';
import type { ReplicatedTable } from './canonical-encoding.ts';
import { diffTable } from './diff-table.ts';
import { reconcileTable } from './reconcile-table.ts';
import {
  injectDrift,
  openTestTiers,
  replicaRow,
  replicateAll,
  seedSource,
  type InjectedDrift,
  type TestTiers,
} from '../../test/consistency-tiers.ts';

const transactions = tableSpec('transaction_history') as ReplicatedTable;
const protocols = tableSpec('protocols') as ReplicatedTable;

let tiers: TestTiers;
let postgres: Postgres;
let clickhouse: Clickhouse;
let injected: Record<'transactions' | 'protocols', InjectedDrift>;
beforeAll(async () => {
  tiers = await openTestTiers();
  ({ postgres, clickhouse } = tiers);
  await seedSource(tiers.postgres, { transactions: 5_000 });
  await replicateAll(tiers);
  injected = await injectDrift(tiers);
});
afterAll(() => tiers?.close());

const drift = async (table: ReplicatedTable) => {
  const d = await diffTable({ postgres, clickhouse, table });
  return { missing: d.missing, extra: d.extra, different: d.different };
};
/** Every version ClickHouse holds for a key, tombstones included. */
const versions = async (table: ReplicatedTable, key: string) =>
  (
    await clickhouse.query<{ v: string }>(
      `SELECT toString(max(_version)) AS v FROM ${table.replica.table} WHERE toString(${table.key.column}) = {key:String}`,
      { key },
    )
  )[0]!.v;
const lastSeq = async (table: ReplicatedTable, key: string) =>
  (
    await postgres.query<{ seq: string }>(
      `SELECT coalesce(max(seq), 0)::text AS seq FROM cdc.change_log WHERE table_name = $1 AND row_key = $2`,
      [table.name, key],
    )
  )[0]!.seq;

describe('reconcileTable', () => {
  it('plans in a dry run and writes nothing', async () => {
    const plan = await reconcileTable({ postgres, clickhouse, table: transactions, dryRun: true });
    expect(plan).toMatchObject({ dryRun: true, inserted: 2, updated: 5, tombstoned: 2, inFlight: 0 });
    expect(plan.keys.inserted).toEqual(injected.transactions.missing);
    expect(plan.keys.updated).toEqual(injected.transactions.different);
    expect(plan.keys.tombstoned).toEqual(injected.transactions.extra);
    expect(await drift(transactions)).toEqual(injected.transactions);
  });

  it('repairs exactly the drifted keys, with max(last change, replica version + 1) as version', async () => {
    const before = {
      bypassed: { seq: await lastSeq(transactions, '505'), version: await versions(transactions, '505') },
      rewritten: { seq: await lastSeq(transactions, '303'), version: await versions(transactions, '303') },
      extra: await versions(transactions, '50000000'),
    };
    const report = await reconcileTable({
      postgres,
      clickhouse,
      table: transactions,
      keys: injected.transactions,
      dryRun: false,
    });
    expect(report).toMatchObject({
      dryRun: false,
      inserted: 2,
      updated: 5,
      tombstoned: 2,
      unchanged: 0,
      diff: undefined,
    });
    expect(await drift(transactions)).toEqual({ missing: [], extra: [], different: [] });
    // Changed in Postgres without capture: the replica held the last change's version; the repair outranks it by one.
    expect(before.bypassed.version).toBe(before.bypassed.seq);
    expect(await versions(transactions, '505')).toBe(String(BigInt(before.bypassed.version) + 1n));
    // Rewritten in ClickHouse at version + 1: the repair goes one above that.
    expect(await versions(transactions, '303')).toBe(String(BigInt(before.rewritten.version) + 1n));
    // An extra row is tombstoned one version above its own.
    expect(await versions(transactions, '50000000')).toBe(String(BigInt(before.extra) + 1n));
    expect(await replicaRow(clickhouse, transactions, '50000000')).toBeUndefined();
  });

  it('is idempotent: the same keys again, or a fresh diff, write nothing', async () => {
    const rows = async () =>
      (await clickhouse.query<{ n: string }>('SELECT toString(count()) AS n FROM transactions'))[0]!.n;
    const count = await rows();
    const again = await reconcileTable({
      postgres,
      clickhouse,
      table: transactions,
      keys: injected.transactions,
      dryRun: false,
    });
    expect(again).toMatchObject({ inserted: 0, updated: 0, tombstoned: 0, unchanged: 9 });
    const fresh = await reconcileTable({ postgres, clickhouse, table: transactions, dryRun: false });
    expect(fresh).toMatchObject({ inserted: 0, updated: 0, tombstoned: 0, unchanged: 0 });
    expect(fresh.diff).toMatchObject({ missingTotal: 0, extraTotal: 0, differentTotal: 0 });
    expect(await rows()).toBe(count);
  });

  it('diffs first when no keys are given, on text keys too', async () => {
    const report = await reconcileTable({ postgres, clickhouse, table: protocols, dryRun: false });
    expect(report.diff).toMatchObject(injected.protocols);
    expect(report.keys).toMatchObject({
      inserted: injected.protocols.missing,
      updated: injected.protocols.different,
      tombstoned: injected.protocols.extra,
    });
    expect(await drift(protocols)).toEqual({ missing: [], extra: [], different: [] });
  });

  it('lets a change captured after a repair win, and skips a key whose change is in flight', async () => {
    // 505 was repaired at (its last change + 1); the next captured change has a higher sequence.
    await postgres.query(`UPDATE transaction_history SET value_usd = 42 WHERE id = 505`);
    const [change] = await postgres.query<{ seq: string; doc: Record<string, unknown> }>(
      `SELECT seq::text AS seq, new_record AS doc FROM cdc.change_log WHERE table_name = 'transaction_history' AND row_key = '505' AND NOT processed`,
    );
    expect(BigInt(change!.seq)).toBeGreaterThan(BigInt(await versions(transactions, '505')));
    // In flight: the reconciliation leaves it to the worker.
    const skipped = await reconcileTable({
      postgres,
      clickhouse,
      table: transactions,
      keys: { missing: [], extra: [], different: ['505'] },
      dryRun: false,
    });
    expect(skipped).toMatchObject({ updated: 0, inFlight: 1, keys: { inFlight: ['505'] } });
    // The worker's write (version = its sequence) wins over the repair.
    await clickhouse.insert('transactions', [
      toReplicaRow(transactions, change!.doc, { version: change!.seq, deleted: false }),
    ]);
    await postgres.query('UPDATE cdc.change_log SET processed = true, processed_at = now() WHERE seq = $1', [
      change!.seq,
    ]);
    expect((await replicaRow(clickhouse, transactions, '505'))!['value_usd']).toBe('42');
    expect(await drift(transactions)).toEqual({ missing: [], extra: [], different: [] });
  });
});
