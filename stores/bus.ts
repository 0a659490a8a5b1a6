/**
 * The event tier (Kafka): change and market events. This file holds the contract and the
 * in-process implementation used when KAFKA_BROKERS is not configured; the Kafka one is
 * in kafka-bus.ts.
 */
import type { ErrorReporter } from '../lib/metrics.ts';
import type { StatementObserver } from './observer.ts';

/** A message to publish. */
export interface OutgoingMessage {
  /** Partitioning key: all events of one row share it, so Kafka keeps them in order. */
  readonly key: string;
  readonly value: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** A message as consumed, with where it sits in its partition. */
export interface BusMessage extends OutgoingMessage {
  readonly topic: string;
  readonly partition: number;
  /** Position in the partition, as a decimal string (Kafka offsets are 64-bit). */
  readonly offset: string;
}

/** Per topic, per partition: an offset (a decimal string). */
export type Offsets = ReadonlyMap<string, ReadonlyMap<number, string>>;

/** A running subscription. */
export interface BusSubscription {
  stop(): Promise<void>;
  /**
   * Messages in the subscribed partitions not yet handled: on Kafka, the distance from the last
   * batch taken to the partition's end as of that batch (the consumer lag); in process, those
   * delivered and not yet handled.
   */
  lag(): number;
  /**
   * Where a group-less subscription started: per topic and partition, the offset of the first
   * message it will receive. Together with the offsets of the messages it then receives, this
   * tells exactly which part of the log a subscriber has seen (the basis of resume).
   */
  readonly startOffsets: Offsets;
}

/** A range of one partition's log to read again: offsets `from` (inclusive) to `to` (exclusive). */
export interface ReplayRange {
  readonly topic: string;
  readonly partition: number;
  readonly from: string;
  readonly to: string;
}

/** What to consume and how. */
export interface SubscribeOptions {
  readonly topics: readonly string[];
  /**
   * Consumers sharing a group split the partitions between them (the worker's scale-out);
   * without one, this subscriber reads every partition (each gateway instance sees all events).
   */
  readonly groupId?: string;
  readonly fromBeginning?: boolean;
  /** Called with messages in partition order; the next batch waits until it resolves. */
  readonly onMessages: (messages: readonly BusMessage[]) => Promise<void>;
}

/** The event tier. */
export interface EventBus {
  readonly kind: 'server' | 'embedded';
  /** Resolves once the broker acknowledged every message (acks=all on Kafka). */
  publish(topic: string, messages: readonly OutgoingMessage[]): Promise<void>;
  subscribe(options: SubscribeOptions): Promise<BusSubscription>;
  /** Reads the given ranges of the retained log once, in partition order, then resolves. */
  replay(ranges: readonly ReplayRange[], onMessages: (messages: readonly BusMessage[]) => Promise<void>): Promise<void>;
  /** Whether the bus can currently publish (health and `cdcStats.kafkaConnected`). */
  isConnected(): boolean;
  /** Resolves when the broker answers a metadata request now (readiness); throws TIER_UNAVAILABLE otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * In-process bus with a retained, capped log per topic (one partition), so `fromBeginning`
 * and resume work as on Kafka. Delivery is asynchronous, as it would be over a network.
 */
export function createEmbeddedBus(options: {
  observer: StatementObserver;
  /** Where a subscriber's failing handler is reported; the batch is then delivered again, as Kafka does. */
  report: ErrorReporter;
  retainPerTopic?: number;
}): EventBus {
  const retain = options.retainPerTopic ?? 100_000;
  const logs = new Map<string, { base: number; messages: BusMessage[] }>();
  const subscribers = new Set<{ topics: ReadonlySet<string>; deliver: (m: BusMessage[]) => void }>();
  const logOf = (topic: string) => {
    let log = logs.get(topic);
    if (!log) logs.set(topic, (log = { base: 0, messages: [] }));
    return log;
  };
  return {
    kind: 'embedded',
    async publish(topic, messages) {
      if (messages.length === 0) return;
      options.observer('bus', `publish ${topic}`);
      const log = logOf(topic);
      const appended = messages.map((m, i) => ({
        ...m,
        topic,
        partition: 0,
        offset: String(log.base + log.messages.length + i),
      }));
      log.messages.push(...appended);
      if (log.messages.length > retain) {
        const drop = log.messages.length - retain;
        log.messages.splice(0, drop);
        log.base += drop;
      }
      for (const s of subscribers) if (s.topics.has(topic)) s.deliver(appended);
    },
    async subscribe(sub) {
      // A serial queue per subscriber: the next batch waits for onMessages, as with Kafka's eachBatch.
      let chain = Promise.resolve();
      let stopped = false;
      let unhandled = 0;
      // At least once, as on Kafka: a handler that throws is reported and gets the same batch
      // again after a back-off, so a transient failure never drops events.
      const deliverUntilTaken = async (m: BusMessage[]) => {
        for (let attempt = 1; !stopped; attempt++) {
          try {
            await sub.onMessages(m);
            return;
          } catch (error) {
            options.report('bus.handler', error);
            await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 50 * 2 ** attempt)));
          }
        }
      };
      const entry = {
        topics: new Set(sub.topics),
        deliver: (m: BusMessage[]) => {
          if (m.length === 0) return;
          unhandled += m.length;
          chain = chain.then(() => deliverUntilTaken(m)).finally(() => (unhandled -= m.length));
        },
      };
      if (sub.fromBeginning) for (const topic of sub.topics) entry.deliver([...logOf(topic).messages]);
      subscribers.add(entry);
      const startOffsets = new Map(
        sub.topics.map((topic) => {
          const log = logOf(topic);
          return [
            topic,
            new Map([[0, String(sub.fromBeginning ? log.base : log.base + log.messages.length)]]),
          ] as const;
        }),
      );
      return {
        startOffsets,
        lag: () => unhandled,
        async stop() {
          stopped = true;
          subscribers.delete(entry);
          await chain;
        },
      };
    },
    async replay(ranges, onMessages) {
      for (const range of ranges) {
        const log = logOf(range.topic);
        const from = Math.max(Number(range.from), log.base) - log.base;
        const to = Number(range.to) - log.base;
        if (to > from) await onMessages(log.messages.slice(from, to));
      }
    },
    isConnected: () => true,
    ping: async () => {},
    async close() {
      subscribers.clear();
      logs.clear();
    },
  };
}
