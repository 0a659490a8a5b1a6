/**
 * Query limits for both edges: Apollo Server over HTTP (`parseOptions`, `validationRules`, and
 * queryLimitsPlugin for the cost with variables) and graphql-ws (createLimitedSubscribe). Every
 * check costs time linear in the document: tokens are capped by graphql-js's parser, and every
 * other limit reads one memoized, iterative walk (measureOperations).
 *
 * What we use and why (bench/limits.ts runs each on the hostile documents of hostile.ts):
 * - tokens: graphql-js's own `parse(source, { maxTokens })`, the mechanism graphql-armor's
 *   max-tokens plugin wraps for envelop (Apollo Server passes `parseOptions` to graphql-js).
 * - aliases: ours. graphql-armor's max-aliases counts right and memoizes fragments, but
 *   recursively: on the 2,000-fragment chain it throws RangeError (stack overflow) out of
 *   validate(), an internal error instead of a refusal; our walk counts aliases in the same pass.
 * - depth: ours. graphql-armor's max-depth ignores `__schema` altogether (a 100-level `ofType`
 *   chain passes it), counts `__type` against the data limit (`{ __type { fields { type {
 *   ...TypeRef } } } }` measures 13 against 12: refused), and overflows the stack on the chain.
 *   The old rule (gateway/plugins/depth-limit.ts) walked every path: 0.3 to 0.5 s at 18 fragment
 *   levels, growing about 2.5 times per level (90 to 130 s at 24; the incident saw over 120 s).
 * - directives: ours. graphql-armor's max-directives drops the directives of every spread of a
 *   fragment after the first: 1,000 `...P @include(if: true)` count as 1.
 * - cost: ours. graphql-query-complexity 2.0 walks a fragment again at each spread: 0.4 to 0.7 s
 *   at 18 levels, 4 times more per 2 levels, unless its 10,000-node cap stops it, by throwing rather
 *   than reporting; it overflows the stack on the chain; and its rule needs the variables when
 *   built, while Apollo validates a document once and caches it.
 * - root fields: no library has this limit.
 * graphql-js's specifiedRules stay in front (MaxIntrospectionDepthRule among them).
 */
import {
  getOperationAST,
  type DocumentNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';
import { measureOperations, type DocumentMeasures } from './measure-operations.ts';
import { amount, createMeasureRule, operationLabel } from './measure-rule.ts';
import { QueryLimitError } from './query-limit-error.ts';
import {
  resolveQueryLimitOptions,
  type QueryLimitOptions,
  type ResolvedQueryLimitOptions,
} from './query-limit-options.ts';

/** One request, as the cost check needs it. */
export interface CostRequest {
  readonly schema: GraphQLSchema;
  readonly document: DocumentNode;
  /** The operation to run; may be omitted when the document has one. */
  readonly operationName?: string | null | undefined;
  readonly variables?: Readonly<Record<string, unknown>> | null | undefined;
}

/** The limits, ready to plug into a parser, a validator and a request pipeline. */
export interface QueryLimits {
  readonly options: ResolvedQueryLimitOptions;
  /** For Apollo's `parseOptions` and graphql-js's `parse`: the parser refuses longer documents. */
  readonly parseOptions: { readonly maxTokens: number };
  /**
   * Variable-independent rules, for Apollo's `validationRules` and graphql-js's `validate`
   * (beside specifiedRules): depth, introspection depth, cost (variables at their SDL
   * defaults), aliases, root fields, directives.
   */
  readonly rules: ValidationRule[];
  /** The cost of the request's operation with its variables; undefined when the document has no such operation. */
  costOf(request: CostRequest): number | undefined;
  /** QUERY_TOO_COSTLY when the request's operation, with its variables, costs more than maxCost. */
  checkCost(request: CostRequest): QueryLimitError | undefined;
}

/** Builds the query limits; options not given take DEFAULT_QUERY_LIMITS. Throws CONFIG_INVALID on a bad option. */
export function createQueryLimits(options: QueryLimitOptions = {}): QueryLimits {
  const resolved = resolveQueryLimitOptions(options);
  // One walk per (document, schema), shared by every rule of one validate() call and by later
  // validations of the same document object.
  const cache = new WeakMap<DocumentNode, WeakMap<GraphQLSchema, DocumentMeasures>>();
  const measuresOf = (context: ValidationContext): DocumentMeasures => {
    const document = context.getDocument();
    const schema = context.getSchema();
    let bySchema = cache.get(document);
    if (!bySchema) cache.set(document, (bySchema = new WeakMap()));
    let measures = bySchema.get(schema);
    if (!measures) bySchema.set(schema, (measures = measureOperations({ schema, document, limits: resolved })));
    return measures;
  };

  const rules: ValidationRule[] = [
    createMeasureRule({
      code: 'QUERY_TOO_DEEP',
      allowed: resolved.maxDepth,
      measure: 'depth',
      measuresOf,
      describe: (n) => `is nested ${n} levels deep`,
    }),
    createMeasureRule({
      code: 'QUERY_TOO_DEEP',
      allowed: resolved.maxIntrospectionDepth,
      measure: 'introspectionDepth',
      measuresOf,
      describe: (n) => `nests introspection ${n} levels deep`,
    }),
    createMeasureRule({
      code: 'QUERY_TOO_COSTLY',
      allowed: resolved.maxCost,
      measure: 'cost',
      measuresOf,
      describe: (n) => `costs ${n}`,
    }),
    createMeasureRule({
      code: 'TOO_MANY_ALIASES',
      allowed: resolved.maxAliases,
      measure: 'aliases',
      measuresOf,
      describe: (n) => `uses ${n} aliases`,
    }),
    createMeasureRule({
      code: 'TOO_MANY_ROOT_FIELDS',
      allowed: resolved.maxRootFields,
      measure: 'rootFields',
      measuresOf,
      describe: (n) => `selects ${n} root fields`,
    }),
    createMeasureRule({
      code: 'TOO_MANY_DIRECTIVES',
      allowed: resolved.maxDirectives,
      measure: 'directives',
      measuresOf,
      describe: (n) => `uses ${n} directives`,
    }),
  ];

  const costOfOperation = (request: CostRequest, operation: OperationDefinitionNode): number =>
    measureOperations({
      schema: request.schema,
      document: request.document,
      limits: resolved,
      request: { operation, variables: request.variables ?? {} },
    }).operations.get(operation)?.cost ?? 0;

  return {
    options: resolved,
    parseOptions: { maxTokens: resolved.maxTokens },
    rules,
    costOf(request) {
      const operation = getOperationAST(request.document, request.operationName);
      return operation ? costOfOperation(request, operation) : undefined;
    },
    checkCost(request) {
      const operation = getOperationAST(request.document, request.operationName);
      const cost = operation ? costOfOperation(request, operation) : 0;
      if (!operation || cost <= resolved.maxCost) return undefined;
      return new QueryLimitError({
        code: 'QUERY_TOO_COSTLY',
        measured: cost,
        allowed: resolved.maxCost,
        message: `${operationLabel(operation)} costs ${amount(cost)} with its variables; the limit is ${resolved.maxCost}.`,
        nodes: operation,
      });
    },
  };
}
