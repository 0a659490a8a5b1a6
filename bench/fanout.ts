/**
 * Fan-out latency and tick rate: one process runs the gateway and the sync worker on real
 * tiers (Postgres, Redis, Kafka; chDB); subscribers run in a second process. Measured:
 * - commit -> client: an UPDATE of portfolio_holdings committed with plain SQL, until each of
 *   N portfolioUpdated subscribers has it (through the worker, Kafka and the gateway's hub);
 * - ingest -> client: an ingestPrices mutation sent, until each of N priceUpdated subscribers has it;
 * - the tick rate one gateway sustains (ingestPrices, 100 ticks per call, 4 callers).
 * Usage: npm run bench:fanout [-- --events 20]. Writes bench/results/fanout.json.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { openBenchStack } from './real-tiers.ts';
import { machineLine, numberArg, quantile, saveResults } from './harness.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const events = numberArg('events', 20);
const now = () => performance.timeOrigin + performance.now();
const { config, tiers, url, demoUserId, demoHoldingId, demoToken, adminToken, close } = await openBenchStack({
  name: 'fanout',
  // 1,000 subscribers of one user's portfolio, on as many sockets, all signed in as that user.
  env: { SUBSCRIPTION_QUEUE_SIZE: '1024', MAX_CONNECTIONS_PER_SUBJECT: '2000' },
});
const wsUrl = url.replace(/^http/, 'ws');
const writer = new pg.Pool({ connectionString: config.postgres.url, max: 2 });

async function withClients<T>(
  spec: object,
  run: () => Promise<Map<string, number>>,
): Promise<{ p50: number; p99: number; max: number; delivered: number; expected: number }> {
  const child = spawn(process.execPath, [path.join(here, 'fanout-clients.ts'), JSON.stringify(spec)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let buffer = '';
  const lines: string[] = [];
  const waiters: Array<() => void> = [];
  child.stdout!.on('data', (d: Buffer) => {
    buffer += d.toString();
    while (buffer.includes('\n')) {
      const i = buffer.indexOf('\n');
      lines.push(buffer.slice(0, i));
      buffer = buffer.slice(i + 1);
      waiters.shift()?.();
    }
  });
  let exited: string | undefined;
  child.once('close', (code, signal) => {
    exited = `subscriber process exited (${code ?? signal})`;
    for (const w of waiters.splice(0)) w();
  });
  const line = async (n: number) => {
    while (lines.length < n) {
      if (exited) throw new Error(exited);
      await new Promise<void>((r) => waiters.push(r));
    }
    return lines[n - 1]!;
  };
  await line(1); // ready
  const sentAt = await run();
  const report = JSON.parse(await line(2)) as { arrivals: Record<string, number[]> };
  const latencies: number[] = [];
  for (const [tagValue, t0] of sentAt) for (const t of report.arrivals[tagValue] ?? []) latencies.push(t - t0);
  latencies.sort((a, b) => a - b);
  const n = (spec as { n: number }).n;
  const r = (x: number) => Math.round(x * 10) / 10;
  return {
    p50: r(quantile(latencies, 0.5)),
    p99: r(quantile(latencies, 0.99)),
    max: r(latencies.at(-1) ?? NaN),
    delivered: latencies.length,
    expected: n * sentAt.size,
  };
}

const rows: Array<Record<string, unknown>> = [];
for (const n of [1, 100, 1000]) {
  const commit = await withClients(
    {
      url: wsUrl,
      n,
      query: `subscription($u: ID!) { portfolioUpdated(userId: $u) { sequence holding { quantity asset { symbol } } } }`,
      variables: { u: demoUserId },
      token: demoToken,
      expect: events,
      tagPath: ['portfolioUpdated', 'holding', 'quantity'],
    },
    async () => {
      const sent = new Map<string, number>();
      for (let i = 0; i < events; i++) {
        const quantity = `${n}.${String(i + 1).padStart(4, '0')}1`;
        await writer.query(`UPDATE portfolio_holdings SET quantity = $2 WHERE id = $1`, [demoHoldingId, quantity]);
        sent.set(quantity, now());
        await new Promise((r) => setTimeout(r, 100));
      }
      return sent;
    },
  );
  rows.push({ path: 'Postgres commit -> portfolioUpdated client', subscribers: n, ...commit });
  process.stderr.write(`fan-out: ${n} subscribers, commit path done\n`);
  const ingest = await withClients(
    {
      url: wsUrl,
      n,
      query: `subscription { priceUpdated(assetIds: ["ETH"]) { price asset { symbol } } }`,
      variables: {},
      token: demoToken,
      expect: events,
      tagPath: ['priceUpdated', 'price'],
    },
    async () => {
      const sent = new Map<string, number>();
      for (let i = 0; i < events; i++) {
        const price = `${3000 + n}.${String(i + 1).padStart(4, '0')}1`;
        const t0 = now();
        await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
          body: JSON.stringify({
            query: `mutation($p: Decimal!) { ingestPrices(ticks: [{ assetId: "ETH", price: $p }]) { accepted } }`,
            variables: { p: price },
          }),
        });
        sent.set(price, t0);
        await new Promise((r) => setTimeout(r, 100));
      }
      return sent;
    },
  );
  rows.push({ path: 'ingestPrices sent -> priceUpdated client', subscribers: n, ...ingest });
  process.stderr.write(`fan-out: ${n} subscribers, ingest path done\n`);
}

// Sustained tick ingest: 100 ticks per call, 4 concurrent callers, 5 seconds.
const assets = ['ETH', 'WBTC', 'SOL', 'LINK', 'UNI', 'AAVE', 'ARB', 'OP'];
let ticks = 0;
const t0 = Date.now();
await Promise.all(
  Array.from({ length: 4 }, async (_, w) => {
    for (let call = 0; Date.now() - t0 < 5_000; call++) {
      const batch = Array.from({ length: 100 }, (_, i) => ({
        assetId: assets[(i + w) % assets.length],
        price: `${100 + ((call + i) % 50)}.5`,
        volume: '1',
      }));
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
        body: JSON.stringify({
          query: `mutation($t: [PriceTickInput!]!) { ingestPrices(ticks: $t) { accepted } }`,
          variables: { t: batch },
        }),
      });
      ticks += ((await res.json()) as { data: { ingestPrices: { accepted: number } } }).data.ingestPrices.accepted;
    }
  }),
);
const tickRate = Math.round(ticks / ((Date.now() - t0) / 1000));
process.stderr.write(`fan-out: tick rate done\n`);

await writer.end();
await close();

saveResults('fanout', { eventsPerRun: events, rows, tickRatePerSec: tickRate });
console.log(`Machine: ${machineLine}; ${events} events per run, 10/s; subscribers in a second process\n`);
console.log('| path | subscribers | p50 ms | p99 ms | max ms | delivered / expected |\n|---|---:|---:|---:|---:|---:|');
for (const r of rows)
  console.log(
    `| ${r['path']} | ${r['subscribers']} | ${r['p50']} | ${r['p99']} | ${r['max']} | ${r['delivered']} / ${r['expected']} |`,
  );
console.log(`\nSustained tick ingest (ingestPrices, 100 ticks per call, 4 callers): ${tickRate} ticks/s`);
process.exit(0);
