/**
 * `npm run cdc -- <command>`: operate the change data capture.
 *   force-sync <table> [--batch-size N]   copy a table to ClickHouse (progress bar, rows/s, ETA)
 *   stats                                 pending, processed, failed, dead-lettered, lag per table
 *   redrive [--table T] [--seq N]         put dead-lettered changes back in the queue
 *   prune                                 delete processed changes past the retention
 */
import { backfillTable, backfillableTables as knownTables, type BackfillProgress } from '../changelog/backfill.ts';
import { pruneProcessed, redrive } from '../changelog/queue.ts';
import { cdcStats } from '../changelog/stats.ts';
import { boot } from './runtime.ts';

const [command, ...rest] = process.argv.slice(2);
const flag = (name: string) => {
  const i = rest.indexOf(`--${name}`);
  return i >= 0 ? rest[i + 1] : undefined;
};
const usage = `usage: npm run cdc -- force-sync <${knownTables().join('|')}> [--batch-size N] | stats | redrive [--table T] [--seq N] | prune`;
if (!command || !['force-sync', 'stats', 'redrive', 'prune'].includes(command)) {
  process.stderr.write(usage + '\n');
  process.exit(2);
}

const { config, tiers } = await boot('cdc');
try {
  if (command === 'force-sync') {
    const table = rest.find((a) => !a.startsWith('--') && a !== flag('batch-size'));
    if (!table) throw new Error(usage);
    const batchSize = Number(flag('batch-size') ?? config.cdc.backfillBatchSize);
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new Error(`--batch-size must be a positive integer, got ${flag('batch-size')}`);
    const started = Date.now();
    const result = await backfillTable({
      postgres: tiers.postgres,
      clickhouse: tiers.clickhouse,
      table,
      batchSize,
      onProgress: (p) => drawProgress(p, started),
    });
    process.stderr.write('\n');
    process.stdout.write(
      `${result.table}: ${result.copied} rows copied, ${result.tombstoned} stale replica rows tombstoned in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
    );
  } else if (command === 'stats') {
    const stats = await cdcStats(tiers);
    console.table(stats.tables.map((t) => ({ ...t, lastProcessedAt: t.lastProcessedAt?.toISOString() ?? '' })));
    process.stdout.write(
      `kafka connected: ${stats.kafkaConnected} (bus: ${stats.bus}); lag ${stats.oldestPendingAgeMs} ms; ${stats.changesPerSecond} changes/s\n`,
    );
  } else if (command === 'redrive') {
    const n = await redrive(tiers.postgres, { table: flag('table'), seq: flag('seq') });
    process.stdout.write(`${n} dead-lettered change(s) queued again\n`);
  } else {
    const n = await pruneProcessed(tiers.postgres, config.cdc.retentionMs);
    process.stdout.write(`${n} processed change(s) pruned\n`);
  }
} catch (error) {
  process.stderr.write(`cdc ${command}: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
} finally {
  await tiers.close();
}

/** One line, redrawn in place on a terminal: bar, rows, rows/s and ETA. */
function drawProgress(p: BackfillProgress, started: number): void {
  const elapsedS = Math.max(0.001, (Date.now() - started) / 1000);
  const rate = p.copied / elapsedS;
  const fraction = p.total > 0 ? Math.min(1, p.copied / p.total) : 1;
  const width = 30;
  const bar = '#'.repeat(Math.round(fraction * width)).padEnd(width, '.');
  const eta = rate > 0 ? Math.max(0, (p.total - p.copied) / rate) : 0;
  const line = `${p.table} [${bar}] ${p.copied}/${p.total} rows  ${Math.round(rate)} rows/s  ETA ${eta.toFixed(1)} s`;
  process.stderr.write(process.stderr.isTTY ? `\r${line}` : `${line}\n`);
}
