/**
 * The limits in a real Apollo Server 5, wired as the gateway wires them: parseOptions,
 * validationRules, queryLimitsPlugin, and the gateway's own error formatter behind
 * withQueryLimitErrors.
 */
import { ApolloServer } from '@apollo/server';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { getIntrospectionQuery } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PORTFOLIO_QUERY } from '../../bench/portfolio-query.ts';
import { createLogger } from '../../lib/logger.ts';
import { loadTypeDefs } from '../../schema/index.ts';
import { createFormatError } from '../pipeline/errors.ts';
import { createQueryLimits } from './create-query-limits.ts';
import { hostileDocuments } from './hostile.ts';
import { queryLimitsPlugin } from './query-limits-plugin.ts';
import { withQueryLimitErrors } from './with-query-limit-errors.ts';

// No resolvers: nullable root fields answer null, and refused operations never execute.
const schema = makeExecutableSchema({ typeDefs: loadTypeDefs() });
const limits = createQueryLimits();
const formatError = createFormatError(createLogger({ level: 'silent' }));

const server = new ApolloServer({
  schema,
  parseOptions: limits.parseOptions,
  validationRules: limits.rules,
  plugins: [queryLimitsPlugin({ limits })],
  formatError: withQueryLimitErrors(formatError),
});
// The same, without the wrapper: what the gateway's formatter keeps on its own.
const bare = new ApolloServer({
  schema,
  parseOptions: limits.parseOptions,
  validationRules: limits.rules,
  plugins: [queryLimitsPlugin({ limits })],
  formatError,
});

beforeAll(async () => {
  await server.start();
  await bare.start();
});
afterAll(async () => {
  await server.stop();
  await bare.stop();
});

async function send(apollo: ApolloServer, query: string, variables?: Record<string, unknown>) {
  const response = await apollo.executeOperation({ query, ...(variables && { variables }) });
  if (response.body.kind !== 'single') throw new Error('expected a single result');
  return { status: response.http.status ?? 200, ...response.body.singleResult };
}

describe('queryLimitsPlugin with Apollo Server', () => {
  it("answers the benchmark's portfolio query and GraphiQL's introspection query", async () => {
    const portfolio = await send(server, PORTFOLIO_QUERY, { u: '1' });
    expect(portfolio.errors).toBeUndefined();
    expect(portfolio.data).toEqual({ portfolio: null });
    const introspection = await send(server, getIntrospectionQuery());
    expect(introspection.errors).toBeUndefined();
  });

  it.each(hostileDocuments().map((h) => [h.name, h.refusedBy.request, h] as const))(
    '%s: refused with %s and HTTP 400, nothing executed',
    async (_name, code, hostile) => {
      const res = await send(server, hostile.source, hostile.variables as Record<string, unknown>);
      expect(res.status).toBe(400);
      expect(res.data).toBeUndefined();
      expect(res.errors![0]!.extensions).toMatchObject({ code });
      expect(res.errors![0]!.extensions).toHaveProperty('allowed');
      expect(res.errors![0]!.extensions).toHaveProperty('measured');
    },
  );

  it('prices each request with its own variables, though Apollo validates the document once', async () => {
    const query = `query Similar($k: Int) { asset(id: "ETH") { similar(k: $k) { score } } }`;
    expect(await send(server, query, { k: 3 })).toEqual({ status: 200, data: { asset: null } });
    const refused = await send(server, query, { k: 1_000_000_000 });
    expect(refused.status).toBe(400);
    expect(refused.errors).toEqual([
      {
        message: 'Operation "Similar" costs 1000000002 with its variables; the limit is 20000.',
        locations: [{ line: 1, column: 1 }],
        extensions: { code: 'QUERY_TOO_COSTLY', measured: 1_000_000_002, allowed: 20_000 },
      },
    ]);
    expect(await send(server, query, { k: 3 })).toEqual({ status: 200, data: { asset: null } });
  });

  it("keeps validation and cost codes through the gateway's formatter alone; tokens need the wrapper", async () => {
    const hostile = (name: string) => hostileDocuments().find((h) => h.name === name)!;
    const [deep, tokens] = [hostile('deep'), hostile('aliases')];
    expect((await send(bare, tokens!.source)).errors![0]!.extensions).toMatchObject({
      code: 'GRAPHQL_PARSE_FAILED',
    });
    expect((await send(bare, deep!.source)).errors![0]!.extensions).toMatchObject({
      code: 'QUERY_TOO_DEEP',
      measured: 200,
      allowed: 12,
    });
    const costly = await send(bare, `query($k: Int) { asset(id: "ETH") { similar(k: $k) { score } } }`, { k: 10 ** 9 });
    expect(costly.errors![0]!.extensions).toMatchObject({ code: 'QUERY_TOO_COSTLY', allowed: 20_000 });
  });
});
