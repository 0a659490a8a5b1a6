/**
 * A throwaway PostgreSQL server per test (initdb + pg_ctl), to stop, crash and cut
 * connections of while a gateway uses it; the shared server on 5432 is never touched.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { onProcessExit } from './exit-hook.ts';
import { freePort } from './ports.ts';
import { runCommand } from './run-command.ts';

/** Options of {@link startThrowawayPostgres}. */
export interface ThrowawayPostgresOptions {
  /** Where initdb, pg_ctl and postgres live. */
  readonly binDir?: string;
  /** How long pg_ctl waits for a start or a stop. */
  readonly timeoutSeconds?: number;
  /** Extra postgresql.conf settings, e.g. `{ max_connections: '20' }`; they win over ours. */
  readonly settings?: Readonly<Record<string, string>>;
}

/**
 * How stop() shuts down (pg_ctl -m): 'fast' disconnects clients and checkpoints;
 * 'immediate' is a crash (every process quits at once), and the next start runs WAL recovery.
 */
export type PostgresStopMode = 'fast' | 'immediate';

/** A running throwaway Postgres and the faults it can be put through. */
export interface ThrowawayPostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres (trust auth, no password). */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /**
   * pg_terminate_backend of every other client backend connected to `database` (default
   * 'postgres'), each awaited until gone; resolves with how many were terminated.
   */
  terminateConnections(database?: string): Promise<number>;
  /** pg_ctl stop; new connections then fail with ECONNREFUSED. No-op when stopped. */
  stop(mode?: PostgresStopMode): Promise<void>;
  /** pg_ctl start on the same port and data; resolved when it accepts connections. */
  start(): Promise<void>;
  /** stop('fast') then start(). */
  restart(): Promise<void>;
  /** CREATE DATABASE (a random name by default); resolves with its URL. */
  createDatabase(name?: string): Promise<string>;
  /** Stop the server at once and remove its directory; safe to call in any state, and twice. */
  destroy(): Promise<void>;
}

const DEFAULT_BIN_DIR = '/usr/lib/postgresql/15/bin';

/**
 * Tuned for a server that lives for one test file on a loaded 2-core machine, where start
 * time matters and durability against power loss does not.
 */
const BASE_SETTINGS: Readonly<Record<string, string>> = {
  listen_addresses: `'127.0.0.1'`,
  // No fsync: nothing here must survive an OS crash, only a server crash, and after a
  // server crash the OS still holds every write. The same goes for torn pages.
  fsync: 'off',
  full_page_writes: 'off',
  // synchronous_commit stays ON: with it off, a commit is acknowledged before its WAL is
  // written, and an 'immediate' stop would lose acknowledged rows (flaky persistence tests).
  // With fsync off it costs only a write() per commit.
  shared_buffers: `'16MB'`,
  max_connections: '50',
  // No background workers that connect on their own: terminateConnections() and
  // connection-count assertions see only the test's clients.
  autovacuum: 'off',
  max_worker_processes: '2',
  max_parallel_workers: '0',
  max_parallel_workers_per_gather: '0',
};

/**
 * Runs initdb into a fresh temp directory and starts the server on a free port.
 *
 * initdb and postgres refuse to run as root ("cannot be run as root"), so when this process
 * is root they run as the `postgres` OS user, and the temp directory is given to that user.
 */
export async function startThrowawayPostgres({
  binDir = DEFAULT_BIN_DIR,
  timeoutSeconds = 60,
  settings = {},
}: ThrowawayPostgresOptions = {}): Promise<ThrowawayPostgres> {
  const user = serverUser();
  // The socket lives here too: the default /var/run/postgresql belongs to the shared server.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ys-fault-pg-'));
  const dataDir = path.join(dir, 'data');
  const logFile = path.join(dir, 'postgres.log');
  const pidFile = path.join(dataDir, 'postmaster.pid');
  const port = await freePort();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  if (user) chownSync(dir, user.uid, user.gid);
  chmodSync(dir, 0o700);

  const unregister = onProcessExit(() => {
    killServer(pidFile);
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  });

  const tool = (name: string, args: string[]) =>
    runCommand({
      command: path.join(binDir, name),
      args,
      // A cwd the server user can enter: initdb and pg_ctl complain when they cannot.
      cwd: dir,
      env: { ...process.env, LC_ALL: 'C', HOME: dir },
      uid: user?.uid,
      gid: user?.gid,
      timeoutMs: (timeoutSeconds + 30) * 1_000,
    });

  const running = () => existsSync(pidFile);

  async function start(): Promise<void> {
    if (running()) throw new Error(`throwaway Postgres on port ${port} is already running`);
    try {
      await tool('pg_ctl', ['start', '-D', dataDir, '-l', logFile, '-w', '-t', String(timeoutSeconds), '-s']);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- ${logFile}\n${tail(logFile)}`, { cause: error });
    }
  }

  async function stop(mode: PostgresStopMode = 'fast'): Promise<void> {
    if (!running()) return;
    await tool('pg_ctl', ['stop', '-D', dataDir, '-m', mode, '-w', '-t', String(timeoutSeconds), '-s']);
  }

  async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  }

  try {
    await tool('initdb', [
      '-D', dataDir,
      '-U', 'postgres',
      '--auth=trust',
      '--encoding=UTF8',
      '--locale=C',
      // No fsync of the new cluster: it saves seconds and only matters on an OS crash.
      '--no-sync',
      '--no-instructions',
    ]); // prettier-ignore
    const conf = { ...BASE_SETTINGS, port: String(port), unix_socket_directories: `'${dir}'`, ...settings };
    // Appended last, so these win over initdb's defaults (the last setting in a file wins).
    appendFileSync(
      path.join(dataDir, 'postgresql.conf'),
      `\n# throwaway server (test/faults/postgres.ts)\n${Object.entries(conf)
        .map(([key, value]) => `${key} = ${value}\n`)
        .join('')}`,
    );
    await start();
  } catch (error) {
    killServer(pidFile);
    unregister();
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    throw error;
  }

  return {
    url,
    port,
    dataDir,
    start,
    stop,
    async restart() {
      await stop('fast');
      await start();
    },
    terminateConnections: (database = 'postgres') =>
      admin(async (client) => {
        // The timeout makes pg_terminate_backend wait until the backend has exited (PG 14+):
        // when this resolves, the victims' sockets are closed, not merely signalled.
        const { rows } = await client.query<{ terminated: number }>(
          `SELECT count(*) FILTER (WHERE ok)::int AS terminated
             FROM (SELECT pg_terminate_backend(pid, 5000) AS ok
                     FROM pg_stat_activity
                    WHERE datname = $1 AND backend_type = 'client backend' AND pid <> pg_backend_pid()) AS t`,
          [database],
        );
        return rows[0]!.terminated;
      }),
    async createDatabase(name = `ys_fault_${randomBytes(4).toString('hex')}`) {
      await admin((client) => client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`));
      const dbUrl = new URL(url);
      dbUrl.pathname = `/${encodeURIComponent(name)}`;
      return dbUrl.href;
    },
    async destroy() {
      try {
        await stop('immediate');
      } catch {
        // pg_ctl could not stop it; the kill below does.
      }
      killServer(pidFile);
      unregister();
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    },
  };
}

/** The OS user to run the server as: `postgres` when we are root, else ourselves (undefined). */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    throw new Error('running as root, so the throwaway Postgres needs an OS user "postgres" to run as; none found');
  }
}

/**
 * SIGKILL of the postmaster's whole process group, synchronously (it also runs from the
 * exit hook). pg_ctl starts the postmaster in a session of its own (setsid), so its pid is
 * the group id of every backend and auxiliary process.
 */
function killServer(pidFile: string): void {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 1) return;
  // A stale pid file (server already gone) may name a pid since reused by something else.
  try {
    if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('postgres')) return;
  } catch {
    return;
  }
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, 'SIGKILL');
    } catch {
      // Already gone, or not a group leader.
    }
  }
}

/** The last lines of a log file, for error messages. */
function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-20).join('\n');
  } catch {
    return '(no log)';
  }
}
