/** Subscription fields: events from the bus, payloads resolved through the same batched loaders. */
import type { ChangeEvent, PriceEvent, RowDoc } from '../../domain/events.ts';
import { badInput } from '../../lib/errors.ts';
import { parseSlugId, parseUserId } from '../../lib/ids.ts';
import type { Resolvers } from '../../schema/generated/resolvers-types.ts';
import type { Context } from '../context.ts';
import type { HoldingRow, TransactionRow } from '../rows.ts';

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
      subscribe: (_, { userId }, ctx) => streams(ctx).portfolio(parseUserId(userId)),
      resolve: (event: ChangeEvent) => event,
    },
    transactionRecorded: {
      subscribe: (_, { userId }, ctx) => streams(ctx).transactions(parseUserId(userId)),
      resolve: (event: ChangeEvent) => event,
    },
    priceUpdated: {
      subscribe: (_, { assetIds }, ctx) => {
        if (assetIds.length === 0 || assetIds.length > 100) throw badInput('INVALID_ARGUMENT', 'assetIds must list 1 to 100 assets', { field: 'assetIds' });
        return streams(ctx).prices(assetIds.map((id, i) => parseSlugId(id, `assetIds[${i}]`)));
      },
      resolve: (event: PriceEvent) => event,
    },
  },
  PortfolioUpdate: {
    position: (e) => e.sequence,
    holdingId: (e) => e.key,
    holding: (e) => (e.operation === 'DELETE' || !e.after ? null : holdingOf(e.after)),
    async portfolio(e, _, ctx) {
      const userId = ownerOf(e);
      return { userId, holdings: (await ctx.loaders.holdingsByUser.load(userId)) ?? [] };
    },
  },
  TransactionEvent: {
    position: (e) => e.sequence,
    transaction: (e) => (e.operation === 'DELETE' || !e.after ? null : transactionOf(e.after)),
  },
  PriceUpdate: {
    asset: async (e, _, ctx) => (await ctx.loaders.assets.load(e.assetId))!,
    timestamp: (e) => new Date(e.ts),
  },
};
