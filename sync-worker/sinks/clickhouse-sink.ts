/**
 * The ClickHouse sink: one insert per replica table per batch, plus the activity feed.
 * Each replica row carries `_version` = the change sequence and `_deleted` for deletes, so the
 * ReplacingMergeTree keeps the newest version whatever the order or repetition of delivery.
 * Changes of a table with `activity` also append to `user_activity`, keyed by the sequence
 * (repeats collapse); the gateway's activity feed reads it.
 */
import { current } from '../../changelog/change.ts';
import { toReplicaRow } from '../../domain/replica-rows.ts';
import { tableSpec } from '../../domain/tables.ts';
import { chTime, type Clickhouse } from '../../stores/clickhouse.ts';
import type { Sink } from './sink.ts';

/** Creates the sink writing replicas and user_activity. */
export function createClickhouseSink(options: { clickhouse: Clickhouse }): Sink {
  const { clickhouse } = options;
  return {
    name: 'clickhouse',
    async apply(changes) {
      const byReplica = new Map<string, Array<Record<string, unknown>>>();
      const activity: Array<Record<string, unknown>> = [];
      for (const c of changes) {
        const spec = tableSpec(c.table);
        if (!spec?.replica) continue;
        const doc = current(c);
        let rows = byReplica.get(spec.replica.table);
        if (!rows) byReplica.set(spec.replica.table, (rows = []));
        rows.push(
          toReplicaRow({ ...spec, replica: spec.replica }, doc, { version: c.seq, deleted: c.operation === 'DELETE' }),
        );
        if (spec.activity) {
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
    },
  };
}
