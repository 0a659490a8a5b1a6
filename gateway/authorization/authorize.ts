/**
 * Applies the rules table (rules.ts) in two places:
 * 1. Before anything runs, and before the response cache is consulted, on the operation
 *    itself: every root field, with its arguments' values (literals or variables), against the
 *    viewer. A cache hit is therefore authorized exactly like a miss.
 * 2. During execution, for the rules that depend on data (a User object's own fields, a user
 *    found by handle): those fields' resolvers are wrapped once, when the schema is built.
 * Denials are UNAUTHENTICATED (no or bad credentials) or FORBIDDEN, with messages that say
 * nothing about the data: another user's id and an id that does not exist get the same answer.
 */
import { mapSchema, MapperKind } from '@graphql-tools/utils';
import {
  defaultFieldResolver,
  isObjectType,
  Kind,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';
import { AppError } from '../../lib/errors.ts';
import type { Viewer } from '../../lib/viewer.ts';
import { RULES, type Rule } from './rules.ts';

/** Anonymous callers asking for anything not public. */
export function unauthenticated(): AppError {
  return new AppError({
    code: 'UNAUTHENTICATED',
    message: 'Authentication required: send Authorization: Bearer <token>',
  });
}

/** Signed-in callers asking for what is not theirs. */
export function forbidden(message = 'You may only read and change your own data'): AppError {
  return new AppError({ code: 'FORBIDDEN', message });
}

const ROOTS = ['Query', 'Mutation', 'Subscription'] as const;

/** Throws when a root field has no rule or a rule names no field: the table must stay whole and true. */
export function assertRulesCover(schema: GraphQLSchema): void {
  const missing: string[] = [];
  for (const root of ROOTS) {
    const type = schema.getType(root);
    if (!type || !isObjectType(type)) continue;
    for (const field of Object.keys(type.getFields())) if (!RULES[`${root}.${field}`]) missing.push(`${root}.${field}`);
  }
  const stale = Object.keys(RULES).filter((key) => {
    const [typeName, field] = key.split('.') as [string, string];
    const type = schema.getType(typeName);
    return !type || !isObjectType(type) || !type.getFields()[field];
  });
  if (missing.length > 0 || stale.length > 0) {
    throw new AppError({
      code: 'CONFIG_INVALID',
      message: `Authorization table out of date: no rule for ${missing.join(', ') || '-'}; rules for unknown fields ${stale.join(', ') || '-'}`,
    });
  }
}

/** Evaluates a rule whose subject is `userId` (undefined: not determinable before execution). */
function check(rule: Rule, viewer: Viewer, userId: () => unknown, write: boolean): void {
  if (rule.kind === 'public') return;
  if (viewer.kind !== 'user') throw unauthenticated();
  if (rule.kind === 'admin') {
    if (viewer.role !== 'admin') throw forbidden('This operation needs the admin role');
    return;
  }
  const adminMayRead = rule.kind === 'self' || rule.adminMayRead;
  if (viewer.role === 'admin' && adminMayRead && !write) return;
  const subject = userId();
  if (subject === undefined) return; // decided on the result (Query.user by handle)
  // An ID variable may arrive as a JSON number (GraphQL's ID accepts both).
  if ((typeof subject !== 'string' && typeof subject !== 'number') || String(subject) !== viewer.userId)
    throw forbidden();
}

/** The value of the argument at `path` ("userId", "input.userId") of a field, with variables substituted. */
function argumentValue(field: FieldNode, path: string, variables: Readonly<Record<string, unknown>>): unknown {
  const [name, ...rest] = path.split('.');
  const arg = field.arguments?.find((a) => a.name.value === name);
  let value: unknown = arg ? valueOf(arg.value, variables) : undefined;
  for (const key of rest)
    value = value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
  return value;
}

function valueOf(node: ValueNode, variables: Readonly<Record<string, unknown>>): unknown {
  switch (node.kind) {
    case Kind.VARIABLE:
      return variables[node.name.value];
    case Kind.STRING:
    case Kind.INT:
    case Kind.FLOAT:
    case Kind.ENUM:
      return node.value;
    case Kind.BOOLEAN:
      return node.value;
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return node.values.map((v) => valueOf(v, variables));
    case Kind.OBJECT:
      return Object.fromEntries(node.fields.map((f) => [f.name.value, valueOf(f.value, variables)]));
  }
}

/**
 * Checks every root field of `operation` against the rules before execution. Root fields
 * inside fragments count too (each fragment visited once); linear in the document's size.
 */
export function authorizeOperation(args: {
  document: DocumentNode;
  operation: OperationDefinitionNode;
  variables: Readonly<Record<string, unknown>>;
  viewer: Viewer;
}): void {
  const root =
    args.operation.operation === 'query'
      ? 'Query'
      : args.operation.operation === 'mutation'
        ? 'Mutation'
        : 'Subscription';
  const write = root === 'Mutation';
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of args.document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const seen = new Set<string>();
  const walk = (set: SelectionSetNode): void => {
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value;
        if (name.startsWith('__')) continue; // __typename, and introspection (switched off in production)
        const rule = RULES[`${root}.${name}`];
        // Unknown fields fail validation; a rule always exists for known ones (assertRulesCover).
        if (!rule) continue;
        const subject =
          rule.kind === 'owner'
            ? () => argumentValue(selection, rule.arg, args.variables)
            : rule.kind === 'self'
              ? () => argumentValue(selection, 'id', args.variables) ?? undefined
              : () => undefined;
        check(rule, args.viewer, subject, write);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        walk(selection.selectionSet);
      } else if (!seen.has(selection.name.value)) {
        seen.add(selection.name.value);
        const fragment = fragments.get(selection.name.value);
        if (fragment) walk(fragment.selectionSet);
      }
    }
  };
  walk(args.operation.selectionSet);
}

/** What the execution-time checks need from the context. */
interface ViewerContext {
  readonly viewer: Viewer;
}

/**
 * The schema with the data-dependent rules wrapped around their resolvers: a User's own fields
 * check the parent user, and Query.user by handle checks the user found (null or another user
 * give the same FORBIDDEN to a non-admin).
 */
export function withAuthorization(schema: GraphQLSchema): GraphQLSchema {
  assertRulesCover(schema);
  return mapSchema(schema, {
    [MapperKind.OBJECT_FIELD]: (field, fieldName, typeName) => {
      const rule = RULES[`${typeName}.${fieldName}`];
      const resolve = field.resolve ?? defaultFieldResolver;
      if (rule?.kind === 'ownParent') {
        return {
          ...field,
          resolve: (parent, args, context: ViewerContext, info) => {
            check(rule, context.viewer, () => (parent as { id: string }).id, false);
            return resolve(parent, args, context, info);
          },
        };
      }
      if (rule?.kind === 'self') {
        return {
          ...field,
          resolve: async (parent, args, context: ViewerContext, info) => {
            const user = (await resolve(parent, args, context, info)) as { id: string } | null;
            const viewer = context.viewer;
            if (viewer.kind === 'user' && viewer.role === 'admin') return user;
            if (!user || viewer.kind !== 'user' || user.id !== viewer.userId) throw forbidden();
            return user;
          },
        };
      }
      return field;
    },
  });
}
