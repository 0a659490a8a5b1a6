/**
 * The bus sink publishes one event per change on its table's topic (from the registry), keyed
 * by the row's key, so Kafka keeps a row's events in order within one partition. Delivery is
 * at least once: a batch retried after a crash may publish an event again, and consumers drop
 * repeats by `sequence` (a row's sequence only grows).
 */
import type { Change } from '../../changelog/change.ts';
import type { ChangeEvent } from '../../domain/events.ts';
import { tableSpec } from '../../domain/tables.ts';
import type { EventBus, OutgoingMessage } from '../../stores/bus.ts';
import type { Sink } from './sink.ts';

/** The event a change becomes on the bus. */
export function toEvent(c: Change): ChangeEvent {
  return {
    table: c.table,
    operation: c.operation,
    key: c.rowKey,
    sequence: c.seq,
    transactionId: c.transactionId,
    commitTime: c.timestamp.toISOString(),
    before: c.before,
    after: c.after,
  };
}

/** Creates the sink publishing change events. */
export function createBusSink(options: { bus: EventBus }): Sink {
  return {
    name: 'bus',
    async apply(changes) {
      const byTopic = new Map<string, OutgoingMessage[]>();
      for (const c of changes) {
        const topic = tableSpec(c.table)?.topic;
        if (!topic) continue;
        let messages = byTopic.get(topic);
        if (!messages) byTopic.set(topic, (messages = []));
        messages.push({
          key: c.rowKey,
          value: JSON.stringify(toEvent(c)),
          headers: { sequence: c.seq, table: c.table, operation: c.operation },
        });
      }
      await Promise.all([...byTopic].map(([topic, messages]) => options.bus.publish(topic, messages)));
    },
  };
}
