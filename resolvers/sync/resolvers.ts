/** Operations fields: CDC statistics, replica status, and the admin backfill. */
import { requireAdmin } from '../admin.ts';
import type { Resolvers } from '../../schema/generated/resolvers-types.ts';
import { backfillTable } from '../../sync-worker/backfill.ts';
import { cdcStats, syncStatus } from '../../sync-worker/stats.ts';

export const syncResolvers: Resolvers = {
  Query: {
    cdcStats: (_, __, ctx) => cdcStats(ctx.tiers),
    syncStatus: (_, __, ctx) => syncStatus(ctx.tiers),
  },
  Mutation: {
    async forceSync(_, { table }, ctx) {
      requireAdmin(ctx, 'forceSync');
      return backfillTable({
        postgres: ctx.tiers.postgres,
        clickhouse: ctx.tiers.clickhouse,
        table,
        batchSize: ctx.config.cdc.backfillBatchSize,
      });
    },
  },
};
