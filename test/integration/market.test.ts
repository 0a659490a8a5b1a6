/**
 * The market data flow: the batch ingest command (JSON lines through the gateway), candles
 * from ClickHouse materialized views, and daily aggregates written back to Postgres.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../stack.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let stack: Stack;
let adminToken: string;
beforeAll(async () => {
  stack = await startStack();
  adminToken = await stack.token('whale', 'admin');
});
afterAll(() => stack?.stop());

function ingest(lines: string[]) {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'ys-ingest-')), 'ticks.jsonl');
  writeFileSync(file, lines.join('\n') + '\n');
  // An async spawn: the gateway under test runs in this process and must keep serving.
  return new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(
      process.execPath,
      [path.join(root, 'bin/ingest.ts'), file, '--url', stack.url, '--batch-size', '3', '--token', adminToken],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

const tickCount = async (assetId: string) =>
  Number(
    (
      await stack.tiers.clickhouse.query<{ n: string }>(
        `SELECT toString(count()) AS n FROM price_data_raw WHERE asset_id = {a:String}`,
        { a: assetId },
      )
    )[0]!.n,
  );

describe('batch ingest command', () => {
  it('ingests a JSON-lines file in batches; the prices and the day aggregate follow', async () => {
    const now = Date.now();
    const ticks = Array.from({ length: 7 }, (_, i) => ({
      assetId: 'COMP',
      price: `${50 + i}.125`,
      volume: '3',
      timestamp: new Date(now - (7 - i) * 1000).toISOString(),
    }));
    const before = await tickCount('COMP');
    const result = await ingest(ticks.map((t) => JSON.stringify(t)));
    expect(result.stderr.split('\n').filter((l) => l.startsWith('ingest:'))).toEqual([]);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('7 ticks ingested');
    expect(await tickCount('COMP')).toBe(before + 7);
    const price = await stack.gql(`{ asset(id: "COMP") { latestPrice } }`);
    expect(price.data!.asset.latestPrice).toBe('56.125');

    // Postgres holds the day aggregate ClickHouse computed, including these ticks.
    const day = new Date(now).toISOString().slice(0, 10);
    const [ch] = await stack.tiers.clickhouse.query<{ close: string; trades: string }>(
      `SELECT toString(argMaxMerge(close)) AS close, toString(sum(trades)) AS trades FROM candles_1d WHERE asset_id = 'COMP' AND toDate(bucket) = {d:Date}`,
      { d: day },
    );
    const [pg] = await stack.tiers.postgres.query<{ close: string; trades: string }>(
      `SELECT close::text AS close, trades::text AS trades FROM asset_daily_metrics WHERE asset_id = 'COMP' AND day = $1`,
      [day],
    );
    expect(Number(pg!.close)).toBe(Number(ch!.close));
    expect(pg!.trades).toBe(ch!.trades);
    expect(Number(pg!.close)).toBe(56.125);
  });

  it('refuses a file with one bad line, naming it, and writes nothing', async () => {
    const before = await tickCount('COMP');
    const result = await ingest([
      JSON.stringify({ assetId: 'COMP', price: '51' }),
      JSON.stringify({ assetId: 'COMP', price: 51.5 }),
    ]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('line 2');
    expect(await tickCount('COMP')).toBe(before);
  });

  it('refuses a file naming an unknown asset, and writes nothing', async () => {
    const before = await tickCount('COMP');
    const result = await ingest([
      JSON.stringify({ assetId: 'COMP', price: '51' }),
      JSON.stringify({ assetId: 'NOPE', price: '1' }),
    ]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('unknown asset ids: NOPE');
    expect(await tickCount('COMP')).toBe(before);
  });
});
