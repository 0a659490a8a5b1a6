/**
 * Load benchmark of the 50-holding portfolio query (asset, latestPrice, change24h, similar(3)),
 * side by side in one run: raw Node HTTP as the machine's ceiling; Apollo Server, Yoga and
 * Mercurius serving the same shape from memory, without and with their response caches; then
 * the gateway on the embedded and the real tiers, uncached (CACHE_ENABLED=false; batching on
 * and off, graphql-jit and graphql-js) and cached.
 * Usage: npm run bench:portfolio [-- --duration 10 --connections 20]
 * Writes bench/results/portfolio.json and prints a Markdown table.
 */
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PORTFOLIO_QUERY } from './portfolio-query.ts';
import { machineLine, numberArg, saveResults, startBenchServer, stopBenchServer } from './harness.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const duration = numberArg('duration', 10);
const connections = numberArg('connections', 20);

interface Row {
  name: string;
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
  bytesPerResponse: number;
}

async function load(name: string, url: string, body?: string, token?: string): Promise<Row> {
  const result = await autocannon({
    url,
    connections,
    duration,
    method: body ? 'POST' : 'GET',
    headers: body ? { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) } : {},
    body,
  });
  return {
    name,
    requestsPerSec: Math.round(result.requests.average),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
    bytesPerResponse: Math.round(result.throughput.average / Math.max(1, result.requests.average)),
  };
}

const startServer = (env: Record<string, string>, script = 'serve.ts') =>
  startBenchServer(path.join(here, script), env);

/** Raw Node HTTP answering every request with `payload`: the machine's ceiling for those bytes. */
async function rawHttpBaseline(name: string, payload: string | Buffer): Promise<Row> {
  const server = http.createServer((_, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(payload));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  try {
    return await load(name, `http://127.0.0.1:${port}/`);
  } finally {
    server.close();
  }
}

/** The bytes of the cached portfolio answer (from the gateway on real tiers), for the raw baseline. */
let portfolioBytes: Buffer | undefined;

/** `--only <text>`: run just the rows whose name contains it (quick checks; a full run compares all). */
const only = (() => {
  const i = process.argv.indexOf('--only');
  return i > 0 ? process.argv[i + 1] : undefined;
})();

async function measure(name: string, env: Record<string, string>, script?: string, keepBytes = false): Promise<Row> {
  if (only && !name.includes(only))
    return { name, requestsPerSec: 0, p50Ms: 0, p99Ms: 0, errors: 0, non2xx: 0, bytesPerResponse: 0 };
  const { child, url, whaleId, token } = await startServer(env, script);
  try {
    const body = JSON.stringify({ query: PORTFOLIO_QUERY, variables: { u: whaleId } });
    // Warm up: JIT, connection pools, hot prices.
    await autocannon({
      url,
      connections,
      duration: 2,
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body,
    });
    if (keepBytes)
      portfolioBytes = Buffer.from(
        await (
          await fetch(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
            body,
          })
        ).arrayBuffer(),
      );
    return await load(name, url, body, token);
  } finally {
    await stopBenchServer(child);
  }
}

const rows: Row[] = [
  await rawHttpBaseline('raw Node http, fixed small JSON', JSON.stringify({ data: { hello: 'world' } })),
];
// Peers serving the same shape from in-memory data, without and with their response cache.
for (const [peer, script] of [
  ['stock Apollo Server 5', 'baseline-apollo.ts'],
  ['GraphQL Yoga 5', 'baseline-yoga.ts'],
  ['Mercurius 16 + graphql-jit', 'baseline-mercurius.ts'],
] as const) {
  rows.push(await measure(`peer: ${peer}, in-memory data, no cache`, {}, script));
  rows.push(await measure(`peer: ${peer}, in-memory data, its response cache`, { BASELINE_CACHE: '1' }, script));
}
const uncached = { CACHE_ENABLED: 'false' };
rows.push(await measure('portfolio, embedded tiers, uncached', { BENCH_PROFILE: 'embedded', ...uncached }));
rows.push(await measure('portfolio, embedded tiers, cached (in-process cache)', { BENCH_PROFILE: 'embedded' }));
rows.push(await measure('portfolio, real tiers, uncached', { BENCH_PROFILE: 'real', ...uncached }));
rows.push(
  await measure('portfolio, real tiers, uncached, batching off', {
    BENCH_PROFILE: 'real',
    GATEWAY_BATCHING: 'false',
    ...uncached,
  }),
);
rows.push(
  await measure('portfolio, real tiers, uncached, graphql-js executor', {
    BENCH_PROFILE: 'real',
    GRAPHQL_EXECUTOR: 'graphql-js',
    ...uncached,
  }),
);
rows.push(await measure('portfolio, real tiers, cached in Redis', { BENCH_PROFILE: 'real' }, undefined, true));
// The goal's yardstick: raw Node HTTP serving the very bytes of the cached portfolio answer.
if (portfolioBytes)
  rows.push(await rawHttpBaseline('raw Node http, the same bytes as the portfolio answer', portfolioBytes));

if (!only) saveResults('portfolio', { connections, durationSec: duration, query: PORTFOLIO_QUERY, rows });
console.log(`Machine: ${machineLine}; autocannon -c ${connections} -d ${duration}, same box\n`);
console.log('| run | req/s | p50 ms | p99 ms | errors | non-2xx | bytes/resp |\n|---|---:|---:|---:|---:|---:|---:|');
for (const r of rows)
  console.log(
    `| ${r.name} | ${r.requestsPerSec} | ${r.p50Ms} | ${r.p99Ms} | ${r.errors} | ${r.non2xx} | ${r.bytesPerResponse} |`,
  );
