/**
 * Smoke test of the fault-injection harness (test/faults): each throwaway server starts,
 * breaks the way resilience tests will break it, and comes back.
 * Real-only: it runs server binaries (initdb, redis-server, the Kafka broker script).
 */
import { Kafka, logLevel } from 'kafkajs';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startThrowawayKafka, type ThrowawayKafka } from '../faults/kafka.ts';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../faults/postgres.ts';
import { startThrowawayRedis } from '../faults/redis.ts';

describe('throwaway Postgres', () => {
  let server: ThrowawayPostgres;
  beforeAll(async () => {
    server = await startThrowawayPostgres();
  });
  afterAll(() => server?.destroy());

  const connect = async (url = server.url) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    return client;
  };

  it('terminates connected clients', async () => {
    const client = await connect();
    // The server's FATAL message comes first, then "Connection terminated unexpectedly";
    // the promise keeps the first.
    const errored = new Promise<Error & { code?: string }>((resolve) => client.on('error', resolve));
    expect(await server.terminateConnections()).toBe(1);
    // 57P01 admin_shutdown: "terminating connection due to administrator command".
    expect(await errored).toMatchObject({ code: '57P01' });
    await expect(client.query('SELECT 1')).rejects.toThrow();
    await client.end().catch(() => {});
    expect(await server.terminateConnections()).toBe(0);
  });

  it('refuses connections while stopped and keeps its data across a stop and a crash', async () => {
    const dbUrl = await server.createDatabase();
    let client = await connect(dbUrl);
    await client.query('CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)');
    await client.end();

    await server.stop();
    await expect(connect()).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await server.start();
    client = await connect(dbUrl);
    expect((await client.query('SELECT v FROM kept')).rows).toEqual([{ v: 42 }]);

    // A crash right after an acknowledged commit loses nothing (WAL recovery on start).
    await client.query('INSERT INTO kept VALUES (43)');
    await client.end();
    await server.stop('immediate');
    await server.start();
    client = await connect(dbUrl);
    expect((await client.query('SELECT v FROM kept ORDER BY v')).rows).toEqual([{ v: 42 }, { v: 43 }]);
    await client.end();
  });
});

describe('throwaway Redis', () => {
  it('comes back empty after a kill, and times commands out while paused', async () => {
    const server = await startThrowawayRedis();
    const client = new Redis(server.url, { commandTimeout: 200, retryStrategy: () => 50 });
    client.on('error', () => {});
    try {
      await client.set('k', 'v');
      expect(await client.get('k')).toBe('v');

      await server.kill();
      await expect(client.get('k')).rejects.toThrow();
      await server.start();
      expect(await client.get('k')).toBeNull();

      await client.set('k', 'v2');
      server.pause();
      try {
        await expect(client.get('k')).rejects.toThrow(/timed out/i);
      } finally {
        server.resume();
      }
      expect(await client.get('k')).toBe('v2');

      await server.flushAll();
      expect(await client.dbsize()).toBe(0);
    } finally {
      client.disconnect();
      await server.destroy();
    }
  });

  it('comes back with its data after a kill when append-only', async () => {
    const server = await startThrowawayRedis({ appendOnly: true });
    const client = new Redis(server.url, { retryStrategy: () => 50 });
    client.on('error', () => {});
    try {
      await client.set('k', 'kept');
      await server.kill();
      await server.start();
      expect(await client.get('k')).toBe('kept');
    } finally {
      client.disconnect();
      await server.destroy();
    }
  });
});

describe('throwaway Kafka', () => {
  const topic = 'fault-harness';
  let broker: ThrowawayKafka;
  let kafka: Kafka;
  beforeAll(async () => {
    broker = await startThrowawayKafka();
    kafka = new Kafka({ clientId: 'fault-harness', brokers: broker.brokers, logLevel: logLevel.NOTHING });
  });
  afterAll(() => broker?.destroy());

  /** Reads every message of the topic from the beginning, with a fresh consumer group. */
  async function readAll(expected: number): Promise<string[]> {
    const consumer = kafka.consumer({ groupId: `fault-harness-${Date.now()}` });
    const values: string[] = [];
    try {
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        consumer
          .run({
            eachMessage: async ({ message }) => {
              values.push(message.value!.toString());
              if (values.length === expected) resolve();
            },
          })
          .catch(reject);
      });
    } finally {
      await consumer.disconnect();
    }
    return values;
  }

  async function produce(value: string): Promise<void> {
    const producer = kafka.producer();
    await producer.connect();
    try {
      await producer.send({ topic, messages: [{ value }] });
    } finally {
      await producer.disconnect();
    }
  }

  it('fails sends while stopped, and keeps its messages and cluster id across a restart', async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    const { clusterId } = await admin.describeCluster();
    await admin.disconnect();
    await produce('before');
    expect(await readAll(1)).toEqual(['before']);

    // No retries, in the client too (its reconnects to brokers retry on their own): the
    // send must fail now, not after kafkajs's backoff.
    const fragile = new Kafka({
      brokers: broker.brokers,
      retry: { retries: 0 },
      logLevel: logLevel.NOTHING,
    }).producer();
    await fragile.connect();
    await broker.stop();
    await expect(fragile.send({ topic, messages: [{ value: 'lost' }] })).rejects.toThrow();
    await fragile.disconnect();

    await broker.start();
    await produce('after');
    expect(await readAll(2)).toEqual(['before', 'after']);
    const again = kafka.admin();
    await again.connect();
    expect((await again.describeCluster()).clusterId).toBe(clusterId);
    await again.disconnect();
  });
});
