/**
 * Executes prepared operations, for HTTP (inside Apollo, through its gateway interface: the
 * one hook Apollo offers for a custom executor) and WebSocket (graphql-ws's `execute`) alike.
 * graphql-jit compiles each distinct operation once into plain JavaScript; on the portfolio
 * query (~1,000 resolved fields) that removes most of the execution cost (see bench/results).
 *
 * Variables are coerced by graphql-js's own `getVariableValues` first: graphql-jit reports a
 * bad variable (an Int given "NaN") without a code, which the error formatter then had to mask
 * as an internal error; coerced here it is BAD_USER_INPUT naming the variable.
 */
import type { GatewayExecutor, GatewayInterface } from '@apollo/server-gateway-interface';
import {
  execute as executeInterpreted,
  getOperationAST,
  getVariableValues,
  GraphQLError,
  printSchema,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLSchema,
} from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import { checkVariables } from './variables.ts';

/** Distinct operations kept compiled; the least recently used one is dropped past this. */
const MAX_COMPILED = 1_000;

/** One operation to run. */
export interface ExecuteArgs {
  readonly document: DocumentNode;
  readonly operationName: string | null | undefined;
  readonly variables: Readonly<Record<string, unknown>> | null | undefined;
  readonly context: unknown;
  /** Identifies the document across requests (the query text's hash): the compiled-code cache key. */
  readonly documentKey: string;
}

/** The executor of one schema. */
export interface Executor {
  execute(args: ExecuteArgs): Promise<ExecutionResult>;
  /** The executor as an Apollo "gateway" (Apollo's hook for a custom executor). */
  apolloGateway(): GatewayInterface;
}

/** Creates the executor: graphql-jit, or graphql-js's interpreter (same answers; for comparison). */
export function createExecutor(options: { schema: GraphQLSchema; mode: 'jit' | 'graphql-js' }): Executor {
  const { schema } = options;
  const compiled = new Map<string, CompiledQuery>();

  function compiledFor(key: string, document: DocumentNode, operationName: string | undefined) {
    let query = compiled.get(key);
    if (query) {
      compiled.delete(key);
      compiled.set(key, query);
      return query;
    }
    const result = compileQuery(schema, document, operationName);
    // Compilation fails only on operations validation would have refused; report as graphql-js would.
    if (!isCompiledQuery(result)) return result;
    query = result;
    if (compiled.size >= MAX_COMPILED) compiled.delete(compiled.keys().next().value as string);
    compiled.set(key, query);
    return query;
  }

  async function execute(args: ExecuteArgs): Promise<ExecutionResult> {
    const operationName = args.operationName ?? undefined;
    const operation = getOperationAST(args.document, operationName);
    if (!operation) {
      return {
        errors: [new GraphQLError('Unknown operation', { extensions: { code: 'OPERATION_RESOLUTION_FAILURE' } })],
      };
    }
    const raw = args.variables ?? {};
    const invalid = checkVariables(raw);
    if (invalid) return { errors: [invalid] };
    const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], raw, { maxErrors: 5 });
    if (coerced.errors) {
      return {
        errors: coerced.errors.map(
          (e) =>
            new GraphQLError(e.message, { nodes: e.nodes, originalError: e, extensions: { code: 'BAD_USER_INPUT' } }),
        ),
      };
    }
    if (options.mode === 'graphql-js') {
      return executeInterpreted({
        schema,
        document: args.document,
        operationName,
        variableValues: coerced.coerced,
        contextValue: args.context,
      });
    }
    const query = compiledFor(`${args.documentKey}:${operationName ?? ''}`, args.document, operationName);
    if (!isCompiledQuery(query)) return query;
    const result = await query.query(undefined, args.context, raw);
    if (!result.errors) return result;
    // graphql-jit's errors may lack `extensions`, which Apollo's error normalization reads:
    // rebuild them as graphql-js errors, keeping the original error for masking.
    return {
      ...result,
      errors: result.errors.map(
        (e) =>
          new GraphQLError(e.message, {
            path: e.path,
            originalError: e.originalError ?? e,
            extensions: e.extensions ?? {},
          }),
      ),
    };
  }

  return {
    execute,
    apolloGateway() {
      const executor: GatewayExecutor = (request) =>
        execute({
          document: request.document,
          operationName: request.operationName,
          variables: request.request.variables,
          context: request.context,
          documentKey: request.queryHash,
        });
      return {
        async load() {
          return { executor };
        },
        onSchemaLoadOrUpdate(callback) {
          callback({ apiSchema: schema, coreSupergraphSdl: printSchema(schema) });
          return () => {};
        },
        async stop() {},
      };
    },
  };
}
