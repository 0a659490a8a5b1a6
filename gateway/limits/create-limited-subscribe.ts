/**
 * The WebSocket edge's limits, as graphql-ws's `onSubscribe`: left to itself graphql-ws parses
 * without a token cap and validates with specifiedRules only, so we parse and validate
 * ourselves (checkRequest), with the same limits as the HTTP edge, and price the operation
 * with the message's variables.
 */
import type { ExecutionArgs, GraphQLError, GraphQLSchema } from 'graphql';
import type { SubscribePayload } from 'graphql-ws';
import { checkRequest } from './check-request.ts';
import type { QueryLimits } from './create-query-limits.ts';

/**
 * An `onSubscribe` for graphql-ws's useServer: the execution arguments of an operation within
 * the limits (its context left for the server's `context` option to fill), else the errors
 * graphql-ws sends back in an Error message.
 */
export function createLimitedSubscribe(options: {
  schema: GraphQLSchema;
  limits: QueryLimits;
}): (ctx: unknown, id: string, payload: SubscribePayload) => ExecutionArgs | readonly GraphQLError[] {
  const { schema, limits } = options;
  return (_ctx, _id, payload) => {
    const checked = checkRequest({
      schema,
      limits,
      source: payload.query,
      operationName: payload.operationName,
      variables: payload.variables,
    });
    if (checked.errors) return checked.errors;
    return {
      schema,
      document: checked.document,
      operationName: payload.operationName,
      variableValues: payload.variables,
    };
  };
}
