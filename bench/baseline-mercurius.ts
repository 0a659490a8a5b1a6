/**
 * Peer baseline, in its own process: Fastify 5 + Mercurius with graphql-jit (jit: 1, i.e. a
 * query is compiled after its first execution) serving the same portfolio schema, data and
 * resolvers as baseline-apollo.ts (bench/baseline-data.ts). Prints one JSON line with its URL
 * and stops on SIGTERM.
 *
 * BASELINE_CACHE=1 adds mercurius-cache with a policy caching Query.portfolio (in-memory,
 * ttl 60 s). Note that mercurius-cache caches resolver results, not whole responses: the
 * fields below portfolio are still executed on every request.
 */
import Fastify from 'fastify';
import mercurius from 'mercurius';
import mercuriusCacheModule from 'mercurius-cache';
import { resolvers, typeDefs } from './baseline-data.ts';
import { serveUntilSigterm } from './harness.ts';

// mercurius-cache is CommonJS (`module.exports = plugin`) while its typings declare `export default`,
// so under nodenext the types put the plugin at `.default`; at runtime the default import is the plugin.
const mercuriusCache = mercuriusCacheModule as unknown as typeof mercuriusCacheModule.default;

const cached = process.env.BASELINE_CACHE === '1';
const app = Fastify();
await app.register(mercurius, { schema: typeDefs, resolvers, jit: 1, path: '/graphql' });
if (cached) await app.register(mercuriusCache, { ttl: 60, policy: { Query: { portfolio: true } } });
const address = await app.listen({ port: 0, host: '127.0.0.1' });
serveUntilSigterm({ url: `${address}/graphql`, whaleId: '1' }, () => app.close());
