/** findOrphans on real Postgres: rows written with foreign-key triggers bypassed are found, per relation. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { findOrphans } from './find-orphans.ts';
import { openTestTiers, seedSource, withoutTriggers, type TestTiers } from '../../test/consistency-tiers.ts';

let tiers: TestTiers;
beforeAll(async () => {
  tiers = await openTestTiers();
  await seedSource(tiers.postgres, { transactions: 200 });
});
afterAll(() => tiers?.close());

const summary = (result: Awaited<ReturnType<typeof findOrphans>>) =>
  Object.fromEntries(
    result.relations
      .filter((r) => r.count > 0)
      .map((r) => [`${r.relation.table}.${r.relation.column}`, [r.count, r.sampleKeys]]),
  );

it('finds none in a consistent database, in one statement', async () => {
  tiers.counter.reset();
  expect(await findOrphans({ postgres: tiers.postgres })).toMatchObject({ total: 0 });
  expect(tiers.counter.count('postgres')).toBe(1);
});

it('counts orphans per relation, with the smallest keys as samples', async () => {
  await withoutTriggers(tiers.postgres, async (tx) => {
    // A transaction for a user and an asset that never existed.
    await tx.query(
      `INSERT INTO transaction_history (id, user_id, asset_id, type, amount) OVERRIDING SYSTEM VALUE VALUES (100000, 999999, 'NOPE', 'SWAP', 1)`,
    );
    // A user deleted without its cascade: their holdings and transactions stay behind.
    await tx.query('DELETE FROM users WHERE id = 7');
    // A protocol deleted while holdings and transactions refer to it.
    await tx.query(`DELETE FROM protocols WHERE id = 'Aave-v2'`);
  });
  const [{ holdings7, tx7, txAave }] = (await tiers.postgres.query(
    `SELECT (SELECT count(*)::int FROM portfolio_holdings WHERE user_id = 7) AS "holdings7",
            (SELECT count(*)::int FROM transaction_history WHERE user_id = 7) AS "tx7",
            (SELECT count(*)::int FROM transaction_history WHERE protocol_id = 'Aave-v2') AS "txAave"`,
  )) as [{ holdings7: number; tx7: number; txAave: number }];
  const result = await findOrphans({ postgres: tiers.postgres, sampleSize: 2 });
  const firstTx7 = await tiers.postgres.query<{ id: string }>(
    'SELECT t.id::text AS id FROM transaction_history t WHERE t.user_id = 7 ORDER BY t.id LIMIT 2',
  );
  expect(summary(result)).toMatchObject({
    'portfolio_holdings.user_id': [holdings7, expect.any(Array)],
    'transaction_history.user_id': [tx7 + 1, firstTx7.map((r) => r.id)],
    'transaction_history.asset_id': [1, ['100000']],
    'transaction_history.protocol_id': [txAave, expect.any(Array)],
  });
  expect(Object.keys(summary(result))).toHaveLength(4);
  expect(result.total).toBe(holdings7 + tx7 + 1 + 1 + txAave);
});
