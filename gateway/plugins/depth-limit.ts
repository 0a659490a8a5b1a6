/**
 * A validation rule refusing selections nested deeper than `maxDepth` (e.g. similar { asset {
 * similar ... } }). Introspection has a limit of its own: GraphiQL's schema query is 15 levels deep.
 */
import {
  GraphQLError,
  Kind,
  type ASTVisitor,
  type FragmentDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
} from 'graphql';

/** GraphiQL's introspection query nests 15 levels; a little room, and no more. */
const INTROSPECTION_MAX_DEPTH = 20;

export function depthLimitRule(maxDepth: number) {
  return (context: ValidationContext): ASTVisitor => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const def of context.getDocument().definitions)
      if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
    let introspectionDepth = 0;
    const depthOf = (set: SelectionSetNode | undefined, seen: Set<string>): number => {
      if (!set) return 0;
      let max = 0;
      for (const sel of set.selections) {
        if (sel.kind === Kind.FIELD) {
          // Introspection (`__schema`, `__type`) nests `ofType` deeply by design and reads no
          // data: it has its own, larger limit.
          if (sel.name.value.startsWith('__')) {
            if (sel.selectionSet)
              introspectionDepth = Math.max(introspectionDepth, 1 + depthOf(sel.selectionSet, seen));
            continue;
          }
          max = Math.max(max, sel.selectionSet ? 1 + depthOf(sel.selectionSet, seen) : 1);
        } else if (sel.kind === Kind.INLINE_FRAGMENT) max = Math.max(max, depthOf(sel.selectionSet, seen));
        else if (!seen.has(sel.name.value)) {
          const fragment = fragments.get(sel.name.value);
          max = Math.max(max, depthOf(fragment?.selectionSet, new Set([...seen, sel.name.value])));
        }
      }
      return max;
    };
    return {
      OperationDefinition(node) {
        const depth = depthOf(node.selectionSet, new Set());
        if (introspectionDepth > INTROSPECTION_MAX_DEPTH) {
          context.reportError(
            new GraphQLError(
              `Introspection is nested ${introspectionDepth} levels deep; the limit is ${INTROSPECTION_MAX_DEPTH}`,
              { nodes: [node], extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } },
            ),
          );
        }
        if (depth > maxDepth) {
          context.reportError(
            new GraphQLError(`Query is nested ${depth} levels deep; the limit is ${maxDepth}`, {
              nodes: [node],
              extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
            }),
          );
        }
      },
    };
  };
}
