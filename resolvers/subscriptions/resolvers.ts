/** Subscription fields: events from the bus, payloads resolved through the same batched loaders. */
import type { ChangeEvent, Delivered, PriceEvent } from '../../domain/events.ts';
import { decodeHolding, decodeTransaction } from '../../domain/tables.ts';
import { badInput } from '../../lib/errors.ts';
import { parseSlugId, parseUserId } from '../../lib/ids.ts';
import type { Resolvers } from '../../schema/generated/resolvers-types.ts';
import type { Context } from '../context.ts';
import { portfolioOf } from '../postgres/resolvers.ts';

function streams(ctx: Context) {
  if (!ctx.events) throw badInput('BAD_USER_INPUT', 'Subscriptions are served over graphql-ws on the GraphQL path');
  return ctx.events;
}

/** The user a payload is about: the owner after the change (or before a delete). */
const ownerOf = (e: ChangeEvent) => String((e.after ?? e.before)!['user_id']);

/** Subscription resolvers and the fields of their payloads. */
export const subscriptionResolvers: Resolvers = {
  Subscription: {
    portfolioUpdated: {
      subscribe: (_, { userId, after }, ctx) => streams(ctx).portfolio(parseUserId(userId), after ?? undefined),
      resolve: (delivered: Delivered<ChangeEvent>) => delivered,
    },
    transactionRecorded: {
      subscribe: (_, { userId, after }, ctx) => streams(ctx).transactions(parseUserId(userId), after ?? undefined),
      resolve: (delivered: Delivered<ChangeEvent>) => delivered,
    },
    priceUpdated: {
      subscribe: (_, { assetIds }, ctx) => {
        if (assetIds.length === 0 || assetIds.length > 100)
          throw badInput('INVALID_ARGUMENT', 'assetIds must list 1 to 100 assets', { field: 'assetIds' });
        return streams(ctx).prices(assetIds.map((id, i) => parseSlugId(id, `assetIds[${i}]`)));
      },
      resolve: (delivered: Delivered<PriceEvent>) => delivered,
    },
  },
  PortfolioUpdate: {
    sequence: (d) => d.event.sequence,
    operation: (d) => d.event.operation,
    holdingId: (d) => d.event.key,
    holding: ({ event: e }) => (e.operation === 'DELETE' || !e.after ? null : decodeHolding(e.after)),
    portfolio: (d, _, ctx) => portfolioOf(ctx, ownerOf(d.event)),
  },
  TransactionEvent: {
    sequence: (d) => d.event.sequence,
    operation: (d) => d.event.operation,
    transaction: ({ event: e }) => (e.operation === 'DELETE' || !e.after ? null : decodeTransaction(e.after)),
  },
  PriceUpdate: {
    asset: async (d, _, ctx) => (await ctx.loaders.assets.load(d.event.assetId))!,
    price: (d) => d.event.price,
    change24h: (d) => d.event.change24h,
    timestamp: (d) => new Date(d.event.ts),
  },
};
