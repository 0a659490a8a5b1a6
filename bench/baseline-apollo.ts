/**
 * The peer baseline, in its own process: a stock Apollo Server 5 (startStandaloneServer,
 * graphql-js, default plugins) serving the same portfolio shape from in-memory data, no
 * database. Prints one JSON line with its URL. Mirrors the "Apollo Server 5, no cache" row of
 * shared/FACTS.md, measured here side by side with our gateway.
 */
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';

const typeDefs = `#graphql
  type Query { portfolio(userId: ID!): Portfolio }
  type Portfolio { totalValueUsd: String! holdings: [Holding!]! }
  type Holding { quantity: String! valueUsd: String! protocol: Protocol asset: Asset! }
  type Protocol { id: ID! name: String! }
  type Asset { id: ID! symbol: String! name: String! chain: String! latestPrice: String change24h: String similar(k: Int = 3): [Similar!]! }
  type Similar { score: Float! asset: Asset! }
`;
const assets = Array.from({ length: 50 }, (_, i) => ({ id: `A${i}`, symbol: `S${i}`, name: `Asset ${i}`, chain: 'ethereum', latestPrice: `${100 + i}.25`, change24h: '1.5' }));
const holdings = assets.map((asset, i) => ({ quantity: `${i}.5`, valueUsd: `${i * 100}.75`, protocol: i % 2 ? { id: `p${i}`, name: `Protocol ${i}` } : null, asset }));
const resolvers = {
  Query: { portfolio: () => ({ totalValueUsd: '123456.78', holdings }) },
  Asset: { similar: (a: { id: string }, { k }: { k: number }) => assets.filter((b) => b.id !== a.id).slice(0, k).map((asset) => ({ score: 0.9, asset })) },
};
const server = new ApolloServer({ typeDefs, resolvers });
const { url } = await startStandaloneServer(server, { listen: { port: 0, host: '127.0.0.1' } });
process.stdout.write(JSON.stringify({ url, whaleId: '1' }) + '\n');
let stopping = false;
process.on('SIGTERM', async () => {
  if (stopping) return;
  stopping = true;
  await server.stop();
  process.exit(0);
});
