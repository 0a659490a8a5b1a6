/**
 * The one request pipeline, shared by HTTP (before Apollo, and before the response cache) and
 * WebSocket (graphql-ws's onSubscribe): every rule applies to both transports alike.
 *
 *   persisted query -> parse (token cap) -> validate (specified rules, query limits, NUL, no
 *   introspection where off; memoized by text) -> the operation exists -> cost with the
 *   request's variables -> authorization of every root field -> [cache] -> execute
 *
 * A refused request gets coded errors and the HTTP status its kind deserves (400 for a bad
 * document, 401/403 for authorization); nothing is executed, nothing is written. Each check
 * costs time linear in the size of the request.
 */
import {
  getOperationAST,
  GraphQLError,
  type DocumentNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { AppError } from '../../lib/errors.ts';
import type { Viewer } from '../../lib/viewer.ts';
import { authorizeOperation } from '../authorization/authorize.ts';
import type { QueryLimits } from '../limits/index.ts';
import { createDocumentCache } from './documents.ts';
import type { PersistedQueries } from './persisted.ts';
import type { GraphQLRequest } from './request.ts';

export type { GraphQLRequest };

/** A request that passed every check: ready for the cache and the executor. */
export interface PreparedRequest {
  readonly query: string;
  readonly document: DocumentNode;
  /** The query text's hash: the compiled-code cache key. */
  readonly documentKey: string;
  readonly operation: OperationDefinitionNode;
  readonly operationName: string | undefined;
  readonly variables: Readonly<Record<string, unknown>>;
}

/** A refused request: its errors and the HTTP status that says why. */
export interface Refusal {
  readonly status: number;
  readonly errors: readonly GraphQLError[];
}

/** Longest operation name accepted (an operation name is an identifier, not a payload). */
const MAX_OPERATION_NAME = 256;

/**
 * Requests whose cost passed, remembered by document, operation and variables: the cost walk
 * is the largest part of a cached hit's work (the same portfolio query with the same variables,
 * over and over), and its answer never changes for the same inputs. Bounded in entries and
 * in key length (large variables are simply priced again).
 */
const MAX_PRICED = 2_000;
const MAX_PRICED_KEY = 2_048;

/** The HTTP status of a refusal, from its first error's code. */
function statusOf(errors: readonly GraphQLError[]): number {
  const code = errors[0]?.extensions['code'] ?? (errors[0]?.originalError as AppError | undefined)?.code;
  if (code === 'UNAUTHENTICATED') return 401;
  if (code === 'FORBIDDEN' || code === 'PERSISTED_QUERY_NOT_ALLOWED') return 403;
  if (code === 'PERSISTED_QUERY_NOT_FOUND') return 200; // the APQ protocol: the client sends the text next
  return 400;
}

function refuse(errors: readonly GraphQLError[]): Refusal {
  return { status: statusOf(errors), errors };
}

function asGraphQLError(error: AppError): GraphQLError {
  return new GraphQLError(error.message, { originalError: error, extensions: { ...error.details, code: error.code } });
}

/** Creates the pipeline over one schema. */
export function createPipeline(options: {
  schema: GraphQLSchema;
  limits: QueryLimits;
  introspection: boolean;
  persisted: PersistedQueries;
}) {
  const { schema, limits } = options;
  const documents = createDocumentCache({ schema, limits, introspection: options.introspection });
  const priced = new Set<string>();

  return {
    /** Runs every check of a request; a PreparedRequest, or a Refusal. */
    async prepare(request: GraphQLRequest, viewer: Viewer): Promise<PreparedRequest | Refusal> {
      const operationName = request.operationName ?? undefined;
      if (
        operationName !== undefined &&
        (typeof operationName !== 'string' || operationName.length > MAX_OPERATION_NAME)
      ) {
        return refuse([
          new GraphQLError(`operationName must be a name of at most ${MAX_OPERATION_NAME} characters`, {
            extensions: { code: 'BAD_REQUEST', field: 'operationName' },
          }),
        ]);
      }
      let query: string;
      try {
        query = await options.persisted.resolve(request);
      } catch (error) {
        if (error instanceof AppError) return refuse([asGraphQLError(error)]);
        throw error;
      }
      const prepared = documents.get(query);
      if (prepared.errors) return refuse(prepared.errors);
      const { document } = prepared;
      const operation = getOperationAST(document, operationName);
      if (!operation) {
        return refuse([
          new GraphQLError(
            operationName === undefined
              ? 'The document has several operations: name the one to run (operationName)'
              : `The document has no operation named ${JSON.stringify(operationName)}`,
            { extensions: { code: 'OPERATION_RESOLUTION_FAILURE', field: 'operationName' } },
          ),
        ]);
      }
      const variables = request.variables ?? {};
      const pricedKey = `${prepared.key}\u0000${operationName ?? ''}\u0000${JSON.stringify(variables)}`;
      if (!priced.has(pricedKey)) {
        const tooCostly = limits.checkCost({ schema, document, operationName, variables });
        if (tooCostly) return refuse([tooCostly]);
        if (pricedKey.length <= MAX_PRICED_KEY) {
          priced.add(pricedKey);
          if (priced.size > MAX_PRICED) priced.delete(priced.values().next().value as string);
        }
      }
      try {
        authorizeOperation({ document, operation, variables, viewer });
      } catch (error) {
        if (error instanceof AppError) return refuse([asGraphQLError(error)]);
        throw error;
      }
      return { query, document, documentKey: prepared.key, operation, operationName, variables };
    },
  };
}

/** The pipeline's interface. */
export type Pipeline = ReturnType<typeof createPipeline>;

/** Whether `prepare` refused the request. */
export function isRefusal(result: PreparedRequest | Refusal): result is Refusal {
  return 'errors' in result;
}
