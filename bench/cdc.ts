/**
 * CDC throughput and latency: rows committed to Postgres (real server) until every sink has
 * taken them (the ClickHouse replica and activity log in chDB, then Kafka, a real broker),
 * measured by the worker's apply hook. Scenarios side by side in one run: a fixed rate (single-row
 * transactions) and saturation (200-row transactions as fast as Postgres takes them), with
 * 1 and 2 workers. The 2 workers share this process: chDB allows one data directory per
 * process (with a ClickHouse server they would be separate processes).
 * Usage: npm run bench:cdc [-- --duration 10 --rate 1000]
 * Writes bench/results/cdc.json and prints a Markdown table.
 */
import pg from 'pg';
import { buildWorker } from '../bin/runtime.ts';
import type { Change } from '../changelog/change.ts';
import { openBenchTiers } from './real-tiers.ts';
import { machineLine, numberArg, quantile, saveResults } from './harness.ts';

const durationS = numberArg('duration', 10);
const fixedRate = numberArg('rate', 1000);
const { config, tiers, runtime, close } = await openBenchTiers({ name: 'cdc', env: { PG_POOL_MAX: '16' } });
await tiers.postgres.query(`INSERT INTO assets (id, symbol, name, chain) VALUES ('ETH', 'ETH', 'Ether', 'ethereum')`);
const [{ id: userId }] = (await tiers.postgres.query<{ id: string }>(
  `INSERT INTO users (handle, display_name) VALUES ('bench', 'Bench') RETURNING id::text AS id`,
)) as [{ id: string }];
// A separate pool for the writers, as another program writing to Postgres would be.
const writers = new pg.Pool({ connectionString: config.postgres.url, max: 8 });

interface Row {
  scenario: string;
  workers: number;
  changes: number;
  commitRatePerSec: number;
  appliedPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

async function scenario(
  name: string,
  workerCount: number,
  write: (commit: (ids: string[]) => void, until: number) => Promise<void>,
): Promise<Row> {
  const committedAt = new Map<string, number>();
  const appliedAt = new Map<string, number>();
  const onApplied = (changes: readonly Change[]) => {
    const now = performance.now();
    for (const c of changes) if (!appliedAt.has(c.rowKey)) appliedAt.set(c.rowKey, now);
  };
  const workers = Array.from({ length: workerCount }, () => buildWorker(runtime, { onApplied }));
  for (const w of workers) await w.start();
  const started = performance.now();
  await write(
    (ids) => {
      const now = performance.now();
      for (const id of ids) committedAt.set(id, now);
    },
    started + durationS * 1000,
  );
  const writeEnded = performance.now();
  const deadline = Date.now() + 120_000;
  while ([...committedAt.keys()].some((id) => !appliedAt.has(id)) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 20));
  for (const w of workers) await w.stop();
  const latencies = [...committedAt].map(([id, t]) => (appliedAt.get(id) ?? Infinity) - t).sort((a, b) => a - b);
  // A loop, not Math.max(...all): a saturation run commits more rows than a call's arguments may hold.
  let lastApplied = 0;
  for (const id of committedAt.keys()) lastApplied = Math.max(lastApplied, appliedAt.get(id) ?? Infinity);
  return {
    scenario: name,
    workers: workerCount,
    changes: committedAt.size,
    commitRatePerSec: Math.round(committedAt.size / ((writeEnded - started) / 1000)),
    appliedPerSec: Math.round(committedAt.size / ((lastApplied - started) / 1000)),
    p50Ms: Math.round(quantile(latencies, 0.5) * 10) / 10,
    p99Ms: Math.round(quantile(latencies, 0.99) * 10) / 10,
    maxMs: Math.round((latencies.at(-1) ?? 0) * 10) / 10,
  };
}

/** Single-row transactions at a fixed rate, paced every 10 ms. */
const fixed = (rate: number) => async (commit: (ids: string[]) => void, until: number) => {
  const perTick = rate / 100;
  let due = performance.now();
  const inflight = new Set<Promise<void>>();
  let carry = 0;
  while (performance.now() < until) {
    carry += perTick;
    for (; carry >= 1; carry--) {
      const p = writers
        .query(
          `INSERT INTO transaction_history (user_id, asset_id, type, amount) VALUES ($1, 'ETH', 'SWAP', '1.5') RETURNING id::text AS id`,
          [userId],
        )
        .then((r) => commit(r.rows.map((x) => x.id)));
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
    }
    due += 10;
    await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
  }
  await Promise.all(inflight);
};

/** 200-row transactions from 4 writers, as fast as Postgres commits them. */
const saturate = async (commit: (ids: string[]) => void, until: number) => {
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (performance.now() < until) {
        const r = await writers.query(
          `INSERT INTO transaction_history (user_id, asset_id, type, amount) SELECT $1, 'ETH', 'SWAP', '2.5' FROM generate_series(1, 200) RETURNING id::text AS id`,
          [userId],
        );
        commit(r.rows.map((x) => x.id));
      }
    }),
  );
};

const rows: Row[] = [];
try {
  // Warm-up: topics created, pools and chDB started.
  await scenario('warm-up', 1, fixed(200));
  for (const workers of [1, 2]) {
    rows.push(await scenario(`fixed ${fixedRate}/s, 1-row transactions`, workers, fixed(fixedRate)));
    rows.push(await scenario('saturation, 200-row transactions x 4 writers', workers, saturate));
  }
} finally {
  await writers.end();
  await close();
}

saveResults('cdc', {
  durationS,
  batchSize: config.cdc.batchSize,
  sinks: 'ClickHouse (chDB) + Redis 7 + Kafka 4.4',
  rows,
});
console.log(`Machine: ${machineLine}; ${durationS} s per scenario; commit -> ClickHouse + Redis + Kafka\n`);
console.log(
  '| scenario | workers | changes | committed/s | applied/s | p50 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|---:|---:|---:|',
);
for (const r of rows)
  console.log(
    `| ${r.scenario} | ${r.workers} | ${r.changes} | ${r.commitRatePerSec} | ${r.appliedPerSec} | ${r.p50Ms} | ${r.p99Ms} | ${r.maxMs} |`,
  );
process.exit(0);
