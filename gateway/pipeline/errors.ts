/**
 * Error formatting at the edge (envelop's useMaskedErrors), for HTTP and WebSocket alike: our
 * AppErrors and GraphQL's own client errors reach clients with a code in `extensions`;
 * anything else is an internal failure, logged (with the request id, from the request scope)
 * and shown to the client only as INTERNAL_SERVER_ERROR. Every error carries the request id,
 * so a client's report can be matched to the log, and no message is longer than
 * MAX_MESSAGE_CHARS: an error about a 1 MB argument must not send the megabyte back.
 */
import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { AppError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import { currentScope } from '../../lib/request-scope.ts';

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

/** Longest message sent to a client; longer ones are cut (with an ellipsis). */
export const MAX_MESSAGE_CHARS = 500;

/** A message cut to MAX_MESSAGE_CHARS. */
export function cut(message: string): string {
  return message.length <= MAX_MESSAGE_CHARS ? message : `${message.slice(0, MAX_MESSAGE_CHARS - 1)}…`;
}

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

/** Creates the formatter (Apollo's `formatError` signature; graphql-ws uses it too). */
export function createFormatError(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const requestId = currentScope()?.requestId;
    const withId = (extensions: Record<string, unknown>) => (requestId ? { ...extensions, requestId } : extensions);
    const original = findAppError(unwrapResolverError(error)) ?? findAppError(error);
    if (original instanceof AppError) {
      return {
        ...formatted,
        message: cut(original.message),
        extensions: withId({ ...original.details, code: original.code }),
      };
    }
    if (original instanceof GraphQLError) {
      return {
        ...formatted,
        message: cut(formatted.message),
        extensions: withId({ ...formatted.extensions, code: original.extensions?.['code'] }),
      };
    }
    const code = formatted.extensions?.['code'];
    if (typeof code === 'string' && CLIENT_CODES.has(code)) {
      return { ...formatted, message: cut(formatted.message), extensions: withId({ ...formatted.extensions }) };
    }
    // Raised by GraphQL itself or by our validation rules (not thrown from a resolver): about
    // the request, so shown, with its code (validation errors of graphql-js carry none).
    const unwrapped = unwrapResolverError(error);
    if (unwrapped instanceof GraphQLError && unwrapped.originalError === undefined) {
      return {
        ...formatted,
        message: cut(formatted.message),
        extensions: withId({
          ...formatted.extensions,
          code: typeof code === 'string' ? code : 'GRAPHQL_VALIDATION_FAILED',
        }),
      };
    }
    logger.error('internal error', { error: unwrapResolverError(error), path: formatted.path });
    return {
      message: 'Internal server error',
      path: formatted.path,
      locations: formatted.locations,
      extensions: withId({ code: 'INTERNAL_SERVER_ERROR' }),
    };
  };
}
