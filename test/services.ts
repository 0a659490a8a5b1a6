/** Addresses of the real services on this machine, overridable for other hosts. */
export const services = {
  postgresAdminUrl: process.env['TEST_POSTGRES_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/postgres',
  redisUrl: process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379',
  kafkaBrokers: (process.env['TEST_KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(','),
};
