/**
 * The staleness bound of the response cache: how long after a change no client can get the
 * old answer any more. One process runs the gateway and the sync worker on real tiers
 * (Postgres, Redis, Kafka; chDB); polling clients run in a second process, asking back to back
 * for a cached answer while the change happens. Two paths:
 * - a holding updated with plain SQL in Postgres: commit -> worker -> Kafka -> gateway evicts;
 * - a price tick from the market feed (not through the gateway): ingest -> Kafka -> gateway evicts.
 * Per trial: "stale window" = last request that still got the old answer, sent after the change
 * returned; "visible" = first new answer received. The original design allowed 5 s.
 * Usage: npm run bench:staleness [-- --trials 100 --pollers 2]. Writes bench/results/staleness.json.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { ingestTicks, parseTicks } from '../domain/market.ts';
import { openBenchStack } from './real-tiers.ts';
import { machineLine, numberArg, quantile, saveResults } from './harness.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const trials = numberArg('trials', 100);
const pollers = numberArg('pollers', 2);
const now = () => performance.timeOrigin + performance.now();

const { config, tiers, runtime, url, demoUserId, demoHoldingId, demoToken, close } = await openBenchStack({
  name: 'staleness',
});
const writer = new pg.Pool({ connectionString: config.postgres.url, max: 1 });

const child = spawn(
  process.execPath,
  [path.join(here, 'staleness-pollers.ts'), JSON.stringify({ url, pollers, token: demoToken })],
  {
    stdio: ['pipe', 'pipe', 'inherit'],
  },
);
const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
const nextLine = async () => {
  const { value, done } = await lines.next();
  if (done) throw new Error('pollers exited');
  return value as string;
};

const r1 = (x: number) => Math.round(x * 10) / 10;

async function measure(
  name: string,
  trial: (i: number) => {
    query: string;
    variables: Record<string, unknown>;
    path: string[];
    expect: string;
    change: () => Promise<void>;
    from?: 'start' | 'end';
  },
) {
  const stale: number[] = [];
  const visible: number[] = [];
  const durations: number[] = [];
  let requests = 0;
  for (let i = 0; i < trials; i++) {
    const t = trial(i);
    child.stdin!.write(
      JSON.stringify({ query: t.query, variables: t.variables, path: t.path, expect: t.expect }) + '\n',
    );
    if ((await nextLine()) !== 'ready') throw new Error('pollers not ready');
    const started = now();
    await t.change();
    const changedAt = t.from === 'start' ? started : now();
    durations.push(now() - started);
    const report = JSON.parse(await nextLine()) as { lastOldSent: number; firstNewAt: number; requests: number };
    stale.push(Math.max(0, report.lastOldSent - changedAt));
    visible.push(report.firstNewAt - changedAt);
    requests += report.requests;
  }
  stale.sort((a, b) => a - b);
  visible.sort((a, b) => a - b);
  durations.sort((a, b) => a - b);
  const row = {
    path: name,
    trials,
    staleWindowP50Ms: r1(quantile(stale, 0.5)),
    staleWindowP99Ms: r1(quantile(stale, 0.99)),
    staleWindowMaxMs: r1(stale.at(-1)!),
    visibleP50Ms: r1(quantile(visible, 0.5)),
    visibleP99Ms: r1(quantile(visible, 0.99)),
    requestsPerTrial: Math.round(requests / trials),
    /** How long the change itself took (the commit; the whole ingest call). */
    changeP50Ms: r1(quantile(durations, 0.5)),
  };
  process.stderr.write(`staleness: ${name} done\n`);
  return row;
}

const rows = [
  await measure('holding updated with plain SQL (commit -> worker -> Kafka -> eviction)', (i) => {
    // Ends in 1: a trailing zero would be trimmed in the answer and never match.
    const quantity = `42.${String(i + 1).padStart(6, '0')}1`;
    return {
      query: `query($u: ID!) { portfolio(userId: $u) { holdings { id quantity } } }`,
      variables: { u: demoUserId },
      path: ['portfolio', 'holdings', '0', 'quantity'],
      expect: quantity,
      change: async () =>
        void (await writer.query(`UPDATE portfolio_holdings SET quantity = $2 WHERE id = $1`, [
          demoHoldingId,
          quantity,
        ])),
    };
  }),
  // The tick's eviction completes inside the ingest call (its event comes back before the call
  // returns), so this path is timed from the start of the call.
  await measure('price tick from the market feed (ingest call start -> Kafka -> eviction)', (i) => {
    const price = `3100.${String(i + 1).padStart(6, '0')}1`;
    return {
      query: `{ asset(id: "ETH") { latestPrice } }`,
      variables: {},
      path: ['asset', 'latestPrice'],
      expect: price,
      change: async () => void (await ingestTicks(tiers, parseTicks([{ assetId: 'ETH', price }]), runtime.report)),
      from: 'start',
    };
  }),
];

child.stdin!.end();
await writer.end();
await close();

saveResults('staleness', { pollers, rows });
console.log(`Machine: ${machineLine}; ${trials} trials per path, ${pollers} polling clients in a second process\n`);
console.log(
  '| change | stale window p50 ms | p99 ms | max ms | first new answer p50 ms | p99 ms | the change itself p50 ms |\n|---|---:|---:|---:|---:|---:|---:|',
);
for (const r of rows)
  console.log(
    `| ${r.path} | ${r.staleWindowP50Ms} | ${r.staleWindowP99Ms} | ${r.staleWindowMaxMs} | ${r.visibleP50Ms} | ${r.visibleP99Ms} | ${r.changeP50Ms} |`,
  );
process.exit(0);
