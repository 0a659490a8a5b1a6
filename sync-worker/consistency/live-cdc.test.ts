/**
 * No false drift during live CDC: while a writer commits about 1,000 changes/s to
 * transaction_history and the sync worker applies them, every diff reports nothing, though
 * it does see keys whose change is in flight (its candidates). A full stack on the real
 * services (Postgres, Redis, Kafka; chDB in this process), from test/stack.ts.
 */
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { replicatedTables, tableSpec, TABLES } from '../../domain/tables.ts';
import { diffTable, type TableDiff } from './diff-table.ts';

// The real profile: a Postgres server (NOTIFY, a pool of connections) behind the worker, as in production.
process.env['TIER_PROFILE'] ??= 'real';
const { startStack, until } = await import('../../test/stack.ts');

type Stack = Awaited<ReturnType<typeof startStack>>;
let stack: Stack;
let writers: pg.Pool;
beforeAll(async () => {
  stack = await startStack({ worker: true, seed: true });
  writers = new pg.Pool({ connectionString: stack.config.postgres.url, max: 16 });
});
afterAll(async () => {
  await writers?.end();
  await stack?.stop();
});

/** Commits single-statement transactions at `ratePerSec` until `signal` aborts; returns how many. */
async function write(ratePerSec: number, signal: AbortSignal): Promise<number> {
  const [{ lo, hi }] = (
    await writers.query<{ lo: string; hi: string }>(
      'SELECT min(id)::text AS lo, max(id)::text AS hi FROM transaction_history',
    )
  ).rows as [{ lo: string; hi: string }];
  const [{ user }] = (await writers.query<{ user: string }>('SELECT min(id)::text AS user FROM users')).rows as [
    { user: string },
  ];
  const span = Number(hi) - Number(lo) + 1;
  const pick = () => String(Number(lo) + Math.floor(Math.random() * span));
  let committed = 0;
  let i = 0;
  const one = async () => {
    const n = i++;
    // Mostly updates (amount at the 18th decimal, the hardest to see), some inserts and deletes.
    const result =
      n % 10 < 6
        ? await writers.query(`UPDATE transaction_history SET amount = amount + 0.000000000000000001 WHERE id = $1`, [
            pick(),
          ])
        : n % 10 < 9
          ? await writers.query(
              `INSERT INTO transaction_history (user_id, asset_id, type, amount, value_usd, occurred_at)
               VALUES ($1, 'ETH', 'SWAP', $2, 1, now())`,
              [user, `${1 + (n % 97)}.000000000000000001`],
            )
          : await writers.query(`DELETE FROM transaction_history WHERE id = $1`, [pick()]);
    committed += result.rowCount ?? 0;
  };
  // Paced every 10 ms and not waiting for the previous tick, as independent clients commit;
  // at most 64 statements outstanding, so a stall slows the writer instead of queueing without bound.
  const perTick = ratePerSec / 100;
  const outstanding = new Set<Promise<void>>();
  let next = Date.now();
  while (!signal.aborted) {
    for (let k = 0; k < perTick && outstanding.size < 64; k++) {
      const p: Promise<void> = one().finally(() => outstanding.delete(p));
      outstanding.add(p);
    }
    next += 10;
    await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
  }
  await Promise.all(outstanding);
  return committed;
}

it('reports no drift while ~1,000 changes/s are committed and applied', async () => {
  const table = tableSpec('transaction_history')!;
  const { postgres, clickhouse } = stack.tiers;
  const stop = new AbortController();
  const started = Date.now();
  const writing = write(1_000, stop.signal);
  await new Promise((r) => setTimeout(r, 1_000));
  const diffs: TableDiff[] = [];
  while (Date.now() - started < 8_000) diffs.push(await diffTable({ postgres, clickhouse, table }));
  stop.abort();
  const committed = await writing;
  const seconds = (Date.now() - started) / 1000;

  expect(committed / seconds).toBeGreaterThan(500);
  for (const d of diffs) {
    expect({ missing: d.missing, extra: d.extra, different: d.different, unsettled: d.unsettled }).toEqual({
      missing: [],
      extra: [],
      different: [],
      unsettled: [],
    });
  }
  // The race was real: diffs met keys whose change was in flight, and the re-check waited them out.
  expect(diffs.reduce((n, d) => n + d.candidates, 0)).toBeGreaterThan(0);
  console.info(
    `live diff: ${Math.round(committed / seconds)} changes/s committed; ${diffs.length} diffs, ` +
      `${diffs.map((d) => d.candidates).join('/')} candidates, ${diffs.map((d) => d.durationMs).join('/')} ms`,
  );

  // Once the worker has caught up, every replica equals its source.
  await until('the worker to catch up', async () => {
    const [row] = await postgres.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM cdc.change_log WHERE NOT processed',
    );
    return row!.n === 0;
  });
  for (const t of replicatedTables(TABLES)) {
    const d = await diffTable({ postgres, clickhouse, table: t, settleTimeoutMs: 0 });
    expect({ table: t.name, missing: d.missingTotal, extra: d.extraTotal, different: d.differentTotal }).toEqual({
      table: t.name,
      missing: 0,
      extra: 0,
      different: 0,
    });
  }
});
