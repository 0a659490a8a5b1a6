/**
 * `npm run ingest -- [file.jsonl] [--url http://127.0.0.1:4000/graphql] [--batch-size 5000]`:
 * batch ingest of price ticks, one JSON object per line ({"assetId","price","volume"?,
 * "timestamp"?}), from a file or stdin, through the gateway's `ingestPrices` mutation (so it
 * works whichever process owns ClickHouse, embedded chDB included). Every line is validated,
 * and every asset checked, before the first batch is sent: a bad file writes nothing.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseTicks, type TickInput } from '../domain/market.ts';
import { AppError } from '../lib/errors.ts';

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const file = args.find((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
const url = flag('url') ?? process.env['GATEWAY_URL'] ?? 'http://127.0.0.1:4000/graphql';
// ingestPrices needs an admin's token (`npm run token -- <handle> --role admin`).
const token = flag('token') ?? process.env['GATEWAY_TOKEN'];
const batchSize = Number(flag('batch-size') ?? 5000);

async function gql(query: string, variables: Record<string, unknown>): Promise<any> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as {
    data?: unknown;
    errors?: Array<{ message: string; extensions?: { code?: string } }>;
  };
  if (body.errors?.length)
    throw new Error(body.errors.map((e) => `${e.extensions?.code ?? 'ERROR'}: ${e.message}`).join('; '));
  return body.data;
}

function fail(message: string): never {
  process.stderr.write(`ingest: ${message}\n`);
  process.exit(1);
}

if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000)
  fail(`--batch-size must be 1 to 10000, got ${flag('batch-size')}`);

const lines = createInterface({ input: file ? createReadStream(file) : process.stdin, crlfDelay: Infinity });
const inputs: TickInput[] = [];
let lineNo = 0;
for await (const line of lines) {
  lineNo++;
  if (!line.trim()) continue;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    fail(`line ${lineNo}: not JSON`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) fail(`line ${lineNo}: expected an object`);
  const v = value as Record<string, unknown>;
  // Numbers would reach us already rounded: prices must be decimal strings.
  const input = {
    assetId: v['assetId'],
    price: v['price'],
    volume: v['volume'] ?? null,
    timestamp: v['timestamp'] ?? null,
  };
  try {
    parseTicks([input]);
  } catch (error) {
    fail(`line ${lineNo}: ${error instanceof AppError ? error.message.replace('ticks[0].', '') : String(error)}`);
  }
  inputs.push(input);
}
if (inputs.length === 0) fail('no ticks in the input');

const ids = [...new Set(inputs.map((t) => String(t.assetId)))];
// Checked in groups: one aliased root field per asset, within the gateway's root-field limit.
const unknown: string[] = [];
for (let i = 0; i < ids.length; i += 20) {
  const group = ids.slice(i, i + 20);
  const known = await gql(
    `query(${group.map((_, j) => `$a${j}: ID!`).join(', ')}) { ${group.map((_, j) => `a${j}: asset(id: $a${j}) { id }`).join(' ')} }`,
    Object.fromEntries(group.map((id, j) => [`a${j}`, id])),
  );
  unknown.push(...group.filter((_, j) => !known[`a${j}`]));
}
if (unknown.length > 0) fail(`unknown asset ids: ${unknown.join(', ')}`);

const started = Date.now();
let sent = 0;
for (let i = 0; i < inputs.length; i += batchSize) {
  const batch = inputs.slice(i, i + batchSize);
  const data = await gql(`mutation($t: [PriceTickInput!]!) { ingestPrices(ticks: $t) { accepted } }`, { t: batch });
  sent += data.ingestPrices.accepted;
  process.stderr.write(`\r${sent}/${inputs.length} ticks`);
}
process.stderr.write('\n');
process.stdout.write(
  `${sent} ticks ingested for ${ids.length} asset(s) in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
);
