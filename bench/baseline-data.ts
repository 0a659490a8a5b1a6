/**
 * Shared schema, in-memory data and resolvers for the peer baselines (baseline-apollo.ts,
 * baseline-yoga.ts, baseline-mercurius.ts), so every baseline serves exactly the same
 * portfolio shape: 50 holdings, each with asset, latestPrice, change24h and similar(k).
 * No database; plain graphql-js style resolvers (root, args) usable by all three servers.
 */

export const typeDefs = `#graphql
  type Query { portfolio(userId: ID!): Portfolio }
  type Portfolio { totalValueUsd: String! holdings: [Holding!]! }
  type Holding { quantity: String! valueUsd: String! protocol: Protocol asset: Asset! }
  type Protocol { id: ID! name: String! }
  type Asset { id: ID! symbol: String! name: String! chain: String! latestPrice: String change24h: String similar(k: Int = 3): [Similar!]! }
  type Similar { score: Float! asset: Asset! }
`;

export interface BaselineAsset {
  id: string;
  symbol: string;
  name: string;
  chain: string;
  latestPrice: string;
  change24h: string;
}
export interface BaselineHolding {
  quantity: string;
  valueUsd: string;
  protocol: { id: string; name: string } | null;
  asset: BaselineAsset;
}

const assets: BaselineAsset[] = Array.from({ length: 50 }, (_, i) => ({
  id: `A${i}`,
  symbol: `S${i}`,
  name: `Asset ${i}`,
  chain: 'ethereum',
  latestPrice: `${100 + i}.25`,
  change24h: '1.5',
}));
const holdings: BaselineHolding[] = assets.map((asset, i) => ({
  quantity: `${i}.5`,
  valueUsd: `${i * 100}.75`,
  protocol: i % 2 ? { id: `p${i}`, name: `Protocol ${i}` } : null,
  asset,
}));

export const resolvers = {
  Query: { portfolio: () => ({ totalValueUsd: '123456.78', holdings }) },
  Asset: {
    similar: (a: { id: string }, { k }: { k: number }) =>
      assets
        .filter((b) => b.id !== a.id)
        .slice(0, k)
        .map((asset) => ({ score: 0.9, asset })),
  },
};
