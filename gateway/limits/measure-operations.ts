/**
 * One walk of a document measuring each operation as executed: its depth (data and
 * introspection apart), cost, aliases, directive uses and root fields, every fragment counted
 * as many times as it is spread.
 *
 * Linear in the document: a fragment is walked once, the first time it is spread, and its
 * summary memoized; every later spread adds the summary, with saturating arithmetic, so 24
 * fragments each spread twice cost 25 walks, not 2^24. Iterative: an explicit stack instead of
 * recursion, so a 2,000-fragment chain nesting 4,000 levels cannot overflow the call stack (the
 * recursive walks of graphql-armor and graphql-query-complexity do, on that very document). A
 * fragment spread inside its own walk (a cycle) counts as empty: NoFragmentCyclesRule reports
 * the cycle in the same validation pass.
 */
import {
  Kind,
  getNamedType,
  getNullableType,
  isInterfaceType,
  isListType,
  isObjectType,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionNode,
  type ValueNode,
} from 'graphql';
import type { ResolvedQueryLimitOptions } from './query-limit-options.ts';
import { saturatingAdd, saturatingMul } from './saturating.ts';

/** What one operation measures, as executed. */
export interface OperationMeasures {
  /** Deepest data field (a leaf at the root is 1); introspection is not counted here. */
  readonly depth: number;
  /** Deepest field under `__schema` or `__type`, the introspection field itself being 1. */
  readonly introspectionDepth: number;
  /** Each field's cost plus its selection's cost times its multiplier (see FieldCost). */
  readonly cost: number;
  /** Aliased fields. */
  readonly aliases: number;
  /** Directive uses: on the operation, its variables, fields, fragments and spreads. */
  readonly directives: number;
  /** Fields selected at the root, through fragments. */
  readonly rootFields: number;
}

/** The measures of a document's operations, and the work it took. */
export interface DocumentMeasures {
  readonly operations: ReadonlyMap<OperationDefinitionNode, OperationMeasures>;
  /** Selection nodes visited: never more than the document holds (the linearity tests read it). */
  readonly work: number;
}

/** A selection set's measures, before its owner (field, fragment, operation) adds its own. */
interface Summary {
  depth: number;
  introspectionDepth: number;
  cost: number;
  aliases: number;
  directives: number;
  /** Fields at this level, through inline fragments and spreads (root fields, at the root). */
  fields: number;
}

/** How a finished selection set is added to the one containing it. */
type Owner =
  | { readonly kind: 'operation'; readonly node: OperationDefinitionNode }
  | FieldOwner
  | { readonly kind: 'inline'; readonly directives: number }
  | { readonly kind: 'fragment'; readonly name: string; readonly spreadDirectives: number };

/** A field: how it adds its selection set's summary to its parent's. */
interface FieldOwner {
  readonly kind: 'field';
  readonly aliased: boolean;
  readonly directives: number;
  readonly cost: number;
  readonly multiplier: number;
  /** `__schema` or `__type`: measured apart, at one unit per field. */
  readonly introspection: boolean;
  /** The named type of its selection set, when the schema knows the field. */
  readonly childType: GraphQLNamedType | undefined;
}

interface Frame extends Summary {
  readonly selections: readonly SelectionNode[];
  index: number;
  readonly type: GraphQLNamedType | undefined;
  readonly owner: Owner;
}

const EMPTY: Readonly<Summary> = { depth: 0, introspectionDepth: 0, cost: 0, aliases: 0, directives: 0, fields: 0 };

/**
 * Measures every operation of `document` (validation: an argument given by a variable counts
 * at its SDL default), or, with `request`, only that operation with its variables (the
 * operation's own variable defaults filling the gaps).
 */
export function measureOperations(args: {
  schema: GraphQLSchema;
  document: DocumentNode;
  limits: Pick<ResolvedQueryLimitOptions, 'fieldCosts' | 'defaultListMultiplier'>;
  request?: { operation: OperationDefinitionNode; variables: Readonly<Record<string, unknown>> };
}): DocumentMeasures {
  const { schema, limits } = args;
  const fragments = new Map<string, FragmentDefinitionNode>();
  const operations: OperationDefinitionNode[] = [];
  for (const definition of args.document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
    else if (definition.kind === Kind.OPERATION_DEFINITION) operations.push(definition);
  }
  const variables = args.request && variablesOf(args.request.operation, args.request.variables);
  const summaries = new Map<string, Summary>();
  const walking = new Set<string>();
  const results = new Map<OperationDefinitionNode, OperationMeasures>();
  let work = 0;

  const fieldOwner = (type: GraphQLNamedType | undefined, node: FieldNode): FieldOwner => {
    const name = node.name.value;
    const aliased = node.alias !== undefined;
    const directives = node.directives?.length ?? 0;
    const flat = (childType: GraphQLNamedType | undefined, introspection: boolean): FieldOwner => ({
      kind: 'field',
      aliased,
      directives,
      cost: 1,
      multiplier: 1,
      introspection,
      childType,
    });
    if (name === '__schema' || name === '__type') return flat(undefined, true);
    const field = type && (isObjectType(type) || isInterfaceType(type)) ? type.getFields()[name] : undefined;
    if (!type || !field) return flat(undefined, false);
    const childType = getNamedType(field.type);
    // Introspection types (__Type, __Field...) describe the schema from memory: one unit per
    // field, no list multipliers, or GraphiQL's own query would cost 10^4.
    if (type.name.startsWith('__')) return flat(childType, false);
    const priced = limits.fieldCosts[`${type.name}.${name}`];
    let multiplier: number | undefined;
    for (const argName of priced?.multiplierArgs ?? []) {
      const arg = node.arguments?.find((a) => a.name.value === argName);
      multiplier = arg && sizeOf(arg.value, variables);
      if (multiplier !== undefined) break;
    }
    for (const argName of multiplier === undefined ? (priced?.multiplierArgs ?? []) : []) {
      multiplier = sizeOfValue(field.args.find((a) => a.name === argName)?.defaultValue);
      if (multiplier !== undefined) break;
    }
    multiplier ??=
      priced?.defaultMultiplier ?? (isListType(getNullableType(field.type)) ? limits.defaultListMultiplier : 1);
    return { kind: 'field', aliased, directives, cost: priced?.cost ?? 1, multiplier, introspection: false, childType };
  };

  const frame = (selections: readonly SelectionNode[], type: GraphQLNamedType | undefined, owner: Owner): Frame => ({
    selections,
    index: 0,
    type,
    owner,
    depth: 0,
    introspectionDepth: 0,
    cost: 0,
    aliases: 0,
    directives: 0,
    fields: 0,
  });

  for (const operation of args.request ? [args.request.operation] : operations) {
    const root = schema.getRootType(operation.operation) ?? undefined;
    const stack: Frame[] = [frame(operation.selectionSet.selections, root, { kind: 'operation', node: operation })];
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const selection = top.selections[top.index++];
      if (selection) {
        work++;
        if (selection.kind === Kind.FIELD) {
          const owner = fieldOwner(top.type, selection);
          if (selection.selectionSet) stack.push(frame(selection.selectionSet.selections, owner.childType, owner));
          else addField(top, EMPTY, owner);
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          const type = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : top.type;
          const owner: Owner = { kind: 'inline', directives: selection.directives?.length ?? 0 };
          stack.push(frame(selection.selectionSet.selections, type ?? undefined, owner));
        } else {
          const name = selection.name.value;
          const spreadDirectives = selection.directives?.length ?? 0;
          const summary = summaries.get(name);
          const fragment = fragments.get(name);
          if (summary) addSummary(top, summary, spreadDirectives);
          else if (!fragment || walking.has(name)) addSummary(top, EMPTY, spreadDirectives);
          else {
            walking.add(name);
            const type = schema.getType(fragment.typeCondition.name.value) ?? undefined;
            stack.push(frame(fragment.selectionSet.selections, type, { kind: 'fragment', name, spreadDirectives }));
          }
        }
        continue;
      }
      stack.pop();
      const parent = stack[stack.length - 1];
      const { owner } = top;
      if (owner.kind === 'operation') {
        let directives = saturatingAdd(top.directives, owner.node.directives?.length ?? 0);
        for (const v of owner.node.variableDefinitions ?? [])
          directives = saturatingAdd(directives, v.directives?.length ?? 0);
        results.set(owner.node, {
          depth: top.depth,
          introspectionDepth: top.introspectionDepth,
          cost: top.cost,
          aliases: top.aliases,
          directives,
          rootFields: top.fields,
        });
      } else if (owner.kind === 'field') addField(parent!, top, owner);
      else if (owner.kind === 'inline') addSummary(parent!, top, owner.directives);
      else {
        const fragment = fragments.get(owner.name)!;
        const summary: Summary = {
          depth: top.depth,
          introspectionDepth: top.introspectionDepth,
          cost: top.cost,
          aliases: top.aliases,
          directives: saturatingAdd(top.directives, fragment.directives?.length ?? 0),
          fields: top.fields,
        };
        summaries.set(owner.name, summary);
        walking.delete(owner.name);
        addSummary(parent!, summary, owner.spreadDirectives);
      }
    }
  }
  return { operations: results, work };
}

/** Adds a field whose selection measured `sub` (EMPTY for a leaf). */
function addField(into: Summary, sub: Summary, field: FieldOwner): void {
  into.fields = saturatingAdd(into.fields, 1);
  into.aliases = saturatingAdd(into.aliases, field.aliased ? 1 + sub.aliases : sub.aliases);
  into.directives = saturatingAdd(into.directives, saturatingAdd(field.directives, sub.directives));
  if (field.introspection) {
    into.introspectionDepth = Math.max(into.introspectionDepth, 1 + sub.depth, sub.introspectionDepth);
    into.cost = saturatingAdd(into.cost, saturatingAdd(1, sub.cost));
  } else {
    into.depth = Math.max(into.depth, 1 + sub.depth);
    into.introspectionDepth = Math.max(into.introspectionDepth, sub.introspectionDepth);
    into.cost = saturatingAdd(into.cost, saturatingAdd(field.cost, saturatingMul(field.multiplier, sub.cost)));
  }
}

/** Adds a fragment's (or an inline fragment's) summary where it is spread. */
function addSummary(into: Summary, sub: Readonly<Summary>, directives: number): void {
  into.depth = Math.max(into.depth, sub.depth);
  into.introspectionDepth = Math.max(into.introspectionDepth, sub.introspectionDepth);
  into.cost = saturatingAdd(into.cost, sub.cost);
  into.aliases = saturatingAdd(into.aliases, sub.aliases);
  into.directives = saturatingAdd(into.directives, saturatingAdd(directives, sub.directives));
  into.fields = saturatingAdd(into.fields, sub.fields);
}

/** A variable's size (sizeOfValue) by name; undefined when neither the request nor the operation gives one. */
type VariableSizes = (name: string) => number | undefined;

/**
 * The sizes of the request's variables, then of the operation's defaults for those it omits;
 * looked up by name, never copied or walked (a 1 MB variables object costs nothing more here
 * than a small one).
 */
function variablesOf(operation: OperationDefinitionNode, variables: Readonly<Record<string, unknown>>): VariableSizes {
  const defaults = new Map<string, ValueNode>();
  for (const v of operation.variableDefinitions ?? [])
    if (v.defaultValue) defaults.set(v.variable.name.value, v.defaultValue);
  return (name) => {
    if (Object.hasOwn(variables, name)) return sizeOfValue(variables[name]);
    const fallback = defaults.get(name);
    // A default is a constant: no variables inside.
    return fallback && sizeOf(fallback, undefined);
  };
}

/** A multiplier argument's size: a number as it is (at least 0), a list by its length; else unknown. */
function sizeOf(value: ValueNode, variables: VariableSizes | undefined): number | undefined {
  switch (value.kind) {
    case Kind.INT:
    case Kind.FLOAT:
      return sizeOfValue(Number(value.value));
    case Kind.LIST:
      return value.values.length;
    case Kind.VARIABLE:
      // Validation has no variables: the argument counts at its default, and the request's
      // cost check (QueryLimits.checkCost) counts it again with the value sent.
      return variables?.(value.name.value);
    default:
      return undefined;
  }
}

/** The size of a variable's or default's value: reading a list's length, never its items. */
function sizeOfValue(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isNaN(value) ? undefined : Math.max(0, Math.ceil(value));
  if (Array.isArray(value)) return value.length;
  return undefined;
}
