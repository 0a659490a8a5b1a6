/**
 * The token cap is graphql-js's own: `parse(source, { maxTokens })` stops lexing at the limit
 * (work linear in the cap, not the document) and throws a syntax error. These turn that error
 * into our TOO_MANY_TOKENS. (graphql-armor's max-tokens plugin does the same count through a
 * Proxy around graphql-js's lexer, for envelop; Apollo passes `parseOptions` to graphql-js.)
 */
import { parse, type DocumentNode, type ParseOptions, type Source } from 'graphql';
import { QueryLimitError } from './query-limit-error.ts';

// graphql 16 says "more that", later versions "more than".
const TOO_MANY_TOKENS = /Document contains more tha[nt] (\d+) tokens/;

/**
 * Our TOO_MANY_TOKENS error when `error`, or an error it wraps (Apollo wraps parse errors), is
 * graphql-js's token-cap error; undefined otherwise. `measured` is "> N": the parser stops counting.
 */
export function tooManyTokensError(error: unknown): QueryLimitError | undefined {
  let current = error;
  for (let hops = 0; typeof current === 'object' && current !== null && hops < 5; hops++) {
    if (current instanceof QueryLimitError) return current.code === 'TOO_MANY_TOKENS' ? current : undefined;
    const message = (current as { message?: unknown }).message;
    const match = typeof message === 'string' ? TOO_MANY_TOKENS.exec(message) : null;
    if (match) {
      const allowed = Number(match[1]);
      return new QueryLimitError({
        code: 'TOO_MANY_TOKENS',
        measured: `> ${allowed}`,
        allowed,
        message: `The document has more than ${allowed} tokens; the limit is ${allowed}.`,
      });
    }
    const next = current as { originalError?: unknown; cause?: unknown };
    current = next.originalError ?? next.cause;
  }
  return undefined;
}

/** graphql-js's parse with the token cap; throws TOO_MANY_TOKENS past it, or graphql-js's syntax error. */
export function parseWithTokenLimit(args: {
  source: string | Source;
  maxTokens: number;
  parseOptions?: Omit<ParseOptions, 'maxTokens'>;
}): DocumentNode {
  try {
    return parse(args.source, { ...args.parseOptions, maxTokens: args.maxTokens });
  } catch (error) {
    throw tooManyTokensError(error) ?? error;
  }
}
