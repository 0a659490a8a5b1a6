/** Subscription fields: events from the bus, payloads resolved through the same batched loaders. */
import type { ChangeEvent, Delivered, PriceEvent, RowDoc } from '../../domain/events.ts';
import { badInput } from '../../lib/errors.ts';
import { parseSlugId, parseUserId } from '../../lib/ids.ts';
import type { Resolvers } from '../../schema/generated/resolvers-types.ts';
import type { Context } from '../context.ts';
import type { HoldingRow, TransactionRow } from '../rows.ts';
import { portfolioOf } from '../postgres/resolvers.ts';

function streams(ctx: Context) {
  if (!ctx.events) throw badInput('BAD_USER_INPUT', 'Subscriptions are served over graphql-ws on the GraphQL path');
  return ctx.events;
}

const str = (doc: RowDoc, key: string) => (doc[key] === null || doc[key] === undefined ? null : String(doc[key]));

function holdingOf(doc: RowDoc): HoldingRow {
  return {
    id: str(doc, 'id')!,
    userId: str(doc, 'user_id')!,
    assetId: str(doc, 'asset_id')!,
    protocolId: str(doc, 'protocol_id'),
    quantity: str(doc, 'quantity')!,
    valueUsd: str(doc, 'value_usd')!,
    updatedAt: new Date(str(doc, 'updated_at')!),
  };
}

function transactionOf(doc: RowDoc): TransactionRow {
  return {
    id: str(doc, 'id')!,
    userId: str(doc, 'user_id')!,
    assetId: str(doc, 'asset_id')!,
    protocolId: str(doc, 'protocol_id'),
    type: str(doc, 'type')!,
    amount: str(doc, 'amount')!,
    valueUsd: str(doc, 'value_usd')!,
    txHash: str(doc, 'tx_hash'),
    occurredAt: new Date(str(doc, 'occurred_at')!),
  };
}

/** The user a payload is about: the subscription argument, kept with the event. */
const ownerOf = (e: ChangeEvent) => str((e.after ?? e.before)!, 'user_id')!;

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
    holding: ({ event: e }) => (e.operation === 'DELETE' || !e.after ? null : holdingOf(e.after)),
    portfolio: (d, _, ctx) => portfolioOf(ctx, ownerOf(d.event)),
  },
  TransactionEvent: {
    sequence: (d) => d.event.sequence,
    operation: (d) => d.event.operation,
    transaction: ({ event: e }) => (e.operation === 'DELETE' || !e.after ? null : transactionOf(e.after)),
  },
  PriceUpdate: {
    asset: async (d, _, ctx) => (await ctx.loaders.assets.load(d.event.assetId))!,
    price: (d) => d.event.price,
    change24h: (d) => d.event.change24h,
    timestamp: (d) => new Date(d.event.ts),
  },
};
