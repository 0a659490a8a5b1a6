/**
 * The peer baseline, in its own process: a stock Apollo Server 5 (startStandaloneServer,
 * graphql-js, default plugins) serving the same portfolio shape from in-memory data, no
 * database. Prints one JSON line with its URL: the stock peer the gateway is measured against,
 * side by side in the same run.
 *
 * BASELINE_CACHE=1 turns on Apollo's own full response cache: @apollo/server-plugin-response-cache
 * (default in-memory cache) with every field cacheable for 60 s via ApolloServerPluginCacheControl.
 */
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControl } from '@apollo/server/plugin/cacheControl';
import { startStandaloneServer } from '@apollo/server/standalone';
import responseCachePlugin from '@apollo/server-plugin-response-cache';
import { resolvers, typeDefs } from './baseline-data.ts';
import { serveUntilSigterm } from './harness.ts';

const cached = process.env.BASELINE_CACHE === '1';
const plugins: ApolloServerPlugin[] = cached
  ? [ApolloServerPluginCacheControl({ defaultMaxAge: 60 }), responseCachePlugin()]
  : [];
const server = new ApolloServer({ typeDefs, resolvers, plugins });
const { url } = await startStandaloneServer(server, { listen: { port: 0, host: '127.0.0.1' } });
serveUntilSigterm({ url, whaleId: '1' }, () => server.stop());
