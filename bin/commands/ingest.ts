/**
 * `ingest [file]`: batch ingest of price ticks, one JSON object per line ({"assetId","price",
 * "volume"?,"timestamp"?}), from a file or stdin, through the gateway's `ingestPrices` mutation
 * (so it works whichever process owns ClickHouse, embedded chDB included). Every line is
 * validated, and every asset checked, before the first batch is sent: a bad file writes nothing.
 */
import type { Command } from 'commander';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { TickInput } from '../../domain/market.ts';
import { AppError } from '../../lib/errors.ts';
import { CliError } from './cli-error.ts';
import type { GatewayOptions } from './credentials.ts';
import { print, printJson } from './output.ts';
import { startProgress } from './progress.ts';
import { connect, gatewayOptions, positiveInt } from './shared-options.ts';

/** Aliased `asset(id:)` fields per check: within the gateway's root-field limit (MAX_ROOT_FIELDS, 20). */
const ASSETS_PER_CHECK = 20;

type Options = GatewayOptions & { json?: boolean; batchSize: number };

/** Registers `ingest`. */
export function registerIngest(program: Command): void {
  gatewayOptions(
    program
      .command('ingest')
      .summary('batch-ingest price ticks (JSON lines)')
      .description(
        'batch-ingest price ticks (JSON lines) through the gateway; a bad line or unknown asset writes nothing',
      )
      .argument('[file]', 'a JSON-lines file (default: stdin)')
      .option('--batch-size <n>', 'ticks per ingestPrices call (1 to 10000)', positiveInt(10_000), 5000),
  ).action(async (file: string | undefined, options: Options) => {
    const inputs = await readTicks(file);
    const client = await connect(options, 'ingest');

    const ids = [...new Set(inputs.map((t) => String(t.assetId)))];
    const unknown: string[] = [];
    for (let i = 0; i < ids.length; i += ASSETS_PER_CHECK) {
      const group = ids.slice(i, i + ASSETS_PER_CHECK);
      const known = await client.request<Record<string, { id: string } | null>>(
        `query(${group.map((_, j) => `$a${j}: ID!`).join(', ')}) { ${group.map((_, j) => `a${j}: asset(id: $a${j}) { id }`).join(' ')} }`,
        Object.fromEntries(group.map((id, j) => [`a${j}`, id])),
      );
      unknown.push(...group.filter((_, j) => !known[`a${j}`]));
    }
    if (unknown.length > 0) throw new CliError(`unknown asset ids: ${unknown.join(', ')}`);

    const started = Date.now();
    const progress = startProgress({ label: 'ingesting', total: inputs.length, unit: 'ticks' });
    let sent = 0;
    try {
      for (let i = 0; i < inputs.length; i += options.batchSize) {
        const batch = inputs.slice(i, i + options.batchSize);
        const data = await client.request<{ ingestPrices: { accepted: number } }>(
          'mutation($t: [PriceTickInput!]!) { ingestPrices(ticks: $t) { accepted } }',
          { t: batch },
        );
        sent += data.ingestPrices.accepted;
        progress.update(sent);
      }
    } finally {
      progress.stop();
    }
    const seconds = (Date.now() - started) / 1000;
    if (options.json) printJson({ ingested: sent, assets: ids.length, seconds });
    else print(`${sent} ticks ingested for ${ids.length} asset(s) in ${seconds.toFixed(1)} s`);
  });
}

/** Reads and validates every line first; the first bad one fails the command, naming its line. */
async function readTicks(file: string | undefined): Promise<TickInput[]> {
  const input = file ? createReadStream(file) : process.stdin;
  const opened = new Promise<void>((resolve, reject) => {
    if (!file) return resolve();
    input.once('open', () => resolve());
    input.once('error', (error: Error) => reject(new CliError(`cannot read ${file}: ${error.message}`)));
  });
  await opened;
  const { parseTicks } = await import('../../domain/market.ts');
  const lines = createInterface({ input, crlfDelay: Infinity });
  const inputs: TickInput[] = [];
  let lineNo = 0;
  for await (const line of lines) {
    lineNo++;
    if (!line.trim()) continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new CliError(`line ${lineNo}: not JSON`);
    }
    if (!value || typeof value !== 'object' || Array.isArray(value))
      throw new CliError(`line ${lineNo}: expected an object`);
    const v = value as Record<string, unknown>;
    // Numbers would reach us already rounded: prices must be decimal strings.
    const tick: TickInput = {
      assetId: v['assetId'],
      price: v['price'],
      volume: v['volume'] ?? null,
      timestamp: v['timestamp'] ?? null,
    };
    try {
      parseTicks([tick]);
    } catch (error) {
      throw new CliError(
        `line ${lineNo}: ${error instanceof AppError ? error.message.replace('ticks[0].', '') : String(error)}`,
      );
    }
    inputs.push(tick);
  }
  if (inputs.length === 0) throw new CliError('no ticks in the input');
  return inputs;
}
