/** Fields served by Postgres: users, portfolios, holdings, transactions, protocols. */
import { sumDecimals } from '../../lib/decimal.ts';
import { parseSlugId, parseUserId } from '../../lib/ids.ts';
import type { Resolvers, TransactionConnection } from '../../schema/generated/resolvers-types.ts';
import { exactlyOne, intInRange } from '../args.ts';
import type { Context } from '../context.ts';
import type { TransactionRow } from '../../domain/rows.ts';
import type { PortfolioParent } from '../parents.ts';
import { decodeCursor, encodeCursor } from './cursor.ts';
import { recordTransaction, updateHolding } from './mutations.ts';

type Connection = Omit<TransactionConnection, 'edges'> & { edges: Array<{ cursor: string; node: TransactionRow }> };

async function transactionPage(
  ctx: Context,
  userId: string,
  first: number | null | undefined,
  after: string | null | undefined,
): Promise<Connection> {
  const size = intInRange(first, 20, { field: 'first', min: 0, max: ctx.config.gateway.maxPageSize });
  const cursor = after ? decodeCursor(after) : null;
  const rows = size === 0 ? [] : await ctx.loaders.transactionPages.load({ userId, limit: size + 1, after: cursor });
  const page = rows.slice(0, size);
  const edges = page.map((node) => ({ cursor: encodeCursor({ occurredAtUs: node.occurredAtUs, id: node.id }), node }));
  return { edges, pageInfo: { hasNextPage: rows.length > size, endCursor: edges.at(-1)?.cursor ?? null } };
}

/** A user's portfolio: the holdings (empty for an unknown user), shared by queries and subscriptions. */
export async function portfolioOf(ctx: Context, userId: string): Promise<PortfolioParent> {
  return { userId, holdings: (await ctx.loaders.holdingsByUser.load(userId)) ?? [] };
}

/** Resolvers of the fields Postgres serves. */
export const postgresResolvers: Resolvers = {
  Query: {
    async user(_, { id, handle }, ctx) {
      exactlyOne(id, handle, ['id', 'handle']);
      if (id !== null && id !== undefined) return ctx.loaders.users.load(parseUserId(id, 'id'));
      return ctx.loaders.usersByHandle.load(handle!);
    },
    async portfolio(_, { userId }, ctx) {
      const id = parseUserId(userId);
      const holdings = await ctx.loaders.holdingsByUser.load(id);
      return holdings && { userId: id, holdings };
    },
    transactions: (_, { userId, first, after }, ctx) => transactionPage(ctx, parseUserId(userId), first, after),
    asset: (_, { id }, ctx) => ctx.loaders.assets.load(parseSlugId(id, 'id')),
    protocol: (_, { id }, ctx) => ctx.loaders.protocols.load(parseSlugId(id, 'id')),
  },
  Mutation: {
    recordTransaction: (_, { input }, ctx) => recordTransaction(ctx, input),
    updateHolding: (_, { input }, ctx) => updateHolding(ctx, input),
  },
  User: {
    portfolio: (user, _, ctx) => portfolioOf(ctx, user.id),
    transactions: (user, { first, after }, ctx) => transactionPage(ctx, user.id, first, after),
  },
  Portfolio: {
    user: async (p, _, ctx) => (await ctx.loaders.users.load(p.userId))!,
    totalValueUsd: (p) => sumDecimals(p.holdings.map((h) => h.valueUsd)),
  },
  Holding: {
    asset: async (h, _, ctx) => (await ctx.loaders.assets.load(h.assetId))!,
    protocol: (h, _, ctx) => (h.protocolId ? ctx.loaders.protocols.load(h.protocolId) : null),
  },
  Transaction: {
    user: async (t, _, ctx) => (await ctx.loaders.users.load(t.userId))!,
    asset: async (t, _, ctx) => (await ctx.loaders.assets.load(t.assetId))!,
    protocol: (t, _, ctx) => (t.protocolId ? ctx.loaders.protocols.load(t.protocolId) : null),
  },
};
