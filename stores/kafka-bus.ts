/**
 * The event tier on Apache Kafka through kafkajs.
 *
 * Ordering: every event of one row carries the row's key, so it lands in one partition and
 * Kafka keeps its order. The producer is idempotent with acks=all and one request in flight,
 * so a retried send can neither duplicate nor reorder within a partition.
 */
import { Kafka, logLevel as KafkaLogLevel, type Consumer, type KafkaMessage, type Producer } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { tierUnavailable } from '../lib/errors.ts';
import { retry, type RetryPolicy } from '../lib/retry.ts';
import type { Logger } from '../lib/logger.ts';
import type { ErrorReporter } from '../lib/metrics.ts';
import { inSpan } from '../lib/tracing.ts';
import type { BusMessage, BusSubscription, EventBus } from './bus.ts';
import type { StatementObserver } from './observer.ts';

/** Consumer settings shared by subscribers and replays. */
const CONSUMER = {
  sessionTimeout: 10_000,
  heartbeatInterval: 1_000,
  // Short fetch waits: low delivery latency, and disconnect returns quickly (default 5 s).
  maxWaitTimeInMs: 100,
};

function toBusMessage(topic: string, partition: number, m: KafkaMessage): BusMessage {
  return {
    topic,
    partition,
    offset: m.offset,
    key: m.key?.toString() ?? '',
    value: m.value?.toString() ?? '',
    headers: Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, v?.toString() ?? ''])),
  };
}

/** Connects the producer and admin client; consumers connect per subscription. */
export async function createKafkaBus(options: {
  brokers: readonly string[];
  clientId: string;
  /** Prepended to every topic name: several deployments (or test runs) can share a cluster. */
  topicPrefix: string;
  observer: StatementObserver;
  logger: Logger;
  report: ErrorReporter;
}): Promise<EventBus> {
  const log = options.logger;
  const prefixed = (topic: string) => options.topicPrefix + topic;
  const unprefixed = (topic: string) => topic.slice(options.topicPrefix.length);
  const kafka = new Kafka({
    clientId: options.clientId,
    brokers: [...options.brokers],
    logLevel: KafkaLogLevel.ERROR,
    logCreator: () => (entry) => log.warn(entry.log.message, { kafka: entry.namespace }),
    retry: { initialRetryTime: 100, retries: 8, maxRetryTime: 5_000 },
  });
  const producer: Producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: true });
  let connected = false;
  producer.on(producer.events.CONNECT, () => (connected = true));
  producer.on(producer.events.DISCONNECT, () => (connected = false));
  try {
    await producer.connect();
  } catch (error) {
    throw tierUnavailable('kafka', error);
  }
  const consumers = new Set<Consumer>();
  const admin = kafka.admin();
  await admin.connect();
  // Topics are created explicitly (and remembered) before first use: relying on auto-creation
  // makes the first send or subscribe race the topic's leader election ("does not host this
  // topic-partition").
  const ensured = new Set<string>();
  // Right after a topic is created, a broker may still answer "not the leader" while metadata
  // settles: offsets are read through the retry helper (those Kafka errors are transient).
  const metadataRetry: RetryPolicy = { maxAttempts: 8, initialDelayMs: 100, maxDelayMs: 1_000, factor: 2 };
  const offsetsOf = (topic: string) => retry(() => admin.fetchTopicOffsets(topic), { policy: metadataRetry });
  async function ensureTopics(topics: readonly string[]): Promise<void> {
    const missing = topics.filter((t) => !ensured.has(t));
    if (missing.length === 0) return;
    try {
      await retry(() => admin.createTopics({ topics: missing.map((topic) => ({ topic })), waitForLeaders: true }), {
        policy: metadataRetry,
      });
    } catch (error) {
      throw tierUnavailable('kafka', error);
    }
    for (const t of missing) ensured.add(t);
  }

  return {
    kind: 'server',
    async publish(topic, messages) {
      if (messages.length === 0) return;
      options.observer('bus', `publish ${topic}`);
      await ensureTopics([prefixed(topic)]);
      await inSpan(
        `kafka publish ${topic}`,
        { 'messaging.system': 'kafka', 'messaging.destination': topic },
        async () => {
          try {
            await producer.send({
              topic: prefixed(topic),
              acks: -1,
              messages: messages.map((m) => ({ key: m.key, value: m.value, headers: m.headers })),
            });
          } catch (error) {
            throw tierUnavailable('kafka', error);
          }
        },
      );
    },
    async subscribe(sub): Promise<BusSubscription> {
      // Without a group, each subscriber gets a unique one: it then reads every partition,
      // which is what a gateway instance fanning out to its own clients needs.
      const consumer = kafka.consumer({
        ...CONSUMER,
        groupId: sub.groupId ?? `${options.clientId}-${randomUUID()}`,
        allowAutoTopicCreation: true,
      });
      await ensureTopics(sub.topics.map(prefixed));
      // A group-less subscriber starts at the end offsets read now, and seeks there explicitly,
      // so it knows exactly where it started (startOffsets) instead of trusting "latest".
      const startOffsets = new Map<string, Map<number, string>>();
      if (!sub.groupId) {
        for (const topic of sub.topics) {
          const offsets = await offsetsOf(prefixed(topic));
          startOffsets.set(topic, new Map(offsets.map((o) => [o.partition, sub.fromBeginning ? o.low : o.high])));
        }
      }
      await consumer.connect();
      for (const topic of sub.topics)
        await consumer.subscribe({ topic: prefixed(topic), fromBeginning: sub.fromBeginning ?? false });
      // Resolve only once partitions are assigned: a subscriber then receives every event
      // published after subscribe() returns (a new group starts at the latest offset).
      const seekToStart = () => {
        for (const [topic, partitions] of startOffsets) {
          for (const [partition, offset] of partitions) consumer.seek({ topic: prefixed(topic), partition, offset });
        }
      };
      let placed = startOffsets.size === 0;
      const joined = new Promise<void>((resolve) =>
        consumer.on(consumer.events.GROUP_JOIN, () => {
          // The seek right after run() fails when the consumer restarted in between (seen as a
          // flaky "Consumer group was not initialized"): it is done here, on the first join, instead.
          if (!placed) {
            try {
              seekToStart();
              placed = true;
            } catch (error) {
              options.report('kafka.seek', error);
            }
          }
          resolve();
        }),
      );
      // Per partition: messages behind the end of the log, as of the last batch taken.
      const lagByPartition = new Map<string, number>();
      await consumer.run({
        eachBatchAutoResolve: true,
        eachBatch: async ({ batch }) => {
          const partition = `${batch.topic}|${batch.partition}`;
          const behind = Number(batch.offsetLag());
          lagByPartition.set(partition, behind + batch.messages.length);
          try {
            await sub.onMessages(batch.messages.map((m) => toBusMessage(unprefixed(batch.topic), batch.partition, m)));
            lagByPartition.set(partition, behind);
          } catch (error) {
            // Reported, then rethrown: kafkajs retries the batch (at least once), then restarts the consumer.
            options.report('bus.handler', error);
            throw error;
          }
        },
      });
      if (!placed) {
        try {
          seekToStart();
          placed = true;
        } catch {
          // Restarting already: the first GROUP_JOIN places it.
        }
      }
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([joined, new Promise<void>((resolve) => (timer = setTimeout(resolve, 30_000)))]);
      clearTimeout(timer);
      consumers.add(consumer);
      return {
        startOffsets,
        lag: () => [...lagByPartition.values()].reduce((sum, n) => sum + n, 0),
        async stop() {
          consumers.delete(consumer);
          await consumer.disconnect();
        },
      };
    },
    async replay(ranges, onMessages) {
      const pending = ranges.filter((r) => BigInt(r.to) > BigInt(r.from));
      if (pending.length === 0) return;
      // A throwaway consumer in its own group, placed by seek at the start of every range.
      const consumer = kafka.consumer({ ...CONSUMER, groupId: `${options.clientId}-replay-${randomUUID()}` });
      const remaining = new Map(pending.map((r) => [`${prefixed(r.topic)}|${r.partition}`, r]));
      let finish!: () => void;
      let fail!: (error: unknown) => void;
      const finished = new Promise<void>((resolve, reject) => ((finish = resolve), (fail = reject)));
      try {
        await consumer.connect();
        for (const topic of new Set(pending.map((r) => prefixed(r.topic))))
          await consumer.subscribe({ topic, fromBeginning: true });
        await consumer.run({
          eachBatch: async ({ batch }) => {
            const range = remaining.get(`${batch.topic}|${batch.partition}`);
            if (!range) return;
            const to = BigInt(range.to);
            const messages: BusMessage[] = batch.messages
              .filter((m) => BigInt(m.offset) >= BigInt(range.from) && BigInt(m.offset) < to)
              .map((m) => toBusMessage(range.topic, batch.partition, m));
            if (messages.length > 0) await onMessages(messages).catch(fail);
            const last = batch.messages.at(-1);
            if (last && BigInt(last.offset) + 1n >= to) {
              remaining.delete(`${batch.topic}|${batch.partition}`);
              if (remaining.size === 0) finish();
            }
          },
        });
        for (const r of pending) consumer.seek({ topic: prefixed(r.topic), partition: r.partition, offset: r.from });
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          finished,
          new Promise(
            (_, reject) =>
              (timer = setTimeout(() => reject(tierUnavailable('kafka', new Error('replay timed out'))), 60_000)),
          ),
        ]);
        clearTimeout(timer);
      } finally {
        await consumer.disconnect().catch(() => {});
      }
    },
    isConnected: () => connected,
    async ping() {
      try {
        await admin.describeCluster();
      } catch (error) {
        throw tierUnavailable('kafka', error);
      }
    },
    async close() {
      await Promise.all([...consumers].map((c) => c.disconnect()));
      consumers.clear();
      await admin.disconnect();
      await producer.disconnect();
    },
  };
}
