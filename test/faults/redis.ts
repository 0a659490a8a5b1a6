/**
 * A throwaway redis-server per test, to kill, hang and bring back while a gateway uses it;
 * the shared Redis on 6379 stays up for every other test file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { onProcessExit } from './exit-hook.ts';
import { freePort } from './ports.ts';

/** Options of {@link startThrowawayRedis}. */
export interface ThrowawayRedisOptions {
  /**
   * Keep every write in an append-only file, fsynced before it is acknowledged, so that a
   * killed server comes back with all its data. Off by default: it comes back EMPTY.
   */
  readonly appendOnly?: boolean;
  /** How long `start` waits for the server to answer PING. */
  readonly startTimeoutMs?: number;
}

/** A running throwaway Redis and the faults it can be put through. */
export interface ThrowawayRedis {
  /** redis://127.0.0.1:<port> */
  readonly url: string;
  readonly port: number;
  /** Working directory (append-only file, log); removed by destroy(). */
  readonly dir: string;
  /** Crash: SIGKILL, resolved once the process has exited. No-op when not running. */
  kill(): Promise<void>;
  /** Hang: SIGSTOP. Connections stay open, commands get no answer (clients time out). */
  pause(): void;
  /** Undo pause(): SIGCONT; queued commands are then answered. */
  resume(): void;
  /** Start again on the same port, after kill(); resolved when it answers PING. */
  start(): Promise<void>;
  /** FLUSHALL through a short-lived connection. */
  flushAll(): Promise<void>;
  /** Kill the server and remove its directory; safe to call in any state, and twice. */
  destroy(): Promise<void>;
}

/** Starts a redis-server on a free port with its own directory and waits until it answers. */
export async function startThrowawayRedis({
  appendOnly = false,
  startTimeoutMs = 10_000,
}: ThrowawayRedisOptions = {}): Promise<ThrowawayRedis> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ys-fault-redis-'));
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const logFile = path.join(dir, 'redis.log');
  let child: ChildProcess | undefined;
  let paused = false;

  const unregister = onProcessExit(() => {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--dir', dir,
    '--logfile', logFile,
    // No RDB snapshots, not even on shutdown: without appendOnly a restart must come back empty.
    '--save', '',
    '--appendonly', appendOnly ? 'yes' : 'no',
    // Every write on disk before it is acknowledged: nothing acknowledged is lost to SIGKILL.
    '--appendfsync', 'always',
  ]; // prettier-ignore

  async function start(): Promise<void> {
    if (child) throw new Error(`throwaway Redis on port ${port} is already running`);
    const proc = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    paused = false;
    // Unref'd: a test that forgets destroy() must not keep its process alive; the exit hook kills it.
    proc.unref();
    let stderr = '';
    proc.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2_000)));
    (proc.stderr as unknown as { unref(): void }).unref();
    proc.once('exit', () => {
      if (child === proc) child = undefined;
    });
    const failed = new Promise<never>((_, reject) => {
      proc.once('error', (error) => reject(new Error(`redis-server must be on PATH: ${error.message}`)));
      // Config errors go to stderr; everything after startup (a port in use) to the log file.
      proc.once('exit', (code, signal) =>
        reject(
          new Error(
            `redis-server on port ${port} exited during startup (${signal ?? code}): ${stderr}\n${logTail(logFile)}`,
          ),
        ),
      );
    });
    failed.catch(() => {});
    try {
      await Promise.race([ping({ port, timeoutMs: startTimeoutMs }), failed]);
    } catch (error) {
      proc.kill('SIGKILL');
      throw error;
    }
  }

  async function kill(): Promise<void> {
    const proc = child;
    if (!proc) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    // Held by the wait: an unref'd child alone would let a plain script exit before 'exit' fires.
    proc.ref();
    proc.kill('SIGKILL');
    await exited;
  }

  function signal(name: 'SIGSTOP' | 'SIGCONT'): void {
    if (!child) throw new Error(`throwaway Redis on port ${port} is not running`);
    child.kill(name);
    paused = name === 'SIGSTOP';
  }

  async function destroy(): Promise<void> {
    await kill();
    unregister();
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  }

  try {
    await start();
  } catch (error) {
    await destroy();
    throw error;
  }
  return {
    url,
    port,
    dir,
    kill,
    pause: () => signal('SIGSTOP'),
    resume: () => signal('SIGCONT'),
    start,
    async flushAll() {
      if (paused) throw new Error(`throwaway Redis on port ${port} is paused; resume() it first`);
      const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
      client.on('error', () => {});
      try {
        await client.connect();
        await client.flushall();
      } finally {
        client.disconnect();
      }
    },
    destroy,
  };
}

/**
 * Resolves once the server answers PING. ioredis's ready check also waits while Redis
 * replays its append-only file (it answers -LOADING until then).
 */
async function ping({ port, timeoutMs }: { port: number; timeoutMs: number }): Promise<void> {
  const client = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    // Reconnect quickly while the server is still binding its port.
    retryStrategy: () => 50,
    maxRetriesPerRequest: null,
  });
  client.on('error', () => {});
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client
        .connect()
        .catch(() => {})
        .then(() => client.ping()),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`redis-server on port ${port} not ready after ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
    client.disconnect();
  }
}

/** The last lines of the server's log file, for error messages. */
function logTail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-10).join('\n');
  } catch {
    return '(no log)';
  }
}
