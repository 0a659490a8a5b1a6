/**
 * Operations fields: CDC statistics, replica status, and the jobs a sync worker runs
 * (backfill, consistency validation, reconciliation). A request only queues a job and returns
 * it; the client follows its progress with `job(id)`. Who may call these is the gateway's
 * authorization table (admins).
 */
import { replicatedTable } from '../../changelog/backfill.ts';
import { deadLetters, redrive } from '../../changelog/queue.ts';
import { cdcStats, changeErrorRate, syncStatus } from '../../changelog/stats.ts';
import { checkReadiness } from '../../stores/readiness.ts';
import type { JobRecord } from '../../jobs/queue.ts';
import { badInput } from '../../lib/errors.ts';
import type { Resolvers } from '../../schema/generated/resolvers-types.ts';
import { intInRange } from '../args.ts';
import type { Context } from '../context.ts';

/** Who queued a job, as stored with it. */
const requester = (ctx: Context) => (ctx.viewer.kind === 'user' ? `user:${ctx.viewer.userId}` : 'anonymous');

/** A captured table with a replica, as the operator configured it; INVALID_ARGUMENT otherwise. */
function capturedReplica(ctx: Context, name: string, field: string): string {
  const spec = replicatedTable(name, field);
  if (!ctx.tables.some((t) => t.name === spec.name)) {
    throw badInput('INVALID_ARGUMENT', `${field}: ${spec.name} is not captured in this deployment (CDC_TABLES)`, {
      field,
    });
  }
  return spec.name;
}

/** The typename of a job's result, by its kind. */
const RESULT_TYPE = { BACKFILL: 'SyncResult', VALIDATE: 'ConsistencyReport', RECONCILE: 'ReconcileReport' } as const;

/** Operations resolvers. */
export const syncResolvers: Resolvers = {
  Query: {
    cdcStats: (_, __, ctx) => cdcStats(ctx.tiers),
    syncStatus: (_, __, ctx) => syncStatus({ ...ctx.tiers, tables: ctx.tables }),
    async job(_, { id }, ctx) {
      if (!/^[1-9]\d{0,17}$/.test(id)) throw badInput('INVALID_ID', 'id must be a job id', { field: 'id' });
      return ctx.jobs.get(id);
    },
    jobs: (_, { last }, ctx) => ctx.jobs.list(intInRange(last, 20, { field: 'last', min: 1, max: 100 })),
    deadLetters: (_, { first }, ctx) =>
      deadLetters(ctx.tiers.postgres, intInRange(first, 20, { field: 'first', min: 1, max: 100 })) as never,
    async health(_, __, ctx) {
      const [readiness, stats, errorRate, sync, latest] = await Promise.all([
        checkReadiness(ctx.tiers),
        cdcStats(ctx.tiers).catch(() => undefined),
        changeErrorRate(ctx.tiers.postgres).catch(() => 0),
        syncStatus({ ...ctx.tiers, tables: ctx.tables }).catch(() => []),
        ctx.jobs.latestFinished('VALIDATE').catch(() => null),
      ]);
      const verdict = latest?.status === 'SUCCEEDED' ? (latest.result as { isValid?: boolean } | null) : null;
      const consistency =
        latest && verdict && typeof verdict.isValid === 'boolean'
          ? { isValid: verdict.isValid, jobId: latest.id, checkedAt: latest.finishedAt ?? latest.createdAt }
          : null;
      const deadLettered = stats?.deadLettered ?? 0;
      const status = !readiness.ready ? 'DOWN' : deadLettered > 0 || consistency?.isValid === false ? 'DEGRADED' : 'OK';
      return {
        initialized: true,
        status,
        tiers: Object.entries(readiness.tiers).map(([name, t]) => ({
          name,
          status: t.status === 'up' ? 'UP' : 'DOWN',
          kind: t.kind,
          latencyMs: t.latencyMs,
          error: t.error ?? null,
        })),
        kafkaConnected: stats?.kafkaConnected ?? false,
        pendingChanges: stats?.pending ?? 0,
        deadLettered,
        errorRate,
        syncStatus: sync,
        consistency,
      };
    },
  },
  Mutation: {
    forceSync: (_, { table }, ctx) =>
      ctx.jobs.enqueue('BACKFILL', { table: capturedReplica(ctx, table, 'table') }, requester(ctx)),
    validateConsistency(_, { tables }, ctx) {
      if (tables && tables.length > 20) throw badInput('INVALID_ARGUMENT', 'at most 20 tables', { field: 'tables' });
      const names = tables?.map((t, i) => capturedReplica(ctx, t, `tables[${i}]`));
      return ctx.jobs.enqueue('VALIDATE', names ? { tables: names } : {}, requester(ctx));
    },
    async redriveDeadLetters(_, { table, sequence }, ctx) {
      if (table != null) capturedReplica(ctx, table, 'table');
      if (sequence != null && !/^[1-9]\d{0,18}$/.test(sequence)) {
        throw badInput('INVALID_ARGUMENT', 'sequence must be a change sequence', { field: 'sequence' });
      }
      return redrive(ctx.tiers.postgres, { table: table ?? undefined, seq: sequence ?? undefined });
    },
    reconcile(_, { table, dryRun }, ctx) {
      // asset_embeddings has no replica: its projection is the vector index, repaired the same way.
      const embeddings = ctx.tables.find((t) => t.name === table && t.projection === 'embeddings');
      const name = embeddings ? embeddings.name : capturedReplica(ctx, table, 'table');
      return ctx.jobs.enqueue('RECONCILE', { table: name, dryRun }, requester(ctx));
    },
  },
  Job: {
    // The stored result is plain JSON; its kind says which GraphQL type it is.
    result: (job: JobRecord) =>
      job.status === 'SUCCEEDED' && job.result && typeof job.result === 'object'
        ? ({ ...(job.result as object), __typename: RESULT_TYPE[job.kind] } as never)
        : null,
  },
  JobResult: {
    __resolveType: (result) => (result as { __typename: (typeof RESULT_TYPE)[keyof typeof RESULT_TYPE] }).__typename,
  },
};
