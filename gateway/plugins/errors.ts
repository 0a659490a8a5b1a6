/**
 * Error masking at the edge (envelop's useMaskedErrors): our AppErrors and GraphQL's own
 * client errors reach clients with a code in `extensions`; anything else is an internal
 * failure, logged with the request id and shown to the client only as INTERNAL_SERVER_ERROR.
 */
import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { AppError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';

/** Codes graphql-js and Apollo raise for bad requests: safe to show as they are. */
const CLIENT_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
]);

/** Finds our own error behind GraphQL's wrapping (resolver errors, coercion of variables and literals). */
function findAppError(error: unknown): AppError | GraphQLError | undefined {
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth++) {
    if (current instanceof AppError) return current;
    if (current instanceof GraphQLError && current !== error && typeof current.extensions?.['code'] === 'string')
      return current;
    current =
      (current as { originalError?: unknown; cause?: unknown }).originalError ?? (current as { cause?: unknown }).cause;
  }
  return undefined;
}

export function createFormatError(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = findAppError(unwrapResolverError(error)) ?? findAppError(error);
    if (original instanceof AppError) {
      return { ...formatted, message: original.message, extensions: { ...original.details, code: original.code } };
    }
    if (original instanceof GraphQLError) {
      return { ...formatted, extensions: { ...formatted.extensions, code: original.extensions?.['code'] } };
    }
    const code = formatted.extensions?.['code'];
    if (typeof code === 'string' && CLIENT_CODES.has(code)) return formatted;
    logger.error('internal error', { error: unwrapResolverError(error), path: formatted.path });
    return {
      message: 'Internal server error',
      path: formatted.path,
      locations: formatted.locations,
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    };
  };
}
