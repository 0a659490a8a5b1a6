/**
 * What the security measures cost and what an attacker costs, in one run, on real tiers with
 * the gateway in its own process (bench/serve.ts):
 * - (a) normal traffic alone: cached hits of the whale's 50-holding portfolio (autocannon);
 * - (b) the same while an attacker process sends the hostile documents of
 *   gateway/limits/hostile.ts (every one refused) as fast as they are answered; beside it, for
 *   scale, an attacker sending a trivial valid query at the same concurrency;
 * - (c) the same while an attacker sends expensive but allowed queries: 20 aliases of the largest
 *   page (`transactions(first: 100)` of 20 users, as an admin), uncached (`cache-control: no-cache`);
 * - (d) the overhead of the checks on a cached hit, side by side: the portfolio with the rate
 *   limiter off and on (Redis, budgets too large to refuse), and a public query sent anonymously
 *   and with a token. Each pair runs six rounds in alternation; its overhead is the median ratio.
 * The gateway's and the attacker's CPU (from /proc) are recorded beside each row.
 * Usage: node bench/security.ts [--duration 10 --connections 20 --attackers 4 --pair-seconds 5].
 * Writes bench/results/security.json and prints a Markdown table.
 *
 * The attacker runs in its own process at the default priority: on this 2-core box it takes CPU
 * from the gateway as well as requests, which a remote attacker would not; the trivial-query row
 * tells that share apart from what the hostile documents themselves cost.
 */
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { issueToken } from '../gateway/auth/issue-token.ts';
import { hostileDocuments } from '../gateway/limits/hostile.ts';
import { loadConfig } from '../lib/config.ts';
import { machineLine, numberArg, saveResults, startBenchServer, stopBenchServer } from './harness.ts';
import { PORTFOLIO_QUERY } from './portfolio-query.ts';
import { BENCH_SECRET } from './real-tiers.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const self = fileURLToPath(import.meta.url);
const duration = numberArg('duration', 10);
const connections = numberArg('connections', 20);
const attackers = numberArg('attackers', 4);
/** Each run of a side-by-side pair (d): six of each. */
const pairSeconds = numberArg('pair-seconds', 5);

/** What an attacker process sends, one request per loop at a time, until SIGTERM. */
type AttackKind = 'hostile' | 'trivial' | 'expensive';

interface AttackSummary {
  kind: AttackKind;
  sent: number;
  perSec: number;
  statuses: Record<string, number>;
}

if (process.argv[2] === '--attacker') {
  await attack(
    JSON.parse(process.argv[3]!) as { kind: AttackKind; url: string; loops: number; body?: string; token?: string },
  );
  process.exit(0);
}

/** The attacker process: `loops` concurrent loops; prints `ready` once each was answered, and a summary on SIGTERM. */
async function attack(spec: {
  kind: AttackKind;
  url: string;
  loops: number;
  body?: string;
  token?: string;
}): Promise<void> {
  const hostile = hostileDocuments().map((d) => ({
    source: d.source,
    variables: d.variables === undefined ? '' : `,"variables":${JSON.stringify(d.variables)}`,
  }));
  // Each hostile text is new (a trailing comment): the gateway's document memo never answers.
  const bodyOf = (i: number) => {
    if (spec.kind !== 'hostile') return spec.body!;
    const d = hostile[i % hostile.length]!;
    return `{"query":${JSON.stringify(`${d.source}\n# ${i}`)}${d.variables}}`;
  };
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    ...(spec.token ? { authorization: `Bearer ${spec.token}` } : {}),
    ...(spec.kind === 'expensive' ? { 'cache-control': 'no-cache' } : {}),
  };
  const statuses: Record<string, number> = {};
  let sent = 0;
  let stopping = false;
  const started = performance.now();
  process.on('SIGTERM', () => (stopping = true));
  await Promise.all(
    Array.from({ length: spec.loops }, async (_, k) => {
      for (let i = k; !stopping; i += spec.loops) {
        const res = await fetch(spec.url, { method: 'POST', headers, body: bodyOf(i) });
        await res.arrayBuffer();
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        if (++sent === spec.loops) process.stdout.write('ready\n');
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const summary: AttackSummary = { kind: spec.kind, sent, perSec: Math.round(sent / seconds), statuses };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

/** Starts an attacker process; resolves once it is sending. */
async function startAttacker(spec: { kind: AttackKind; url: string; body?: string; token?: string }) {
  const child = spawn(process.execPath, [self, '--attacker', JSON.stringify({ ...spec, loops: attackers })], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const poll = setInterval(() => {
      if (output.includes('ready\n')) resolve(clearInterval(poll));
    }, 20);
    void exited.then(() => reject(new Error(`attacker exited: ${output}`)));
  });
  const cpuBefore = cpuMs(child.pid);
  const started = performance.now();
  return {
    async stop(): Promise<AttackSummary & { cpuPercent: number | undefined }> {
      const cpuPercent = corePercent(cpuBefore, cpuMs(child.pid), performance.now() - started);
      child.kill('SIGTERM');
      await exited;
      return { ...(JSON.parse(output.trim().split('\n').at(-1)!) as AttackSummary), cpuPercent };
    },
  };
}

/** CPU time (user + system) a process has used, in ms, from /proc (Linux); undefined elsewhere. */
function cpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    // Fields 14 and 15 (utime, stime) in clock ticks, after the parenthesised command name.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return undefined;
  }
}

/** Share of one core a process used between two cpuMs readings over `ms`. */
const corePercent = (before: number | undefined, after: number | undefined, ms: number) =>
  before === undefined || after === undefined ? undefined : Math.round((100 * (after - before)) / ms);

interface Row {
  name: string;
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
  /** The gateway process's CPU over the measurement, in percent of one core (of 2). */
  gatewayCpuPercent?: number | undefined;
  /** That CPU per request answered (normal traffic and the attacker's together). */
  gatewayCpuUsPerRequest?: number | undefined;
  attacker?: AttackSummary & { cpuPercent?: number | undefined };
}

/** autocannon against `url` with `body` (POST) and optional token; `warmup` seconds first, unmeasured. */
async function load(args: {
  url: string;
  body: string;
  token?: string;
  seconds?: number;
  warmup?: number;
  pid?: number;
}) {
  const options = {
    url: args.url,
    connections,
    method: 'POST' as const,
    headers: { 'content-type': 'application/json', ...(args.token ? { authorization: `Bearer ${args.token}` } : {}) },
    body: args.body,
  };
  if (args.warmup) await autocannon({ ...options, duration: args.warmup });
  const cpuBefore = cpuMs(args.pid);
  const started = performance.now();
  const r = await autocannon({ ...options, duration: args.seconds ?? duration });
  const gatewayCpuPercent = corePercent(cpuBefore, cpuMs(args.pid), performance.now() - started);
  return {
    gatewayCpuPercent,
    // What one request costs the gateway's process, whatever else limits the throughput (the
    // load generator shares the machine): the figure an overhead is judged on, beside req/s.
    gatewayCpuUsPerRequest:
      gatewayCpuPercent === undefined ? undefined : Math.round((gatewayCpuPercent * 1e4) / r.requests.average),
    requestsPerSec: Math.round(r.requests.average),
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    errors: r.errors,
    non2xx: r.non2xx,
  };
}

/** A gateway in its own process on real tiers (bench/serve.ts), with `env`. */
const startServer = async (env: Record<string, string>) => {
  const server = await startBenchServer(path.join(here, 'serve.ts'), { BENCH_PROFILE: 'real', ...env });
  return { ...server, token: server.token! };
};

const rows: Row[] = [];
const plain = await startServer({ RATE_LIMIT_ENABLED: 'false' });
// The rate limiter on, with budgets no benchmark reaches: what it costs, not what it refuses.
const limited = await startServer({
  RATE_LIMIT_ENABLED: 'true',
  RATE_LIMIT_PER_SUBJECT: '100000000',
  RATE_LIMIT_PER_IP: '100000000',
});
try {
  const { issuer, audience } = loadConfig({ AUTH_JWT_SECRET: BENCH_SECRET }).auth;
  const adminToken = await issueToken({
    secret: BENCH_SECRET,
    subject: plain.whaleId,
    role: 'admin',
    issuer,
    audience,
    expiresInSec: 3600,
  });
  const portfolio = JSON.stringify({ query: PORTFOLIO_QUERY, variables: { u: plain.whaleId } });
  const portfolioOf = (server: { whaleId: string }) =>
    JSON.stringify({ query: PORTFOLIO_QUERY, variables: { u: server.whaleId } });

  // 20 users' ids, for the expensive query: 20 aliases of the largest page, one user each.
  const handles = ['demo', 'whale', ...Array.from({ length: 18 }, (_, i) => `user${String(i + 1).padStart(2, '0')}`)];
  const ids = await fetch(plain.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
    body: JSON.stringify({ query: `{ ${handles.map((h, i) => `u${i}: user(handle: "${h}") { id }`).join(' ')} }` }),
  }).then(async (res) =>
    Object.values(((await res.json()) as { data: Record<string, { id: string }> }).data).map((u) => u.id),
  );
  const expensive = JSON.stringify({
    query: `query Expensive { ${ids
      .map(
        (id, i) =>
          `t${i}: transactions(userId: "${id}", first: 100) { edges { node { id type amount valueUsd occurredAt asset { symbol } } } }`,
      )
      .join(' ')} }`,
  });
  // It must be allowed (under every limit): check once.
  const probe = await fetch(plain.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}`, 'cache-control': 'no-cache' },
    body: expensive,
  });
  const probeBody = (await probe.json()) as { errors?: unknown[]; data?: Record<string, { edges: unknown[] }> };
  if (probe.status !== 200 || probeBody.errors)
    throw new Error(`the expensive query is refused: ${JSON.stringify(probeBody).slice(0, 300)}`);
  const expensiveRows = Object.values(probeBody.data!).reduce((n, c) => n + c.edges.length, 0);

  const normal = { url: plain.url, body: portfolio, token: plain.token, pid: plain.child.pid };
  const alone = await load({ ...normal, warmup: 3 });
  rows.push({ name: '(a) cached portfolio hits, alone', ...alone });

  const under = async (name: string, spec: Parameters<typeof startAttacker>[0]) => {
    const attacker = await startAttacker(spec);
    let result: Awaited<ReturnType<typeof load>>;
    try {
      result = await load(normal);
    } finally {
      rows.push({ name, ...result!, attacker: await attacker.stop() });
    }
  };
  await under(`(b0) cached hits, ${attackers} attacker loops sending a trivial valid query (scale)`, {
    kind: 'trivial',
    url: plain.url,
    body: JSON.stringify({ query: '{ __typename }' }),
  });
  await under(`(b) cached hits, ${attackers} attacker loops sending hostile documents (all refused)`, {
    kind: 'hostile',
    url: plain.url,
  });
  await under(
    `(c) cached hits, ${attackers} attacker loops sending 20 x transactions(first: 100), uncached (${expensiveRows} rows each)`,
    { kind: 'expensive', url: plain.url, body: expensive, token: adminToken },
  );
  rows.push({ name: '(a) cached portfolio hits, alone, again (drift)', ...(await load(normal)) });

  // (d) Side by side: six rounds of both, alternating which goes first (A B, B A, ...), so drift
  // and bursts of other load fall on both; each overhead is the median of the six rounds' ratios.
  const median = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)]!;
  const pair = async (nameA: string, a: Parameters<typeof load>[0], nameB: string, b: Parameters<typeof load>[0]) => {
    type Run = Awaited<ReturnType<typeof load>>;
    const runs: { a: Run[]; b: Run[] } = { a: [], b: [] };
    await load({ ...a, seconds: 2 });
    await load({ ...b, seconds: 2 });
    for (let i = 0; i < 6; i++) {
      if (i % 2 === 0) {
        runs.a.push(await load({ ...a, seconds: pairSeconds }));
        runs.b.push(await load({ ...b, seconds: pairSeconds }));
      } else {
        runs.b.push(await load({ ...b, seconds: pairSeconds }));
        runs.a.push(await load({ ...a, seconds: pairSeconds }));
      }
    }
    const summarize = (list: Run[]) => ({
      requestsPerSec: median(list.map((r) => r.requestsPerSec)),
      p50Ms: median(list.map((r) => r.p50Ms)),
      p99Ms: median(list.map((r) => r.p99Ms)),
      errors: list.reduce((sum, r) => sum + r.errors, 0),
      non2xx: list.reduce((sum, r) => sum + r.non2xx, 0),
      gatewayCpuPercent: median(list.map((r) => r.gatewayCpuPercent ?? NaN)),
      gatewayCpuUsPerRequest: median(list.map((r) => r.gatewayCpuUsPerRequest ?? NaN)),
    });
    rows.push({ name: nameA, ...summarize(runs.a) }, { name: nameB, ...summarize(runs.b) });
    const percent = (x: number, y: number) => Math.round((1000 * (x - y)) / y) / 10;
    // Throughput lost with B; and what B adds to the gateway's CPU per request.
    const throughput = runs.a.map((r, i) => -percent(runs.b[i]!.requestsPerSec, r.requestsPerSec));
    const cpu = runs.a.map((r, i) =>
      percent(runs.b[i]!.gatewayCpuUsPerRequest ?? NaN, r.gatewayCpuUsPerRequest ?? NaN),
    );
    return {
      throughputPercent: median(throughput),
      throughputPercentPerRound: throughput,
      gatewayCpuPerRequestPercent: median(cpu),
      gatewayCpuPerRequestPercentPerRound: cpu,
    };
  };
  const rateLimiter = await pair(
    '(d) cached portfolio hits, rate limiter off',
    normal,
    '(d) cached portfolio hits, rate limiter on (Redis, 2 budgets per request)',
    { url: limited.url, body: portfolioOf(limited), token: limited.token, pid: limited.child.pid },
  );
  const publicQuery = JSON.stringify({ query: `{ asset(id: "ETH") { id symbol name chain latestPrice change24h } }` });
  const token = await pair(
    '(d) cached public query, anonymous',
    { url: plain.url, body: publicQuery, pid: plain.child.pid },
    '(d) cached public query, with a token (verified once, then cached)',
    { url: plain.url, body: publicQuery, token: plain.token, pid: plain.child.pid },
  );

  const attackImpact = (name: string) => {
    const row = rows.find((r) => r.name.startsWith(name))!;
    // The gateway's CPU per attacker request: its CPU less what the normal requests served
    // meanwhile cost (at their cost alone), over the attacker's requests.
    const normalCpuPercent = (row.requestsPerSec * (alone.gatewayCpuUsPerRequest ?? NaN)) / 1e4;
    return {
      throughputLossPercent:
        Math.round((1000 * (alone.requestsPerSec - row.requestsPerSec)) / alone.requestsPerSec) / 10,
      // (percent of a core) x 10 = ms of CPU per second.
      gatewayCpuMsPerAttackerRequest:
        Math.round((100 * (((row.gatewayCpuPercent ?? NaN) - normalCpuPercent) * 10)) / row.attacker!.perSec) / 100,
    };
  };
  const summary = {
    attackers: { trivial: attackImpact('(b0)'), hostile: attackImpact('(b)'), expensive: attackImpact('(c)') },
    overheadOnCachedHit: { rateLimiter, tokenVerification: token },
    goal: 'checks under 5% of cached throughput',
  };
  saveResults('security', {
    machineLine,
    connections,
    durationSec: duration,
    attackerLoops: attackers,
    pairSeconds,
    normalQuery: PORTFOLIO_QUERY,
    expensiveQueryRows: expensiveRows,
    rows,
    summary,
  });
  console.log(
    `Machine: ${machineLine}; autocannon -c ${connections} -d ${duration}; attackers: ${attackers} loops, own process\n`,
  );
  console.log(
    '| run | req/s | p50 ms | p99 ms | errors | non-2xx | gateway CPU % | gateway CPU µs/req | attacker req/s (statuses), CPU % |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const r of rows) {
    const a = r.attacker
      ? `${r.attacker.perSec} (${Object.entries(r.attacker.statuses)
          .map(([code, n]) => `${code}: ${n}`)
          .join(', ')}), ${r.attacker.cpuPercent ?? '?'}`
      : '';
    console.log(
      `| ${r.name} | ${r.requestsPerSec} | ${r.p50Ms} | ${r.p99Ms} | ${r.errors} | ${r.non2xx} | ${r.gatewayCpuPercent ?? '?'} | ${r.gatewayCpuUsPerRequest ?? '?'} | ${a} |`,
    );
  }
  const { trivial, hostile, expensive: costly } = summary.attackers;
  console.log(
    `\nThroughput lost to an attacker (gateway CPU per attacker request): trivial ${trivial.throughputLossPercent}% (${trivial.gatewayCpuMsPerAttackerRequest} ms), ` +
      `hostile ${hostile.throughputLossPercent}% (${hostile.gatewayCpuMsPerAttackerRequest} ms), expensive ${costly.throughputLossPercent}% (${costly.gatewayCpuMsPerAttackerRequest} ms).`,
  );
  for (const [name, o] of [
    ['rate limiter', rateLimiter],
    ['token verification', token],
  ] as const) {
    console.log(
      `Overhead of the ${name} on a cached hit, median of 6 alternated rounds of ${pairSeconds} s: throughput ${o.throughputPercent}% (rounds ${o.throughputPercentPerRound.join(', ')}), ` +
        `gateway CPU per request ${o.gatewayCpuPerRequestPercent}% (rounds ${o.gatewayCpuPerRequestPercentPerRound.join(', ')}); goal: under 5%.`,
    );
  }
} finally {
  await stopBenchServer(plain.child);
  await stopBenchServer(limited.child);
}
