/**
 * Every limit on one request, in the order a server applies them: the token cap while parsing,
 * validation (graphql-js's specifiedRules and ours), then the cost with the request's
 * variables. What the WebSocket edge runs for each subscribe message; the HTTP edge gets the
 * same from Apollo Server's pipeline (parseOptions, validationRules, queryLimitsPlugin).
 */
import { GraphQLError, specifiedRules, validate, type DocumentNode, type GraphQLSchema } from 'graphql';
import type { QueryLimits } from './create-query-limits.ts';
import { parseWithTokenLimit } from './too-many-tokens.ts';

/** A request that passed every limit (its parsed document), or the errors refusing it. */
export type CheckedRequest =
  | { readonly document: DocumentNode; readonly errors?: undefined }
  | { readonly document?: undefined; readonly errors: readonly GraphQLError[] };

/** Parses, validates and prices one request against `limits`. */
export function checkRequest(args: {
  schema: GraphQLSchema;
  limits: QueryLimits;
  source: string;
  operationName?: string | null | undefined;
  variables?: Readonly<Record<string, unknown>> | null | undefined;
}): CheckedRequest {
  const { schema, limits } = args;
  let document: DocumentNode;
  try {
    document = parseWithTokenLimit({ source: args.source, maxTokens: limits.parseOptions.maxTokens });
  } catch (error) {
    return { errors: [error instanceof GraphQLError ? error : new GraphQLError('The document could not be parsed.')] };
  }
  const errors = validate(schema, document, [...specifiedRules, ...limits.rules]);
  if (errors.length > 0) return { errors };
  const refused = limits.checkCost({ schema, document, operationName: args.operationName, variables: args.variables });
  return refused ? { errors: [refused] } : { document };
}
