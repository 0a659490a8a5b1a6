/**
 * A throwaway single-node KRaft broker per test, started by the project's scripts/kafka.sh
 * on ports and a directory of its own, to stop and bring back while a gateway or worker
 * uses it; the shared broker on 9092 is never touched.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { onProcessExit } from './exit-hook.ts';
import { freePort } from './ports.ts';
import { runCommand } from './run-command.ts';

const SCRIPT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../scripts/kafka.sh');

/** Options of {@link startThrowawayKafka}. */
export interface ThrowawayKafkaOptions {
  /** JVM heap flags (KAFKA_HEAP_OPTS); the script's default when unset. */
  readonly heapOpts?: string;
  /** How long a start waits for the broker to accept a topic creation (KAFKA_START_TIMEOUT). */
  readonly startTimeoutSeconds?: number;
}

/** A running throwaway broker and the faults it can be put through. */
export interface ThrowawayKafka {
  /** Bootstrap servers for kafkajs: ['127.0.0.1:<port>']. */
  readonly brokers: string[];
  readonly port: number;
  readonly controllerPort: number;
  /** Config, logs (server.log) and topic data; removed by destroy(). */
  readonly dataDir: string;
  /** Graceful stop (SIGTERM, controlled shutdown), resolved once the JVM has exited. No-op when stopped. */
  stop(): Promise<void>;
  /** Start again with the same ports, data and cluster id; resolved when a topic can be created. */
  start(): Promise<void>;
  /** Kill the broker at once (SIGKILL) and remove its directory; safe to call in any state, and twice. */
  destroy(): Promise<void>;
}

/**
 * Starts a second broker with `scripts/kafka.sh start`, its instance named by KAFKA_PORT,
 * KAFKA_CONTROLLER_PORT and KAFKA_DATA_DIR. Warm (jars cached) a first start takes about
 * 6 s on the 2-core CI machine (storage format included), a restart about 4 s, a stop 2 s.
 */
export async function startThrowawayKafka({
  heapOpts,
  startTimeoutSeconds = 90,
}: ThrowawayKafkaOptions = {}): Promise<ThrowawayKafka> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'ys-fault-kafka-'));
  const port = await freePort();
  const controllerPort = await freePort();
  const pidFile = path.join(dataDir, 'kafka.pid');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KAFKA_PORT: String(port),
    KAFKA_CONTROLLER_PORT: String(controllerPort),
    KAFKA_DATA_DIR: dataDir,
    KAFKA_START_TIMEOUT: String(startTimeoutSeconds),
    ...(heapOpts === undefined ? {} : { KAFKA_HEAP_OPTS: heapOpts }),
  };
  // The script's lock wait and stop are bounded too; this only catches a wedged script.
  const script = (command: 'start' | 'stop') =>
    runCommand({ command: 'bash', args: [SCRIPT, command], env, timeoutMs: (startTimeoutSeconds + 120) * 1_000 });

  // The script starts the broker with setsid + nohup, so it would outlive this process:
  // only its pid file leads to it.
  const unregister = onProcessExit(() => {
    killBroker(pidFile);
    rmSync(dataDir, { recursive: true, force: true, maxRetries: 3 });
  });

  async function destroy(): Promise<void> {
    const pid = killBroker(pidFile);
    if (pid !== undefined) await exited(pid);
    unregister();
    rmSync(dataDir, { recursive: true, force: true, maxRetries: 3 });
  }

  try {
    await script('start');
  } catch (error) {
    await destroy();
    throw error;
  }
  return {
    brokers: [`127.0.0.1:${port}`],
    port,
    controllerPort,
    dataDir,
    start: async () => void (await script('start')),
    stop: async () => void (await script('stop')),
    destroy,
  };
}

/**
 * SIGKILL of the broker named in the pid file, synchronously (it also runs from the exit
 * hook); returns its pid, or undefined when none runs.
 */
function killBroker(pidFile: string): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, 'utf8').trim());
    // The same guard as the script's: a stale pid may since belong to another process.
    if (!Number.isInteger(pid) || pid <= 1 || !readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('kafka.Kafka'))
      return undefined;
    process.kill(pid, 'SIGKILL');
  } catch {
    return undefined;
  }
  return pid;
}

/** Resolves once `pid` has died (a killed JVM takes a moment to release its ports). */
async function exited(pid: number): Promise<void> {
  for (let i = 0; i < 200 && alive(pid); i++) await new Promise((resolve) => setTimeout(resolve, 50));
}

/**
 * True while `pid` runs. A zombie counts as dead: the broker is reparented to PID 1 once the
 * script exits, and not every init reaps promptly (this machine's reaps only now and then),
 * so kill(pid, 0) alone can report a dead broker alive for seconds.
 */
function alive(pid: number): boolean {
  try {
    // Field 3 of /proc/<pid>/stat is the state; field 2 (comm) is parenthesised and may hold spaces.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}
