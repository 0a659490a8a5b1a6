/**
 * Peer baseline, in its own process: GraphQL Yoga 5 (createYoga on node:http, graphql-js)
 * serving the same portfolio schema, data and resolvers as baseline-apollo.ts (bench/baseline-data.ts).
 * Prints one JSON line with its URL and stops on SIGTERM.
 *
 * BASELINE_CACHE=1 adds Yoga's full response cache (@graphql-yoga/plugin-response-cache,
 * in-memory, shared across sessions, TTL 60 s).
 */
import { createServer } from 'node:http';
import { createSchema, createYoga, type Plugin } from 'graphql-yoga';
import { useResponseCache } from '@graphql-yoga/plugin-response-cache';
import { resolvers, typeDefs } from './baseline-data.ts';
import { serveUntilSigterm } from './harness.ts';

const cached = process.env.BASELINE_CACHE === '1';
const plugins: Plugin[] = cached ? [useResponseCache({ session: () => null, ttl: 60_000 })] : [];
const yoga = createYoga({ schema: createSchema({ typeDefs, resolvers }), graphqlEndpoint: '/graphql', plugins });
const server = createServer(yoga);
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as { port: number };
serveUntilSigterm({ url: `http://127.0.0.1:${port}/graphql`, whaleId: '1' }, async () => {
  const closed = new Promise((resolve) => server.close(resolve));
  server.closeAllConnections();
  await closed;
  await yoga.dispose();
});
