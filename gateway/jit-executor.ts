/**
 * Executes operations with graphql-jit instead of graphql-js's interpreter, plugged into
 * Apollo Server through its gateway interface (the one hook Apollo offers for a custom
 * executor). graphql-jit compiles each distinct operation once into plain JavaScript;
 * on the portfolio query (~1,000 resolved fields) that removes most of the execution cost
 * (see bench/results). Parsing, validation, error formatting and plugins stay Apollo's.
 */
import type { GatewayExecutor, GatewayInterface } from '@apollo/server-gateway-interface';
import { GraphQLError, printSchema, type GraphQLSchema } from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';

/** Distinct operations kept compiled; the least recently used one is dropped past this. */
const MAX_COMPILED = 1_000;

export function createJitGateway(schema: GraphQLSchema): GatewayInterface {
  const compiled = new Map<string, CompiledQuery>();
  const executor: GatewayExecutor = async (request) => {
    const key = `${request.queryHash}:${request.operationName ?? ''}`;
    let query = compiled.get(key);
    if (query) {
      compiled.delete(key);
    } else {
      const result = compileQuery(schema, request.document, request.operationName ?? undefined);
      // Compilation fails only on operations validation would have refused; report as graphql-js would.
      if (!isCompiledQuery(result)) return result;
      query = result;
      if (compiled.size >= MAX_COMPILED) compiled.delete(compiled.keys().next().value as string);
    }
    compiled.set(key, query);
    const result = await query.query(undefined, request.context, request.request.variables ?? {});
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
  };
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
}
