/**
 * The event tier on Apache Kafka through kafkajs.
 *
 * Ordering: every event of one row carries the row's key, so it lands in one partition and
 * Kafka keeps its order. The producer is idempotent with acks=all and one request in flight,
 * so a retried send can neither duplicate nor reorder within a partition.
 */
import { Kafka, logLevel as KafkaLogLevel, type Consumer, type Producer } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { tierUnavailable } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import type { BusMessage, BusSubscription, EventBus } from './bus.ts';
import type { StatementObserver } from './observer.ts';

export async function createKafkaBus(options: {
  brokers: readonly string[];
  clientId: string;
  observer: StatementObserver;
  logger: Logger;
}): Promise<EventBus> {
  const log = options.logger;
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

  return {
    kind: 'server',
    async publish(topic, messages) {
      if (messages.length === 0) return;
      options.observer('bus', `publish ${topic}`);
      try {
        await producer.send({ topic, acks: -1, messages: messages.map((m) => ({ key: m.key, value: m.value, headers: m.headers })) });
      } catch (error) {
        throw tierUnavailable('kafka', error);
      }
    },
    async subscribe(sub): Promise<BusSubscription> {
      // Without a group, each subscriber gets a unique one: it then reads every partition,
      // which is what a gateway instance fanning out to its own clients needs.
      const consumer = kafka.consumer({
        groupId: sub.groupId ?? `${options.clientId}-${randomUUID()}`,
        allowAutoTopicCreation: true,
        sessionTimeout: 10_000,
        heartbeatInterval: 1_000,
        maxWaitTimeInMs: 100,
      });
      await consumer.connect();
      for (const topic of sub.topics) await consumer.subscribe({ topic, fromBeginning: sub.fromBeginning ?? false });
      await consumer.run({
        eachBatchAutoResolve: true,
        eachBatch: async ({ batch }) => {
          const messages: BusMessage[] = batch.messages.map((m) => ({
            topic: batch.topic,
            partition: batch.partition,
            offset: m.offset,
            key: m.key?.toString() ?? '',
            value: m.value?.toString() ?? '',
            headers: Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, v?.toString() ?? ''])),
          }));
          await sub.onMessages(messages);
        },
      });
      consumers.add(consumer);
      return {
        async stop() {
          consumers.delete(consumer);
          await consumer.disconnect();
        },
      };
    },
    isConnected: () => connected,
    async close() {
      await Promise.all([...consumers].map((c) => c.disconnect()));
      consumers.clear();
      await producer.disconnect();
    },
  };
}
