/**
 * Parsed and validated documents, memoized by their text: a client sends the same operations
 * over and over, and parsing and validating the portfolio query on every request costs more
 * than serving a cached answer. Validation runs graphql-js's specified rules plus ours: the
 * query limits (linear in the document), NUL characters, and no introspection where it is
 * switched off. Only documents that passed are memoized: a refused one keeps its whole
 * validation alive (errors hold AST nodes and stack traces; 70 to 270 KB for a hostile document
 * of 100 bytes to 2 KB), so an attacker varying the text of refused documents would make the
 * memo hold hundreds of megabytes; refusing again costs what the limits allow, a few ms at most.
 */
import { createHash } from 'node:crypto';
import {
  GraphQLError,
  NoSchemaIntrospectionCustomRule,
  specifiedRules,
  validate,
  type DocumentNode,
  type GraphQLSchema,
  type ValidationRule,
} from 'graphql';
import { parseWithTokenLimit, type QueryLimits } from '../limits/index.ts';
import { NoNulCharactersRule } from './nul-rule.ts';

/** A document ready to run, or why it is not. */
export type PreparedDocument =
  | { readonly document: DocumentNode; readonly key: string; readonly errors?: undefined }
  | { readonly document?: undefined; readonly key: string; readonly errors: readonly GraphQLError[] };

/** Documents memoized; the least recently used is dropped past this. */
const MAX_DOCUMENTS = 1_000;
/** Texts longer than this are prepared but not memoized (one would evict many ordinary ones). */
const MAX_MEMOIZED_CHARS = 64 * 1024;

/** The rules every document is validated with, beside graphql-js's specified ones. */
export function validationRules(options: { limits: QueryLimits; introspection: boolean }): ValidationRule[] {
  return [
    ...options.limits.rules,
    NoNulCharactersRule,
    ...(options.introspection ? [] : [NoSchemaIntrospectionCustomRule]),
  ];
}

/** Creates the memo over one schema and rule set. */
export function createDocumentCache(options: { schema: GraphQLSchema; limits: QueryLimits; introspection: boolean }) {
  const rules = [...specifiedRules, ...validationRules(options)];
  const memo = new Map<string, PreparedDocument>();

  function prepareText(text: string): PreparedDocument {
    const key = createHash('sha256').update(text).digest('base64url');
    let document: DocumentNode;
    try {
      document = parseWithTokenLimit({ source: text, maxTokens: options.limits.parseOptions.maxTokens });
    } catch (error) {
      const parseError =
        error instanceof GraphQLError
          ? error.extensions['code']
            ? error
            : new GraphQLError(error.message, {
                nodes: error.nodes,
                source: error.source,
                positions: error.positions,
                extensions: { code: 'GRAPHQL_PARSE_FAILED' },
              })
          : new GraphQLError('Syntax error', { extensions: { code: 'GRAPHQL_PARSE_FAILED' } });
      return { key, errors: [parseError] };
    }
    const errors = validate(options.schema, document, rules, { maxErrors: 20 });
    // As they are: the formatter finds a coded cause (a scalar's INVALID_DECIMAL) behind a
    // validation error, and gives the others GRAPHQL_VALIDATION_FAILED.
    if (errors.length > 0) return { key, errors };
    return { key, document };
  }

  return {
    /** The prepared document of `text` (memoized when it passed). */
    get(text: string): PreparedDocument {
      const found = memo.get(text);
      if (found) {
        memo.delete(text);
        memo.set(text, found);
        return found;
      }
      const prepared = prepareText(text);
      if (!prepared.errors && text.length <= MAX_MEMOIZED_CHARS) {
        memo.set(text, prepared);
        if (memo.size > MAX_DOCUMENTS) memo.delete(memo.keys().next().value as string);
      }
      return prepared;
    },
  };
}
