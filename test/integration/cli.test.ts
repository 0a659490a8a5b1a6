/**
 * The `yieldsensei` CLI as an operator runs it: a child process (Node 24 on bin/cli.ts, and once
 * through the package's bin launcher and npx) against a running gateway and sync worker. Every
 * command's exit code and output, `--json` parsed, `--help` of each, usage errors (exit 2), the
 * token command in both of its modes (Postgres lookup; embedded mode asking the gateway), the
 * job commands following real jobs, and the local commands on a fresh database.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toReplicaRow } from '../../domain/replica-rows.ts';
import { tableSpec, type ReplicaSpec, type TableSpec } from '../../domain/tables.ts';
import { createDatabase, startStack, type Stack } from '../stack.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(root, 'bin/cli.ts');
const LAUNCHER = path.join(root, 'bin/yieldsensei.mjs');
/** A data directory of its own for every child that reads config, so none touches the project's .data. */
const scratch = mkdtempSync(path.join(os.tmpdir(), 'ys-cli-'));

let stack: Stack;
let admin: string;
beforeAll(async () => {
  stack = await startStack({ worker: true });
  admin = await stack.token('whale', 'admin');
});
afterAll(async () => {
  await stack?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command line (by default Node 24 on bin/cli.ts) with a small, explicit environment:
 * nothing of this process's configuration leaks into the child. Async: the gateway under test
 * runs in this process and must keep serving.
 */
function run(
  args: readonly string[],
  options: { env?: Record<string, string | undefined>; input?: string; command?: readonly string[] } = {},
): Promise<Result> {
  const [file, ...prefix] = options.command ?? [process.execPath, CLI];
  const env: Record<string, string> = {
    PATH: process.env['PATH'] ?? '',
    HOME: process.env['HOME'] ?? os.tmpdir(),
    LOG_LEVEL: 'error',
    DATA_DIR: path.join(scratch, 'default'),
  };
  for (const [k, v] of Object.entries(options.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return new Promise((resolve, reject) => {
    const child = spawn(file!, [...prefix, ...args], { cwd: root, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** A command through the gateway under test, as its admin. */
const remote = (...args: string[]) => run([...args, '--url', stack.url, '--token', admin]);

/** Parses stdout as the one JSON document `--json` promises (anything else on stdout fails here). */
function json<T = any>(result: Result): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(`stdout is not one JSON document:\n${result.stdout}\nstderr:\n${result.stderr}`);
  }
}

const COMMANDS = [
  'start',
  'gateway',
  'worker',
  'migrate',
  'seed',
  'prune',
  'token',
  'ingest',
  'sync',
  'validate',
  'reconcile',
  'jobs',
  'stats',
  'health',
  'dead-letters',
];

describe('help and usage', () => {
  it('lists every command, and each has --help (exit 0, on stdout)', async () => {
    const [top, ...each] = await Promise.all([run(['--help']), ...COMMANDS.map((c) => run([c, '--help']))]);
    expect(top.status).toBe(0);
    for (const c of COMMANDS) expect(top.stdout).toMatch(new RegExp(`^  ${c}\\b`, 'm'));
    each.forEach((r, i) => {
      expect(r.status, COMMANDS[i]).toBe(0);
      expect(r.stdout).toContain(`Usage: yieldsensei ${COMMANDS[i]}`);
    });
    const remoteHelp = each[COMMANDS.indexOf('sync')]!.stdout;
    for (const option of ['--url', '--token', '--json', '--no-wait', '--timeout']) expect(remoteHelp).toContain(option);
    expect(each[COMMANDS.indexOf('token')]!.stdout).toMatch(/--role <role>.*choices: "user", "admin"/s);
  });

  it('exits 2 on a usage error, naming it on stderr and printing nothing on stdout', async () => {
    const cases: Array<[string[], RegExp]> = [
      [[], /Usage: yieldsensei/],
      [['bogus'], /unknown command 'bogus'/],
      [['sync'], /missing required argument 'table'/],
      [['jobs', '--last', '0', '--url', stack.url, '--token', admin], /--last <n>.*expected an integer from 1 to 100/],
      [['token', 'demo', '--role', 'root'], /Allowed choices are user, admin/],
      [['token', 'demo', '--expires', '2y'], /expected a duration/],
      [['token', 'Not A Handle'], /must be a handle/],
      [['sync', 'nope', '--url', stack.url, '--token', admin], /INVALID_ARGUMENT/],
      [['health', '--url', 'ftp://example.com', '--token', admin], /--url must be an http\(s\) URL/],
    ];
    const results = await Promise.all(cases.map(([args]) => run(args)));
    results.forEach((r, i) => {
      expect(r.status, cases[i]![0].join(' ')).toBe(2);
      expect(r.stderr).toMatch(cases[i]![1]);
      expect(r.stdout).toBe('');
    });
  });

  it('runs through the package bin: npx yieldsensei, and the launcher on an old Node re-executing Node 24', async () => {
    const viaNpx = await run(['yieldsensei', '--help'], { command: ['npx'] });
    expect(viaNpx.status).toBe(0);
    expect(viaNpx.stdout).toContain('Usage: yieldsensei');

    // The first `node` on PATH outside node_modules: the machine's own (Node 20 here), which
    // cannot run TypeScript, so the launcher must hand over to node_modules/.bin/node.
    const systemPath = (process.env['PATH'] ?? '')
      .split(path.delimiter)
      .filter((dir) => !dir.includes('node_modules'))
      .join(path.delimiter);
    const systemNode = spawnSync('node', ['-p', 'process.execPath'], { env: { PATH: systemPath }, encoding: 'utf8' });
    expect(systemNode.status).toBe(0);
    const launcher = [systemNode.stdout.trim(), LAUNCHER];
    const ok = await run(['health', '--json', '--url', stack.url, '--token', admin], {
      command: launcher,
      env: { PATH: systemPath },
    });
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    expect(json(ok).status).toMatch(/^(OK|DEGRADED)$/);
    const usage = await run(['sync'], { command: launcher, env: { PATH: systemPath } });
    expect(usage.status).toBe(2);
  });
});

describe('token', () => {
  const pgEnv = () => ({
    DATABASE_URL: stack.config.postgres.url!,
    AUTH_JWT_SECRET: (stack.config.auth.key as { secret: string }).secret,
  });

  it('looks the handle up in Postgres (DATABASE_URL), prints the token alone, and the gateway accepts it', async () => {
    const r = await run(['token', 'whale'], { env: pgEnv() });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    expect(r.stderr).toBe('');
    const whale = await stack.userId('whale');
    const q = `query($u: ID!) { portfolio(userId: $u) { userId holdings { id } } }`;
    const res = await stack.gql(q, { u: whale }, { authorization: `Bearer ${r.stdout.trim()}` });
    expect(res.errors).toBeUndefined();
    expect(res.data!.portfolio.userId).toBe(whale);
    expect(res.data!.portfolio.holdings.length).toBeGreaterThan(0);
    // A user token is not an admin's.
    const refused = await stack.gql('{ health { status } }', {}, { authorization: `Bearer ${r.stdout.trim()}` });
    expect(refused.errors![0]!.extensions!['code']).toBe('FORBIDDEN');
  });

  it('--role admin --expires --json: a JSON document whose token is an admin token', async () => {
    const r = await run(['token', 'whale', '--role', 'admin', '--expires', '15m', '--json'], { env: pgEnv() });
    expect(r.status).toBe(0);
    const out = json(r);
    expect(out).toMatchObject({ userId: await stack.userId('whale'), handle: 'whale', role: 'admin' });
    const lifetime = Date.parse(out.expiresAt) - Date.now();
    expect(lifetime).toBeGreaterThan(14 * 60_000);
    expect(lifetime).toBeLessThanOrEqual(15 * 60_000);
    const health = await stack.gql('{ health { status } }', {}, { authorization: `Bearer ${out.token}` });
    expect(health.errors).toBeUndefined();
  });

  it('fails (exit 1) for an unknown user, and for a deployment whose keys it cannot sign with', async () => {
    const [unknown, jwks] = await Promise.all([
      run(['token', 'nobody_here'], { env: pgEnv() }),
      run(['token', 'demo'], { env: { AUTH_JWKS_URL: 'https://idp.example.com/.well-known/jwks.json' } }),
    ]);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain('no user "nobody_here"');
    expect(jwks.status).toBe(1);
    expect(jwks.stderr).toContain('the CLI cannot sign them');
    expect(unknown.stdout + jwks.stdout).toBe('');
  });

  describe('embedded mode: `yieldsensei start` holds DATA_DIR; token asks its gateway', () => {
    const dataDir = path.join(scratch, 'embedded');
    let server: ChildProcess | undefined;
    let url = '';
    // The CLI's view: the development key in DATA_DIR, no DATABASE_URL, the running gateway.
    const devEnv = () => ({ DATA_DIR: dataDir, GATEWAY_URL: url });
    /** A query to the embedded gateway with a token. */
    const ask = async (token: string, query: string, variables: Record<string, unknown> = {}) =>
      (await (
        await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ query, variables }),
        })
      ).json()) as { data?: any; errors?: Array<{ message: string; extensions?: { code?: string } }> };

    beforeAll(async () => {
      // Everything embedded (PGlite, chDB) in a child process, demo data loaded, a free port:
      // `npm start` as a first user runs it.
      server = spawn(process.execPath, [CLI, 'start'], {
        cwd: root,
        env: { PATH: process.env['PATH'] ?? '', HOME: os.tmpdir(), DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'error' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      server.stderr!.on('data', (d) => (err += d));
      url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`start did not print its address:\n${out}\n${err}`)), 120_000);
        server!.stdout!.on('data', (d) => {
          out += d;
          const match = /GraphiQL:\s+(http:\/\/\S+)/.exec(out);
          if (match) {
            clearTimeout(timer);
            resolve(match[1]!);
          }
        });
        server!.on('exit', (code) => reject(new Error(`start exited with ${code}:\n${out}\n${err}`)));
      });
    });
    afterAll(async () => {
      if (!server || server.exitCode !== null) return;
      const exited = new Promise<number | null>((resolve) => server!.on('exit', resolve));
      server.kill('SIGTERM');
      // `start` stops gracefully on SIGTERM, with exit code 0.
      expect(await exited).toBe(0);
    });

    it('resolves a handle through the gateway; the token works there', async () => {
      const r = await run(['token', 'whale', '--json'], { env: devEnv() });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const { token, userId, handle } = json(r);
      expect(handle).toBe('whale');
      const res = await ask(token, `query($u: ID!) { portfolio(userId: $u) { userId holdings { id } } }`, {
        u: userId,
      });
      expect(res.errors).toBeUndefined();
      expect(res.data.portfolio.userId).toBe(userId);
      expect(res.data.portfolio.holdings).toHaveLength(50);
      // The plain form: the token alone.
      const plain = await run(['token', 'demo'], { env: devEnv() });
      expect(plain.status).toBe(0);
      expect(plain.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    });

    it('accepts a numeric id, confirmed by the gateway; refuses unknown ones', async () => {
      const whale = json(await run(['token', 'whale', '--json'], { env: devEnv() })).userId as string;
      const [byId, unknownId, unknownHandle] = await Promise.all([
        run(['token', whale, '--json', '--role', 'admin'], { env: devEnv() }),
        run(['token', '999999'], { env: devEnv() }),
        run(['token', 'nobody_here'], { env: devEnv() }),
      ]);
      expect(byId.status).toBe(0);
      const admin = json(byId);
      expect(admin).toMatchObject({ userId: whale, handle: 'whale', role: 'admin' });
      expect((await ask(admin.token, '{ health { status } }')).errors).toBeUndefined();
      expect(unknownId.status).toBe(1);
      expect(unknownId.stderr).toContain("The token's user no longer exists");
      expect(unknownHandle.status).toBe(1);
      expect(unknownHandle.stderr).toContain('no user "nobody_here"');
    });

    it('with nothing running: signs a numeric id unchecked (with a warning), refuses a handle', async () => {
      const nothing = { ...devEnv(), GATEWAY_URL: 'http://127.0.0.1:9/graphql' };
      const [byId, byHandle] = await Promise.all([
        run(['token', '7'], { env: nothing }),
        run(['token', 'whale'], { env: nothing }),
      ]);
      expect(byId.status).toBe(0);
      expect(byId.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
      expect(byId.stderr).toContain('not checked');
      expect(byHandle.status).toBe(1);
      expect(byHandle.stderr).toContain('cannot reach the gateway');
    });

    it('remote commands mint an admin token themselves (sync, health)', async () => {
      const [health, sync] = await Promise.all([
        run(['health', '--json'], { env: devEnv() }),
        run(['sync', 'protocols', '--json'], { env: devEnv() }),
      ]);
      expect(health.stderr).toBe('');
      expect(health.status).toBe(0);
      expect(json(health).tiers.every((t: { kind: string }) => t.kind === 'embedded')).toBe(true);
      expect(sync.status).toBe(0);
      expect(json(sync).result).toMatchObject({ copied: 12, total: 12 });
    });
  });

  it('without a token and without the development key, a remote command says how to get one (exit 1)', async () => {
    const r = await run(['health', '--url', stack.url], { env: pgEnv() });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('needs an admin token');
  });
});

describe('jobs through the gateway', () => {
  it('sync protocols --json: follows the job to SUCCEEDED; its result copied every row', async () => {
    const r = await remote('sync', 'protocols', '--json');
    expect(r.status).toBe(0);
    const job = json(r);
    expect(job).toMatchObject({ kind: 'BACKFILL', status: 'SUCCEEDED', progress: 1, error: null });
    expect(job.result).toEqual({ __typename: 'SyncResult', table: 'protocols', copied: 12, total: 12, tombstoned: 0 });
    // Progress on stderr, as plain lines (stderr is not a terminal here).
    expect(r.stderr).toMatch(new RegExp(`sync protocols \\(job ${job.id}\\): SUCCEEDED 100 %`));
  });

  it('sync in human form, and --no-wait returning the queued job', async () => {
    const [human, queued] = await Promise.all([
      remote('sync', 'protocols'),
      remote('sync', 'protocols', '--no-wait', '--json'),
    ]);
    expect(human.status).toBe(0);
    expect(human.stdout).toMatch(/job \d+ \(BACKFILL\) SUCCEEDED in [\d.]+ s\nprotocols: 12 of 12 rows copied/);
    expect(queued.status).toBe(0);
    expect(json(queued)).toMatchObject({ kind: 'BACKFILL', status: expect.stringMatching(/QUEUED|RUNNING|SUCCEEDED/) });
  });

  it('jobs --json lists the jobs, newest first; human form is a table', async () => {
    const [r, all, human] = await Promise.all([
      remote('jobs', '--json', '--last', '2'),
      // The most a list may ask for stays within the gateway's query cost limit.
      remote('jobs', '--json', '--last', '100'),
      remote('jobs'),
    ]);
    expect(r.status).toBe(0);
    const jobs = json<Array<{ id: string; kind: string }>>(r);
    expect(jobs).toHaveLength(2);
    expect(Number(jobs[0]!.id)).toBeGreaterThan(Number(jobs[1]!.id));
    expect(all.stderr).toBe('');
    expect(all.status).toBe(0);
    const ids = json<Array<{ id: string; kind: string }>>(all);
    expect(ids.slice(0, 2)).toEqual(jobs);
    expect(ids.some((j) => j.kind === 'BACKFILL')).toBe(true);
    expect(human.status).toBe(0);
    expect(human.stdout).toMatch(/^\s*id\s+kind\s+status/);
    expect(human.stdout).toMatch(/BACKFILL\s+SUCCEEDED\s+100 %.*protocols: 12\/12 copied/);
  });

  // VALIDATE and RECONCILE handlers: sync-worker/consistency/jobs.ts.
  it('validate --json: a clean deployment is valid (exit 0); drift beyond tolerance exits 1 and is named', async () => {
    const clean = await remote('validate', '--json');
    expect(clean.stderr).not.toContain('yieldsensei validate:');
    expect(clean.status).toBe(0);
    const report = json(clean).result;
    expect(report.__typename).toBe('ConsistencyReport');
    expect(report.isValid).toBe(true);
    expect(report.tables.map((t: { table: string }) => t.table).sort()).toEqual([
      'portfolio_holdings',
      'protocols',
      'transaction_history',
    ]);

    const key = await dropProtocolFromReplica();
    const drifted = await remote('validate', 'protocols', '--json');
    expect(drifted.status).toBe(1);
    expect(drifted.stderr).toContain('drift beyond the 1 % tolerance: protocols');
    const [t] = json(drifted).result.tables;
    expect(t).toMatchObject({
      table: 'protocols',
      isValid: false,
      withinTolerance: false,
      postgresRows: 12,
      clickhouseRows: 11,
      difference: -1,
      missing: { total: 1, keys: [key] },
    });
    const human = await remote('validate', 'protocols');
    expect(human.status).toBe(1);
    expect(human.stdout).toMatch(/consistency INVALID/);
    expect(human.stdout).toMatch(/protocols\s+protocols\s+12\s+11\s+-1\s+8\.33\s+BEYOND\s+1\s+0\s+0\s+NO/);
    expect(human.stdout).toContain(`protocols missing: ${key}`);
  });

  it('reconcile protocols --json is a dry run; --apply repairs, and validation is clean again', async () => {
    const dry = await remote('reconcile', 'protocols', '--json');
    expect(dry.status).toBe(0);
    const plan = json(dry).result;
    expect(plan).toMatchObject({ __typename: 'ReconcileReport', table: 'protocols', dryRun: true });
    expect(plan.inserted.total).toBe(1);
    expect(plan.tombstoned).toEqual({ total: 0, keys: [] });
    expect((await remote('validate', 'protocols')).status).toBe(1);

    const applied = await remote('reconcile', 'protocols', '--apply');
    expect(applied.status).toBe(0);
    expect(applied.stdout).toMatch(/1 row\(s\) were inserted, 0 updated, 0 tombstoned/);
    const after = await remote('validate', 'protocols', '--json');
    expect(after.status).toBe(0);
    expect(json(after).result.isValid).toBe(true);
  });
});

describe('status commands', () => {
  it('stats --json: CDC per table and the replicas; human form too', async () => {
    const [r, human] = await Promise.all([remote('stats', '--json'), remote('stats')]);
    expect(r.status).toBe(0);
    const out = json(r);
    expect(out.cdcStats.tables.map((t: { table: string }) => t.table)).toContain('protocols');
    expect(typeof out.cdcStats.kafkaConnected).toBe('boolean');
    expect(out.syncStatus.find((s: { table: string }) => s.table === 'protocols')).toMatchObject({
      postgresRows: 12,
      clickhouseRows: 12,
    });
    expect(human.status).toBe(0);
    expect(human.stdout).toMatch(/^change data capture: \d+ pending/);
  });

  it('health --json: every tier up (exit 0); human form too', async () => {
    const [r, human] = await Promise.all([remote('health', '--json'), remote('health')]);
    expect(r.status).toBe(0);
    const health = json(r);
    expect(health.status).not.toBe('DOWN');
    expect(health.tiers.map((t: { name: string }) => t.name).sort()).toEqual(
      ['clickhouse', 'kafka', 'postgres', 'redis', 'vector'].sort(),
    );
    expect(health.tiers.every((t: { status: string }) => t.status === 'UP')).toBe(true);
    expect(human.status).toBe(0);
    expect(human.stdout).toMatch(/^status (OK|DEGRADED)/);
  });

  it('health exits 1 when no gateway answers', async () => {
    const r = await run(['health', '--url', 'http://127.0.0.1:9/graphql', '--token', admin]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('cannot reach the gateway');
  });

  it('dead-letters --json lists them; --redrive queues them again (also as npm run cdc -- redrive)', async () => {
    const empty = await remote('dead-letters', '--json');
    expect(empty.status).toBe(0);
    expect(json(empty)).toEqual({ deadLetters: [] });

    // A change that failed every attempt (the worker paused, so it stays as we leave it).
    await stack.worker!.stop();
    try {
      const [dead] = await stack.tiers.postgres.query<{ seq: string }>(
        `INSERT INTO cdc.change_log (table_name, operation, row_key, new_record, dead_lettered, retry_count, error_message)
         VALUES ('protocols', 'UPDATE', 'no-such-protocol', '{}'::jsonb, true, 3, 'poisoned on purpose') RETURNING seq::text AS seq`,
      );
      const listed = await remote('dead-letters', '--json', '--table', 'protocols');
      expect(json(listed).deadLetters).toEqual([
        expect.objectContaining({
          sequence: dead!.seq,
          table: 'protocols',
          rowKey: 'no-such-protocol',
          attempts: 3,
          error: 'poisoned on purpose',
        }),
      ]);
      const human = await remote('dead-letters');
      expect(human.status).toBe(0);
      expect(human.stdout).toContain('poisoned on purpose');

      const redriven = await run(
        ['redrive', '--table', 'protocols', '--seq', dead!.seq, '--json', '--url', stack.url, '--token', admin],
        { command: [process.execPath, path.join(root, 'bin/cdc.ts')] },
      );
      expect(redriven.stderr).toBe('');
      expect(redriven.status).toBe(0);
      expect(json(redriven)).toEqual({ redriven: 1, table: 'protocols', sequence: dead!.seq });
      const [row] = await stack.tiers.postgres.query<{ dead_lettered: boolean }>(
        'SELECT dead_lettered FROM cdc.change_log WHERE seq = $1::bigint',
        [dead!.seq],
      );
      expect(row!.dead_lettered).toBe(false);
      // Gone before the worker resumes: it is no change of a real row.
      await stack.tiers.postgres.query('DELETE FROM cdc.change_log WHERE seq = $1::bigint', [dead!.seq]);
    } finally {
      await stack.worker!.start();
    }
  });

  it('npm run cdc -- stats and force-sync still work, as aliases', async () => {
    const cdc = [process.execPath, path.join(root, 'bin/cdc.ts')];
    const [stats, sync, bad] = await Promise.all([
      run(['stats', '--json', '--url', stack.url, '--token', admin], { command: cdc }),
      run(['force-sync', 'protocols', '--batch-size', '5', '--json', '--url', stack.url, '--token', admin], {
        command: cdc,
      }),
      run(['nonsense'], { command: cdc }),
    ]);
    expect(stats.status).toBe(0);
    expect(json(stats).cdcStats).toBeDefined();
    expect(sync.status).toBe(0);
    expect(json(sync).result.copied).toBe(12);
    expect(sync.stderr).toContain('--batch-size is ignored');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('usage: npm run cdc');
  });
});

describe('ingest', () => {
  it('ingests JSON lines from a file or stdin in batches (--json)', async () => {
    const now = Date.now();
    const lines = Array.from({ length: 5 }, (_, i) =>
      JSON.stringify({
        assetId: 'AAVE',
        price: `${90 + i}.5`,
        timestamp: new Date(now - (5 - i) * 1000).toISOString(),
      }),
    );
    const file = path.join(scratch, 'ticks.jsonl');
    writeFileSync(file, lines.join('\n') + '\n');
    const fromFile = await remote('ingest', file, '--batch-size', '2', '--json');
    expect(fromFile.status).toBe(0);
    expect(json(fromFile)).toMatchObject({ ingested: 5, assets: 1 });
    expect(fromFile.stderr).toContain('ingesting: 5/5 ticks');
    const fromStdin = await run(['ingest', '--url', stack.url, '--token', admin], { input: lines.join('\n') });
    expect(fromStdin.status).toBe(0);
    expect(fromStdin.stdout).toMatch(/^5 ticks ingested for 1 asset\(s\)/);
    const bad = await run(['ingest', '--url', stack.url, '--token', admin], {
      input: '{"assetId":"AAVE","price":1.5}\n',
    });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('line 1');
  });
});

describe('local commands on a fresh database', () => {
  let database: Awaited<ReturnType<typeof createDatabase>>;
  let env: Record<string, string>;
  beforeAll(async () => {
    database = await createDatabase();
    // The real Postgres, chDB in a directory of its own; the other tiers in the child's process.
    env = { DATABASE_URL: database.url, DATA_DIR: path.join(scratch, 'fresh') };
  });
  afterAll(() => database?.drop());

  it('migrate applies the migrations, and again is a no-op (exit 0 both times)', async () => {
    const first = await run(['migrate', '--json'], { env });
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    expect(json(first)).toEqual({ migrated: true });
    const again = await run(['migrate'], { env });
    expect(again.status).toBe(0);
    expect(again.stdout).toBe('migrations up to date\n');
    const db = new pg.Client({ connectionString: database.url });
    await db.connect();
    try {
      const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM users`);
      expect(rows[0]!.n).toBe(0);
    } finally {
      await db.end();
    }
  });

  it('seed loads the demo data into the empty tiers, once; prune runs', async () => {
    const seeded = await run(['seed', '--json'], { env });
    expect(seeded.status).toBe(0);
    expect(json(seeded)).toEqual({ loaded: true });
    const again = await run(['seed'], { env });
    expect(again.status).toBe(0);
    expect(again.stdout).toContain('already has users: nothing loaded');
    const db = new pg.Client({ connectionString: database.url });
    await db.connect();
    try {
      const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM users`);
      expect(rows[0]!.n).toBe(48);
    } finally {
      await db.end();
    }
    const pruned = await run(['prune', '--json'], { env });
    expect(pruned.status).toBe(0);
    expect(json(pruned)).toEqual({ pruned: expect.any(Number) });
  });
});

/** Tombstones one protocol in its ClickHouse replica behind Postgres's back; returns its key. */
async function dropProtocolFromReplica(): Promise<string> {
  const spec = tableSpec('protocols') as TableSpec & { replica: ReplicaSpec };
  const [row] = await stack.tiers.postgres.query<Record<string, unknown>>(
    `SELECT * FROM protocols ORDER BY id LIMIT 1`,
  );
  const [{ v }] = (await stack.tiers.clickhouse.query<{ v: string }>(
    `SELECT toString(max(_version)) AS v FROM protocols WHERE id = {id:String}`,
    { id: String(row!['id']) },
  )) as [{ v: string }];
  await stack.tiers.clickhouse.insert('protocols', [
    toReplicaRow(spec, row!, { version: String(BigInt(v) + 1n), deleted: true }),
  ]);
  return String(row!['id']);
}
