/**
 * `sync`, `validate`, `reconcile` and `jobs`: queue a job through the gateway's admin API
 * (forceSync, validateConsistency, reconcile), follow it with `job(id)` and a progress bar
 * until a sync worker finishes it, then print its result. The worker does the work; the CLI
 * only asks and watches, so it runs anywhere the gateway is reachable. Stopping the CLI stops
 * the watching, not the job.
 */
import type { Command } from 'commander';
import { CliError } from './cli-error.ts';
import type { GatewayOptions } from './credentials.ts';
import { asUsage, type GatewayClient } from './gateway-client.ts';
import {
  formatJob,
  formatJobs,
  isPending,
  JOB_FIELDS,
  JOB_SUMMARY_FIELDS,
  normalizeJob,
  type Job,
} from './job-report.ts';
import { note, print, printJson } from './output.ts';
import { startProgress } from './progress.ts';
import { connect, gatewayOptions, parseDuration, positiveInt } from './shared-options.ts';

/** How often a followed job is read. */
const POLL_MS = 250;
/** A job queued this long without a worker taking it earns a hint. */
const QUEUED_HINT_MS = 10_000;

interface FollowOptions extends GatewayOptions {
  readonly json?: boolean;
  readonly wait: boolean;
  readonly timeout?: number;
  readonly full?: boolean;
}

/** Registers the job commands. */
export function registerJobCommands(program: Command): void {
  followOptions(
    gatewayOptions(
      program
        .command('sync')
        .summary('copy a table to its ClickHouse replica (job)')
        .description('copy a whole table from Postgres to its ClickHouse replica (a BACKFILL job), and follow it')
        .argument('<table>', 'a replicated table: protocols, portfolio_holdings, transaction_history'),
    ),
  ).action(async (table: string, options: FollowOptions) => {
    const client = await connect(options, 'sync');
    const data = await asUsage(
      client.request<{ forceSync: Job }>(
        `mutation($t: String!) { forceSync(table: $t) { ...JobFields } } ${JOB_FIELDS}`,
        { t: table },
      ),
    );
    await finish(client, normalizeJob(data.forceSync), options, `sync ${table}`);
  });

  followOptions(
    gatewayOptions(
      program
        .command('validate')
        .summary('compare the replicas with Postgres (job); exit 1 on drift')
        .description(
          'compare the derived tiers with Postgres (a VALIDATE job): row counts against the tolerance, the differing keys, ' +
            'orphans, hot data, the vector index; exits 1 when anything is invalid',
        )
        .argument('[tables...]', 'replicated tables to compare (all when none)')
        .option('--full', 'list every differing key the worker reported (up to 100 per kind), not the first 10'),
    ),
  ).action(async (tables: string[], options: FollowOptions) => {
    const client = await connect(options, 'validate');
    const data = await asUsage(
      client.request<{ validateConsistency: Job }>(
        `mutation($tables: [String!]) { validateConsistency(tables: $tables) { ...JobFields } } ${JOB_FIELDS}`,
        { tables: tables.length > 0 ? tables : null },
      ),
    );
    await finish(client, normalizeJob(data.validateConsistency), options, 'validate');
  });

  followOptions(
    gatewayOptions(
      program
        .command('reconcile')
        .summary("repair a replica's differing rows (job; dry run unless --apply)")
        .description(
          "repair exactly the differing rows of a table's replica (a RECONCILE job); a dry run, reporting the plan, unless --apply",
        )
        .argument('<table>', 'a replicated table')
        .option('--apply', 'change the replica (default: dry run)')
        .option('--full', 'list every key the worker reported (up to 100 per kind), not the first 10'),
    ),
  ).action(async (table: string, options: FollowOptions & { apply?: boolean }) => {
    const client = await connect(options, 'reconcile');
    const data = await asUsage(
      client.request<{ reconcile: Job }>(
        `mutation($t: String!, $dry: Boolean!) { reconcile(table: $t, dryRun: $dry) { ...JobFields } } ${JOB_FIELDS}`,
        { t: table, dry: !options.apply },
      ),
    );
    await finish(client, normalizeJob(data.reconcile), options, `reconcile ${table}`);
  });

  gatewayOptions(
    program
      .command('jobs')
      .summary('the most recent jobs (--json: with result totals)')
      .description('the most recent jobs, newest first, with their outcome')
      .option('--last <n>', 'how many (1 to 100)', positiveInt(100), 20),
  ).action(async (options: GatewayOptions & { json?: boolean; last: number }) => {
    const client = await connect(options, 'jobs');
    const data = await client.request<{ jobs: Job[] }>(
      `query($n: Int!) { jobs(last: $n) { ...JobSummary } } ${JOB_SUMMARY_FIELDS}`,
      { n: options.last },
    );
    const jobs = data.jobs.map(normalizeJob);
    if (options.json) printJson(jobs);
    else print(formatJobs(jobs));
  });
}

/** The options of a command that queues a job and follows it. */
function followOptions(command: Command): Command {
  return command
    .option('--no-wait', 'print the queued job and return at once (follow it with `jobs`)')
    .option(
      '--timeout <duration>',
      'give up following after this long (30s, 10m, 1h); the job goes on',
      (value: string) => parseDuration(value) * 1000,
    );
}

/** Follows a queued job (unless --no-wait), prints it, and fails when it failed or found drift. */
async function finish(client: GatewayClient, queued: Job, options: FollowOptions, label: string): Promise<void> {
  if (!options.wait) {
    if (options.json) printJson(queued);
    else print(`job ${queued.id} (${queued.kind}) ${queued.status}; follow it with: npx yieldsensei jobs`);
    return;
  }
  const job = await follow(client, queued, { label, timeoutMs: options.timeout });
  if (options.json) printJson(job);
  else print(formatJob(job, { fullKeys: options.full }));
  if (job.status === 'FAILED') throw new CliError(`job ${job.id} failed: ${job.error ?? 'no error recorded'}`);
  const result = job.result;
  if (result?.__typename === 'ConsistencyReport' && !result.isValid) {
    const beyond = result.tables.filter((t) => !t.withinTolerance).map((t) => t.table);
    const invalid = result.tables.filter((t) => !t.isValid).map((t) => t.table);
    throw new CliError(
      beyond.length > 0
        ? `drift beyond the ${result.tolerancePercent} % tolerance: ${beyond.join(', ')}`
        : `inconsistent: ${invalid.length > 0 ? invalid.join(', ') : 'orphans, hot data or the vector index'}`,
    );
  }
}

/** Polls `job(id)` until the job finishes, drawing its progress on stderr. */
async function follow(
  client: GatewayClient,
  queued: Job,
  options: { label: string; timeoutMs?: number },
): Promise<Job> {
  const progress = startProgress({ label: `${options.label} (job ${queued.id})`, total: 100, unit: '%' });
  const started = Date.now();
  let job = queued;
  let hinted = false;
  try {
    while (isPending(job)) {
      progress.update(Math.round(job.progress * 100), job.status);
      const waited = Date.now() - started;
      if (!hinted && job.status === 'QUEUED' && waited > QUEUED_HINT_MS) {
        hinted = true;
        note(`job ${job.id} is still queued: is a sync worker running? (npx yieldsensei start, or worker)`);
      }
      if (options.timeoutMs !== undefined && waited > options.timeoutMs) {
        throw new CliError(
          `job ${job.id} still ${job.status} after ${Math.round(waited / 1000)} s; it goes on in the worker (npx yieldsensei jobs)`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      const data = await client.request<{ job: Job | null }>(
        `query($id: ID!) { job(id: $id) { ...JobFields } } ${JOB_FIELDS}`,
        { id: job.id },
      );
      if (!data.job) throw new CliError(`job ${job.id} disappeared`);
      job = normalizeJob(data.job);
    }
    progress.update(job.status === 'SUCCEEDED' ? 100 : Math.round(job.progress * 100), job.status);
  } finally {
    progress.stop();
  }
  return job;
}
