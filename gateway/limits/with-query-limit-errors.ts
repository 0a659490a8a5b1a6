/**
 * Apollo Server's `formatError` sees graphql-js's token-cap error as a plain parse error
 * (GRAPHQL_PARSE_FAILED): this wrapper gives it our code, and keeps every other limit error's
 * `{ code, measured, allowed }` whatever the wrapped formatter does with codes it does not
 * know. The wrapped formatter still runs first, so what it adds (a request id) stays.
 */
import type { GraphQLFormattedError } from 'graphql';
import { QueryLimitError } from './query-limit-error.ts';
import { tooManyTokensError } from './too-many-tokens.ts';

/** Apollo's formatError signature. */
export type FormatError = (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;

/** Wraps `formatError` so query limit errors reach clients with their code, measure and limit. */
export function withQueryLimitErrors(formatError: FormatError): FormatError {
  return (formatted, error) => {
    const limit = tooManyTokensError(error) ?? findLimitError(error);
    const out = formatError(formatted, error);
    if (!limit) return out;
    return {
      ...out,
      message: limit.message,
      extensions: { ...out.extensions, code: limit.code, measured: limit.measured, allowed: limit.allowed },
    };
  };
}

/** Our error behind Apollo's wrapping (ValidationError and plugin errors keep it as originalError). */
function findLimitError(error: unknown): QueryLimitError | undefined {
  let current = error;
  for (let hops = 0; typeof current === 'object' && current !== null && hops < 5; hops++) {
    if (current instanceof QueryLimitError) return current;
    current = (current as { originalError?: unknown }).originalError;
  }
  return undefined;
}
