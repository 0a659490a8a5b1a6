/**
 * Cache policy from the schema: `@cacheControl(maxAge, scope, inheritMaxAge)` hints on types
 * and fields in the SDL, read the way Apollo Server reads them, so the hints mean what
 * GraphQL developers expect:
 * - a field's max-age is its own hint, else (for an object) its type's hint, else it inherits
 *   its parent's when it returns a leaf or says `inheritMaxAge`, else it is 0;
 * - root fields without a hint are 0 (not cacheable);
 * - the response's max-age is the smallest of every field it selects, and it is PRIVATE when
 *   any selected field or type is.
 * Computed from the operation alone (no execution), so the cache can be consulted before
 * anything runs. The schema has no interfaces or unions, so the static answer is exact.
 */
import {
  getNamedType,
  isCompositeType,
  isObjectType,
  Kind,
  parse,
  type ConstDirectiveNode,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';

/** Whether an answer may be shared between viewers. */
export type CacheScope = 'PUBLIC' | 'PRIVATE';

/** How long an answer may be cached, and for whom. */
export interface CachePolicy {
  /** 0: not cacheable. */
  readonly maxAgeMs: number;
  readonly scope: CacheScope;
}

interface Hint {
  readonly maxAge?: number;
  readonly scope?: CacheScope;
  readonly inheritMaxAge?: boolean;
}

function readHint(directives: ReadonlyArray<ConstDirectiveNode> | undefined): Hint | undefined {
  const directive = directives?.find((d) => d.name.value === 'cacheControl');
  if (!directive) return undefined;
  const hint: { maxAge?: number; scope?: CacheScope; inheritMaxAge?: boolean } = {};
  for (const arg of directive.arguments ?? []) {
    const v = arg.value;
    if (arg.name.value === 'maxAge' && v.kind === Kind.INT) hint.maxAge = Number(v.value);
    else if (arg.name.value === 'scope' && v.kind === Kind.ENUM) hint.scope = v.value as CacheScope;
    else if (arg.name.value === 'inheritMaxAge' && v.kind === Kind.BOOLEAN) hint.inheritMaxAge = v.value;
  }
  return hint;
}

/** Hints of one schema, read once. */
function schemaHints(schema: GraphQLSchema) {
  const types = new Map<string, Hint | undefined>();
  const fields = new Map<string, Hint | undefined>();
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type)) continue;
    const nodes = [type.astNode, ...type.extensionASTNodes];
    types.set(
      type.name,
      nodes.map((n) => readHint(n?.directives)).find((h) => h !== undefined),
    );
    for (const field of Object.values(type.getFields()))
      fields.set(`${type.name}.${field.name}`, readHint(field.astNode?.directives));
  }
  return {
    type: (t: GraphQLNamedType) => types.get(t.name),
    field: (t: GraphQLObjectType, name: string) => fields.get(`${t.name}.${name}`),
  };
}

/**
 * Computes policies for one schema; `policyOf` answers `undefined` for anything but a valid
 * query (mutations, subscriptions, unknown fields, parse errors): those are never cached.
 */
export function createPolicyReader(schema: GraphQLSchema) {
  const hints = schemaHints(schema);
  const queryType = schema.getQueryType();

  function policyOf(document: DocumentNode, operationName: string | null | undefined): CachePolicy | undefined {
    const operations = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
    const operation = operationName
      ? operations.find((o) => o.name?.value === operationName)
      : operations.length === 1
        ? operations[0]
        : undefined;
    if (!operation || operation.operation !== 'query' || !queryType) return undefined;
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);

    let maxAge = Infinity;
    let scope: CacheScope = 'PUBLIC';
    const visiting = new Set<string>();

    /** `inherited`: the max-age a leaf or `inheritMaxAge` field below this parent takes. Returns false when invalid. */
    const walk = (
      set: SelectionSetNode,
      parent: GraphQLObjectType,
      inherited: number | undefined,
      root: boolean,
    ): boolean => {
      for (const selection of set.selections) {
        if (selection.kind === Kind.FIELD) {
          const name = selection.name.value;
          if (name === '__typename') continue;
          // Introspection is not cached (GraphiQL asks it once per page load).
          if (name.startsWith('__')) {
            maxAge = 0;
            continue;
          }
          const field = parent.getFields()[name];
          if (!field) return false;
          const named = getNamedType(field.type);
          const fieldHint = hints.field(parent, name);
          const typeHint = isCompositeType(named) ? hints.type(named) : undefined;
          let age = fieldHint?.maxAge ?? typeHint?.maxAge;
          if (age === undefined)
            age =
              fieldHint?.inheritMaxAge || typeHint?.inheritMaxAge || (!isCompositeType(named) && !root) ? inherited : 0;
          if (age !== undefined) maxAge = Math.min(maxAge, age);
          if (fieldHint?.scope === 'PRIVATE' || typeHint?.scope === 'PRIVATE') scope = 'PRIVATE';
          if (selection.selectionSet) {
            if (!isObjectType(named)) return false;
            if (!walk(selection.selectionSet, named, age ?? inherited, false)) return false;
          }
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          const type = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parent;
          if (!type || !isObjectType(type) || !walk(selection.selectionSet, type, inherited, root)) return false;
        } else {
          const fragment = fragments.get(selection.name.value);
          if (!fragment || visiting.has(fragment.name.value)) return false;
          const type = schema.getType(fragment.typeCondition.name.value);
          visiting.add(fragment.name.value);
          const ok = !!type && isObjectType(type) && walk(fragment.selectionSet, type, inherited, root);
          visiting.delete(fragment.name.value);
          if (!ok) return false;
        }
      }
      return true;
    };
    if (!walk(operation.selectionSet, queryType, undefined, true)) return undefined;
    return { maxAgeMs: maxAge === Infinity ? 0 : maxAge * 1000, scope };
  }

  /**
   * Policies by operation, computed once; the least recently used is dropped past `max`. A
   * request the pipeline prepared names its parsed document and the document's hash, which
   * then key the memo (a short key, no second parse); otherwise the text does.
   */
  const memo = new Map<string, CachePolicy | null>();
  const MAX = 1_000;
  return {
    policyOf,
    forQuery(
      query: string,
      operationName: string | null | undefined,
      prepared?: { readonly key: string; readonly document: DocumentNode },
    ): CachePolicy | undefined {
      const key = `${operationName ?? ''}\u0000${prepared ? `#${prepared.key}` : query}`;
      let policy = memo.get(key);
      if (policy === undefined) {
        try {
          policy = policyOf(prepared?.document ?? parse(query, { noLocation: true }), operationName) ?? null;
        } catch {
          policy = null;
        }
        if (memo.size >= MAX) memo.delete(memo.keys().next().value as string);
      } else {
        memo.delete(key);
      }
      memo.set(key, policy);
      return policy ?? undefined;
    },
  };
}

/** The policy reader's interface. */
export type PolicyReader = ReturnType<typeof createPolicyReader>;
