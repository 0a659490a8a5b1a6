/** The limits on a real graphql-ws server, spoken to by graphql-ws's client over a socket. */
import { makeExecutableSchema } from '@graphql-tools/schema';
import type { GraphQLFormattedError } from 'graphql';
import { createClient, type Client, type SubscribePayload } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { loadTypeDefs } from '../../schema/index.ts';
import { createLimitedSubscribe } from './create-limited-subscribe.ts';
import { createQueryLimits } from './create-query-limits.ts';
import { hostileDocuments } from './hostile.ts';

const schema = makeExecutableSchema({
  typeDefs: loadTypeDefs(),
  resolvers: {
    Query: { asset: (_: unknown, _args: unknown, context: { viewer: string }) => ({ id: context.viewer }) },
  },
});
const limits = createQueryLimits();

let httpServer: http.Server;
let wss: WebSocketServer;
let disposable: { dispose(): void | Promise<void> };
let client: Client;

beforeAll(async () => {
  httpServer = http.createServer();
  wss = new WebSocketServer({ server: httpServer });
  disposable = useServer(
    { schema, context: () => ({ viewer: 'from-context' }), onSubscribe: createLimitedSubscribe({ schema, limits }) },
    wss,
  );
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const { port } = httpServer.address() as AddressInfo;
  client = createClient({ url: `ws://127.0.0.1:${port}`, webSocketImpl: WebSocket, retryAttempts: 0 });
});

afterAll(async () => {
  await client.dispose();
  await disposable.dispose();
  await new Promise((resolve) => wss.close(resolve));
  await new Promise((resolve) => httpServer.close(resolve));
});

/** The results of one operation, or the errors it was refused with. */
function run(payload: SubscribePayload): Promise<{ data?: unknown[]; errors?: GraphQLFormattedError[] }> {
  return new Promise((resolve, reject) => {
    const data: unknown[] = [];
    client.subscribe(payload, {
      next: (result) => data.push(result.data),
      error: (error) => (Array.isArray(error) ? resolve({ errors: error }) : reject(error)),
      complete: () => resolve({ data }),
    });
  });
}

describe('createLimitedSubscribe with graphql-ws', () => {
  it("runs an operation within the limits, with the server's context", async () => {
    expect(await run({ query: `query($id: ID!) { asset(id: $id) { id } }`, variables: { id: 'ETH' } })).toEqual({
      data: [{ asset: { id: 'from-context' } }],
    });
  });

  it.each(hostileDocuments().map((h) => [h.name, h.refusedBy.request, h] as const))(
    '%s: refused with %s',
    async (_name, code, hostile) => {
      const { errors } = await run({ query: hostile.source, variables: hostile.variables as Record<string, unknown> });
      expect(errors?.[0]?.extensions).toMatchObject({ code });
    },
  );

  it('answers a syntax error with the error rather than closing the socket', async () => {
    const { errors } = await run({ query: '{ asset(id: "ETH") { id }' });
    expect(errors?.[0]?.message).toMatch(/^Syntax Error/);
    expect(await run({ query: '{ __typename }' })).toEqual({ data: [{ __typename: 'Query' }] });
  });
});
