/**
 * Publishes one event per change on its table's topic, keyed by the row's primary key, so
 * Kafka keeps a row's events in order within one partition. Delivery is at least once: a
 * batch retried after a crash may publish an event again, and consumers drop repeats by
 * `sequence` (a row's sequence only grows).
 */
import type { ChangeEvent } from '../../domain/events.ts';
import type { EventBus, OutgoingMessage } from '../../stores/bus.ts';
import type { Change } from '../change.ts';

function toEvent(c: Change): ChangeEvent {
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

export async function applyToBus(
  bus: EventBus,
  changes: readonly Change[],
  topicOf: (table: string) => string | undefined,
): Promise<void> {
  const byTopic = new Map<string, OutgoingMessage[]>();
  for (const c of changes) {
    const topic = topicOf(c.table);
    if (!topic) continue;
    let messages = byTopic.get(topic);
    if (!messages) byTopic.set(topic, (messages = []));
    messages.push({
      key: c.rowKey,
      value: JSON.stringify(toEvent(c)),
      headers: { sequence: c.seq, table: c.table, operation: c.operation },
    });
  }
  await Promise.all([...byTopic].map(([topic, messages]) => bus.publish(topic, messages)));
}
