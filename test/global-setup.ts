/**
 * Before any test: the real services must answer. A missing service fails the run with a
 * message saying how to start it; it never turns into skipped tests.
 */
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { services } from './services.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function reachable(hostPort: string): Promise<boolean> {
  const [host, port] = hostPort.split(':');
  return new Promise((resolve) => {
    const socket = net.connect({ host: host!, port: Number(port) });
    socket.setTimeout(2_000);
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });
}

export default async function setup(): Promise<void> {
  const pg = new URL(services.postgresAdminUrl);
  const redis = new URL(services.redisUrl);
  const missing: string[] = [];
  if (!(await reachable(`${pg.hostname}:${pg.port || 5432}`)))
    missing.push(`PostgreSQL at ${pg.host} (pg_ctlcluster --skip-systemctl-redirect 15 main start)`);
  if (!(await reachable(`${redis.hostname}:${redis.port || 6379}`)))
    missing.push(
      `Redis at ${redis.host} (redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no)`,
    );
  if (!(await reachable(services.kafkaBrokers[0]!))) {
    // The project's own script fetches and starts a single-node KRaft broker (idempotent).
    execFileSync('bash', [path.join(root, 'scripts/kafka.sh'), 'start'], { stdio: 'inherit' });
  }
  if (!(await reachable(services.kafkaBrokers[0]!)))
    missing.push(`Kafka at ${services.kafkaBrokers[0]} (scripts/kafka.sh start)`);
  if (missing.length > 0) throw new Error(`Required services are not reachable:\n  ${missing.join('\n  ')}`);
}
