import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';

describe('config', () => {
  it('runs every tier embedded when no URL is set', () => {
    const config = loadConfig({});
    expect(config.port).toBe(4000);
    expect([
      config.postgres.url,
      config.clickhouse.url,
      config.redis.url,
      config.vector.url,
      config.kafka.brokers,
    ]).toEqual([undefined, undefined, undefined, undefined, undefined]);
  });

  it('reads tier URLs and typed values from the environment', () => {
    const config = loadConfig({
      PORT: '8080',
      DATABASE_URL: 'postgres://u@db/x',
      KAFKA_BROKERS: 'k1:9092, k2:9092',
      GATEWAY_BATCHING: 'false',
    });
    expect(config.port).toBe(8080);
    expect(config.postgres.url).toBe('postgres://u@db/x');
    expect(config.kafka.brokers).toEqual(['k1:9092', 'k2:9092']);
    expect(config.gateway.batching).toBe(false);
  });

  it('lets explicit overrides win over the environment', () => {
    expect(loadConfig({ PORT: '8080' }, { port: 0, gateway: { batching: false } }).port).toBe(0);
  });

  it.each([
    ['PORT', 'eighty', /PORT="eighty": expected an integer/],
    ['PORT', '70000', /PORT="70000"/],
    ['DATABASE_URL', 'mysql://x', /DATABASE_URL="mysql:\/\/x": expected a URL starting with postgres:/],
    ['REDIS_URL', 'not a url', /REDIS_URL/],
    ['KAFKA_BROKERS', 'localhost', /KAFKA_BROKERS="localhost": expected a comma-separated list of host:port/],
    ['GATEWAY_BATCHING', 'maybe', /GATEWAY_BATCHING="maybe": expected true or false/],
    ['LOG_LEVEL', 'loud', /LOG_LEVEL="loud": expected one of/],
  ])('fails fast on %s=%s, naming the key and the value', (key, value, message) => {
    expect(() => loadConfig({ [key]: value })).toThrow(message);
  });
});
