/** All resolvers, one map per tier merged into one. */
import type { Resolvers } from '../schema/generated/resolvers-types.ts';
import { clickhouseResolvers } from './clickhouse/resolvers.ts';
import { postgresResolvers } from './postgres/resolvers.ts';
import { redisResolvers } from './redis/resolvers.ts';
import { DateTimeScalar, DecimalScalar } from './scalars.ts';
import { subscriptionResolvers } from './subscriptions/resolvers.ts';
import { syncResolvers } from './sync/resolvers.ts';
import { vectorResolvers } from './vector/resolvers.ts';

function mergeResolvers(...maps: Resolvers[]): Resolvers {
  const out: Record<string, Record<string, unknown>> = {};
  for (const map of maps) {
    for (const [type, fields] of Object.entries(map)) {
      const target = (out[type] ??= {});
      for (const [field, resolver] of Object.entries(fields as object)) {
        if (field in target) throw new Error(`Resolver ${type}.${field} is defined twice`);
        target[field] = resolver;
      }
    }
  }
  return out as Resolvers;
}

/** Every resolver of the schema. */
export const resolvers: Resolvers = {
  Decimal: DecimalScalar,
  DateTime: DateTimeScalar,
  ...mergeResolvers(
    postgresResolvers,
    clickhouseResolvers,
    redisResolvers,
    vectorResolvers,
    syncResolvers,
    subscriptionResolvers,
  ),
};

export { createLoaders, type Loaders } from './loaders.ts';
/** Re-exported for the gateway. */
export type { Context, EventStreams } from './context.ts';
