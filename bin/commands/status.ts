/** `stats` (cdcStats and syncStatus) and `health` (Query.health; exit 1 when DOWN), through the gateway. */
import type { Command } from 'commander';
import { CliError } from './cli-error.ts';
import type { GatewayOptions } from './credentials.ts';
import { formatTable, print, printJson, when } from './output.ts';
import { connect, gatewayOptions } from './shared-options.ts';

interface CdcCounts {
  pending: number;
  processed: number;
  failed: number;
  deadLettered: number;
  oldestPendingAgeMs: number;
  changesPerSecond: number;
}

interface CdcStats extends CdcCounts {
  tables: Array<CdcCounts & { table: string; lastProcessedAt: string | null }>;
  kafkaConnected: boolean;
}

interface TableSyncStatus {
  table: string;
  replica: string;
  postgresRows: number;
  clickhouseRows: number;
  pendingChanges: number;
  inSync: boolean;
}

interface Health {
  initialized: boolean;
  status: 'OK' | 'DEGRADED' | 'DOWN';
  tiers: Array<{ name: string; status: 'UP' | 'DOWN'; kind: string; latencyMs: number; error: string | null }>;
  kafkaConnected: boolean;
  pendingChanges: number;
  deadLettered: number;
  errorRate: number;
  syncStatus: TableSyncStatus[];
  consistency: { isValid: boolean; jobId: string; checkedAt: string } | null;
}

const COUNTS = 'pending processed failed deadLettered oldestPendingAgeMs changesPerSecond';
const SYNC_STATUS = 'syncStatus { table replica postgresRows clickhouseRows pendingChanges inSync }';

type Options = GatewayOptions & { json?: boolean };

/** Registers `stats` and `health`. */
export function registerStatusCommands(program: Command): void {
  gatewayOptions(
    program
      .command('stats')
      .summary('change data capture and replica counts')
      .description(
        'change data capture per table (pending, processed, failed, dead-lettered, lag, rate) and replica row counts',
      ),
  ).action(async (options: Options) => {
    const client = await connect(options, 'stats');
    const data = await client.request<{ cdcStats: CdcStats; syncStatus: TableSyncStatus[] }>(
      `{ cdcStats { ${COUNTS} kafkaConnected tables { table ${COUNTS} lastProcessedAt } } ${SYNC_STATUS} }`,
    );
    if (options.json) return printJson(data);
    const s = data.cdcStats;
    print(
      `change data capture: ${s.pending} pending, ${s.processed} processed, ${s.failed} failed, ${s.deadLettered} dead-lettered; ` +
        `lag ${Math.round(s.oldestPendingAgeMs)} ms; ${s.changesPerSecond.toFixed(1)} changes/s; kafka ${s.kafkaConnected ? 'connected' : 'not connected'}`,
      '',
      formatTable(
        [
          { header: 'table' },
          { header: 'pending', align: 'right' },
          { header: 'processed', align: 'right' },
          { header: 'failed', align: 'right' },
          { header: 'dead', align: 'right' },
          { header: 'lag ms', align: 'right' },
          { header: 'changes/s', align: 'right' },
          { header: 'last processed' },
        ],
        s.tables.map((t) => [
          t.table,
          String(t.pending),
          String(t.processed),
          String(t.failed),
          String(t.deadLettered),
          String(Math.round(t.oldestPendingAgeMs)),
          t.changesPerSecond.toFixed(1),
          when(t.lastProcessedAt),
        ]),
      ),
      '',
      formatSyncStatus(data.syncStatus),
    );
  });

  gatewayOptions(
    program
      .command('health')
      .summary('health of every tier; exit 1 when DOWN')
      .description("the integration's health: every tier, the change backlog, the last validation; exits 1 when DOWN"),
  ).action(async (options: Options) => {
    const client = await connect(options, 'health');
    const { health } = await client.request<{ health: Health }>(
      `{ health { initialized status kafkaConnected pendingChanges deadLettered errorRate
          tiers { name status kind latencyMs error } ${SYNC_STATUS} consistency { isValid jobId checkedAt } } }`,
    );
    if (options.json) printJson(health);
    else {
      const c = health.consistency;
      print(
        `status ${health.status}`,
        '',
        formatTable(
          [
            { header: 'tier' },
            { header: 'status' },
            { header: 'kind' },
            { header: 'latency ms', align: 'right' },
            { header: 'error' },
          ],
          health.tiers.map((t) => [t.name, t.status, t.kind, t.latencyMs.toFixed(1), t.error ?? '']),
        ),
        '',
        `changes: ${health.pendingChanges} pending, ${health.deadLettered} dead-lettered, ` +
          `${(health.errorRate * 100).toFixed(2)} % failed at least once in the last hour; kafka ${health.kafkaConnected ? 'connected' : 'not connected'}`,
        `consistency: ${c ? `${c.isValid ? 'valid' : 'INVALID'} (job ${c.jobId}, ${when(c.checkedAt)})` : 'not validated yet'}`,
        '',
        formatSyncStatus(health.syncStatus),
      );
    }
    if (health.status === 'DOWN') {
      const down = health.tiers.filter((t) => t.status === 'DOWN').map((t) => t.name);
      throw new CliError(`DOWN: ${down.join(', ') || 'a tier'} not answering`);
    }
  });
}

function formatSyncStatus(rows: readonly TableSyncStatus[]): string {
  return formatTable(
    [
      { header: 'replicated table' },
      { header: 'replica' },
      { header: 'postgres', align: 'right' },
      { header: 'clickhouse', align: 'right' },
      { header: 'pending', align: 'right' },
      { header: 'in sync' },
    ],
    rows.map((r) => [
      r.table,
      r.replica,
      String(r.postgresRows),
      String(r.clickhouseRows),
      String(r.pendingChanges),
      r.inSync ? 'yes' : 'no',
    ]),
  );
}
