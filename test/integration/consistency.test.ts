/**
 * Cross-database consistency through the API a client uses: validation and reconciliation are
 * jobs a worker runs; drift of every kind injected into ClickHouse, the vector index and Redis
 * is found exactly, repaired exactly, and a second validation is clean. (The diff engine's own
 * tests, with live CDC and the canonical encoding per column type, are in sync-worker/consistency.)
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toReplicaRow } from '../../domain/replica-rows.ts';
import { tableSpec, type ReplicaSpec, type TableSpec } from '../../domain/tables.ts';
import { profile, startStack, until, type Client, type Stack } from '../stack.ts';

let stack: Stack;
let admin: Client;
beforeAll(async () => {
  stack = await startStack({ worker: true });
  admin = await stack.admin();
});
afterAll(() => stack?.stop());

const REPORT = `
  isValid tolerancePercent
  tables { table replica isValid postgresRows clickhouseRows difference percentageDiff withinTolerance
           missing { total keys } extra { total keys } different { total keys } rowsCompared bytesMoved }
  orphans { relation count sampleKeys }
  hotData { isValid checked absent { total } stale { total keys } }
  vector { isValid postgresEmbeddings indexedPoints missing { total keys } stale { total keys } extra { total keys } }`;
const JOB = `id kind status progress error requestedBy result {
  __typename
  ... on ConsistencyReport { ${REPORT} }
  ... on ReconcileReport { table dryRun inserted { total keys } updated { total keys } tombstoned { total keys } } }`;

async function run(mutation: string, variables: Record<string, unknown> = {}) {
  const queued = await admin.gql(mutation, variables);
  expect(queued.errors).toBeUndefined();
  const id = (Object.values(queued.data!)[0] as { id: string }).id;
  return until(
    `job ${id}`,
    async () => {
      const job = (await admin.gql(`query($id: ID!) { job(id: $id) { ${JOB} } }`, { id })).data?.job;
      return job && ['SUCCEEDED', 'FAILED'].includes(job.status) && job;
    },
    60_000,
  );
}
const validate = (tables?: string[]) =>
  run(`mutation($t: [String!]) { validateConsistency(tables: $t) { id } }`, { t: tables ?? null });
const reconcile = (table: string, dryRun: boolean) =>
  run(`mutation($t: String!, $d: Boolean!) { reconcile(table: $t, dryRun: $d) { id } }`, { t: table, d: dryRun });

const replicated = (name: string) => tableSpec(name) as TableSpec & { replica: ReplicaSpec };

describe('validation and reconciliation as jobs', () => {
  it('finds a clean deployment valid, per table, with counts and the time taken', async () => {
    const job = await validate();
    expect(job.status).toBe('SUCCEEDED');
    expect(job.requestedBy).toMatch(/^user:/);
    const report = job.result;
    expect(report.__typename).toBe('ConsistencyReport');
    expect(report.isValid).toBe(true);
    expect(report.tolerancePercent).toBe(1);
    expect(report.tables.map((t: { table: string }) => t.table).sort()).toEqual([
      'portfolio_holdings',
      'protocols',
      'transaction_history',
    ]);
    for (const t of report.tables) {
      expect(t).toMatchObject({
        isValid: true,
        difference: 0,
        percentageDiff: 0,
        withinTolerance: true,
        missing: { total: 0 },
        extra: { total: 0 },
        different: { total: 0 },
      });
      expect(t.postgresRows).toBeGreaterThan(0);
    }
    expect(report.vector).toMatchObject({
      isValid: true,
      missing: { total: 0 },
      stale: { total: 0 },
      extra: { total: 0 },
    });
    expect(report.hotData.isValid).toBe(true);
    expect(report.orphans.every((o: { count: number }) => o.count === 0)).toBe(true);
  });

  it('names exactly the injected drift of every kind, repairs it with a dry run first, and validates clean after', async () => {
    const spec = replicated('transaction_history');
    const pg = stack.tiers.postgres;
    const ch = stack.tiers.clickhouse;
    const ids = (
      await pg.query<{ id: string }>(`SELECT id::text AS id FROM transaction_history ORDER BY id LIMIT 6`)
    ).map((r) => r.id);
    const [missingKey, changedKey, decimalKey, deletedKey, bypassKey] = ids as [string, string, string, string, string];
    const row = async (id: string) =>
      (await pg.query<Record<string, unknown>>(`SELECT * FROM transaction_history WHERE id = $1`, [id]))[0]!;
    const version = async (id: string) =>
      BigInt(
        (
          await ch.query<{ v: string }>(
            `SELECT toString(max(_version)) AS v FROM transactions WHERE id = {id:UInt64}`,
            { id },
          )
        )[0]!.v,
      );
    // A row missing in ClickHouse: tombstoned there behind Postgres's back.
    await ch.insert('transactions', [
      toReplicaRow(spec, await row(missingKey), { version: String((await version(missingKey)) + 1n), deleted: true }),
    ]);
    // A changed value, and a change at the 18th decimal place.
    await ch.insert('transactions', [
      toReplicaRow(
        spec,
        { ...(await row(changedKey)), type: 'CLAIM', tx_hash: null },
        { version: String((await version(changedKey)) + 1n), deleted: false },
      ),
    ]);
    const d = await row(decimalKey);
    const amount = String(d['amount']).replace(/(\d)$/, (x) => String((Number(x) + 1) % 10));
    await ch.insert('transactions', [
      toReplicaRow(spec, { ...d, amount }, { version: String((await version(decimalKey)) + 1n), deleted: false }),
    ]);
    // An extra row ClickHouse has and Postgres never had.
    const extraRow = { ...d, id: '987654321' };
    await ch.insert('transactions', [toReplicaRow(spec, extraRow, { version: '1', deleted: false })]);
    // A deleted row still present in ClickHouse: deleted in Postgres without capture.
    // A source row changed with its capture trigger disabled.
    await pg.transaction(async (tx) => {
      await tx.query(`SET LOCAL session_replication_role = replica`);
      await tx.query(`DELETE FROM transaction_history WHERE id = $1`, [deletedKey]);
      await tx.query(`UPDATE transaction_history SET amount = amount + 1 WHERE id = $1`, [bypassKey]);
    });

    const found = await validate(['transaction_history']);
    const t = found.result.tables[0];
    expect(found.result.isValid).toBe(false);
    expect(t.isValid).toBe(false);
    expect(t.missing.keys).toEqual([missingKey]);
    expect(t.extra.keys.sort()).toEqual([deletedKey, '987654321'].sort());
    expect(t.different.keys.sort()).toEqual(
      [changedKey, decimalKey, bypassKey].sort((a, b) => Number(a) - Number(b)).sort(),
    );
    // Equal rows were proven equal by range checksums, not fetched.
    expect(t.rowsCompared).toBeLessThan(t.postgresRows);

    const plan = await reconcile('transaction_history', true);
    expect(plan.result).toMatchObject({
      __typename: 'ReconcileReport',
      dryRun: true,
      inserted: { total: 1 },
      updated: { total: 3 },
      tombstoned: { total: 2 },
    });
    expect((await validate(['transaction_history'])).result.isValid).toBe(false);

    const applied = await reconcile('transaction_history', false);
    expect(applied.result).toMatchObject({ dryRun: false, inserted: { keys: [missingKey] }, tombstoned: { total: 2 } });
    expect(applied.result.updated.keys.sort()).toEqual([changedKey, decimalKey, bypassKey].sort());
    const clean = await validate(['transaction_history']);
    expect(clean.result.isValid).toBe(true);
    // Idempotent: nothing left to do.
    expect((await reconcile('transaction_history', false)).result).toMatchObject({
      inserted: { total: 0 },
      updated: { total: 0 },
      tombstoned: { total: 0 },
    });
  });

  it('finds holdings pointing at a missing asset (written with foreign-key triggers bypassed)', async () => {
    const user = await stack.userId('user09');
    const [orphan] = await stack.tiers.postgres.transaction(async (tx) => {
      await tx.query(`SET LOCAL session_replication_role = replica`);
      return tx.query<{ id: string }>(
        `INSERT INTO portfolio_holdings (user_id, asset_id, quantity) VALUES ($1, 'GHOST', 1) RETURNING id::text AS id`,
        [user],
      );
    });
    const report = (await validate(['protocols'])).result;
    const relation = report.orphans.find((o: { relation: string }) =>
      o.relation.startsWith('portfolio_holdings.asset_id'),
    );
    expect(relation).toMatchObject({ count: 1, sampleKeys: [orphan!.id] });
    expect(report.isValid).toBe(false);
    await stack.tiers.postgres.query(`DELETE FROM portfolio_holdings WHERE id = $1`, [orphan!.id]);
  });

  it('finds the vector index missing, stale and extra points, and repairs it from asset_embeddings', async () => {
    const vector = stack.tiers.vector;
    await vector.remove(['ETH']);
    await vector.upsert([
      { id: 'SOL', vector: Array.from({ length: vector.dimensions }, (_, i) => (i === 7 ? 1 : 0)) },
    ]);
    await vector.upsert([{ id: 'NOT-AN-ASSET', vector: Array.from({ length: vector.dimensions }, () => 1) }]);
    const found = (await validate(['protocols'])).result.vector;
    expect(found).toMatchObject({
      isValid: false,
      missing: { keys: ['ETH'] },
      stale: { keys: ['SOL'] },
      extra: { keys: ['NOT-AN-ASSET'] },
    });
    const repaired = await reconcile('asset_embeddings', false);
    expect(repaired.result).toMatchObject({
      inserted: { keys: ['ETH'] },
      updated: { keys: ['SOL'] },
      tombstoned: { keys: ['NOT-AN-ASSET'] },
    });
    expect((await validate(['protocols'])).result.vector.isValid).toBe(true);
  });

  it('is for admins only, and refuses tables that have no replica', async () => {
    const demo = await stack.as('demo');
    expect((await demo.gql(`mutation { validateConsistency { id } }`)).errors![0]!.extensions!['code']).toBe(
      'FORBIDDEN',
    );
    expect((await stack.gql(`mutation { reconcile(table: "protocols") { id } }`)).errors![0]!.extensions!['code']).toBe(
      'UNAUTHENTICATED',
    );
    const bad = await admin.gql(`mutation { reconcile(table: "users") { id } }`);
    expect(bad.errors![0]!.extensions!['code']).toBe('INVALID_ARGUMENT');
  });

  it('shows the latest verdict in the health of the integration', async () => {
    const latest = await validate();
    const health = (
      await admin.gql(`{ health { status consistency { isValid jobId checkedAt } tiers { name status } } }`)
    ).data!.health;
    expect(health.consistency, JSON.stringify(latest.result)).toMatchObject({ isValid: true, jobId: latest.id });
    expect(health.tiers.every((t: { status: string }) => t.status === 'UP')).toBe(true);
  });
});

describe('Redis that lost its data', () => {
  it('is detected and its hot data rebuilt while the stack runs; hot prices equal ClickHouse afterwards', async () => {
    if (profile !== 'real') return;
    const redis = new Redis(stack.config.redis.url!);
    try {
      // FLUSHDB of this stack's keys only (the Redis server is shared by the test run).
      const keys = await redis.keys(`${stack.config.redis.keyPrefix}*`);
      expect(keys.length).toBeGreaterThan(0);
      await redis.del(...keys);
      const rebuilt = await until(
        'hot data rebuilt',
        () => stack.worker!.status().hotData.redisRebuilds >= 2 && stack.worker!.status().hotData,
        30_000,
      );
      expect(rebuilt.redisRebuilds).toBeGreaterThanOrEqual(2);
      const prices = await redis.keys(`${stack.config.redis.keyPrefix}price:*`);
      expect(prices.length).toBe(40);
      const report = (await validate(['protocols'])).result.hotData;
      expect(report).toMatchObject({ isValid: true, checked: 40, absent: { total: 0 }, stale: { total: 0 } });
    } finally {
      redis.disconnect();
    }
  });
});

describe('scheduled validation', () => {
  it('queues a validation every VALIDATE_INTERVAL_MS, once for all workers', async () => {
    const scheduled = await startStack({ worker: true, env: { VALIDATE_INTERVAL_MS: '600000' } });
    try {
      const other = (await import('../../bin/runtime.ts')).buildWorker(scheduled.runtime);
      await other.start();
      const adminOf = await scheduled.admin();
      const jobs = await until(
        'a scheduled validation',
        async () => {
          const list = (await adminOf.gql(`{ jobs(last: 10) { kind status requestedBy } }`)).data?.jobs as Array<{
            kind: string;
            status: string;
            requestedBy: string;
          }>;
          return list?.some((j) => j.requestedBy === 'schedule' && j.status === 'SUCCEEDED') && list;
        },
        60_000,
      );
      expect(jobs.filter((j) => j.requestedBy === 'schedule')).toHaveLength(1);
      await other.stop();
    } finally {
      await scheduled.stop();
    }
  });
});
