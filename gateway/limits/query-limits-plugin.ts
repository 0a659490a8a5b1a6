/**
 * The HTTP edge's per-request check: the cost of the operation with the request's variables.
 * Apollo Server validates a document once and caches it (its documentStore, keyed by the
 * query's hash), so validation rules see no variables; `first: $n` is counted at its default
 * there, and here again with the value sent, before execution.
 */
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { GraphQLError } from 'graphql';
import type { QueryLimits } from './create-query-limits.ts';

/** Refuses (HTTP 400, QUERY_TOO_COSTLY) an operation that costs more than maxCost with its variables. */
export function queryLimitsPlugin<TContext extends BaseContext>(options: {
  limits: QueryLimits;
}): ApolloServerPlugin<TContext> {
  const { limits } = options;
  return {
    async requestDidStart() {
      return {
        async didResolveOperation(requestContext) {
          const refused = limits.checkCost({
            schema: requestContext.schema,
            document: requestContext.document,
            operationName: requestContext.request.operationName,
            variables: requestContext.request.variables,
          });
          if (!refused) return;
          // Apollo answers an error thrown here with 500 unless it says otherwise; the limit
          // error rides as originalError, where the gateway's formatError finds codes.
          throw new GraphQLError(refused.message, {
            nodes: refused.nodes,
            originalError: refused,
            extensions: { ...refused.extensions, http: { status: 400 } },
          });
        },
      };
    },
  };
}
