/**
 * Applies changes to the ClickHouse replicas: one insert per replica table per batch.
 * Each row carries `_version` = the change sequence and `_deleted` for deletes, so the
 * ReplacingMergeTree keeps the newest version whatever the order or repetition of delivery.
 * Portfolio changes also append to `user_activity`, keyed by the sequence (repeats collapse).
 */
import { chTime, type Clickhouse } from '../../stores/clickhouse.ts';
import { current, type Change } from '../change.ts';
import { replicaSpecs, toReplicaRow } from '../replicas.ts';

export async function applyToClickhouse(clickhouse: Clickhouse, changes: readonly Change[]): Promise<void> {
  const byReplica = new Map<string, Array<Record<string, unknown>>>();
  const activity: Array<Record<string, unknown>> = [];
  for (const c of changes) {
    const spec = replicaSpecs[c.table];
    if (!spec) continue;
    const doc = current(c);
    const row = toReplicaRow(spec, doc, { version: c.seq, deleted: c.operation === 'DELETE' });
    let rows = byReplica.get(spec.replica);
    if (!rows) byReplica.set(spec.replica, (rows = []));
    rows.push(row);
    if (c.table === 'portfolio_holdings') {
      activity.push({
        change_seq: c.seq,
        user_id: doc['user_id'],
        action: c.operation,
        asset_id: doc['asset_id'],
        protocol_id: doc['protocol_id'],
        quantity: c.after?.['quantity'] ?? null,
        value_usd: c.after?.['value_usd'] ?? null,
        ts: chTime(c.timestamp),
      });
    }
  }
  await Promise.all([
    ...[...byReplica].map(([replica, rows]) => clickhouse.insert(replica, rows)),
    clickhouse.insert('user_activity', activity),
  ]);
}
