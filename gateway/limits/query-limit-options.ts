/**
 * The query limits' options, their defaults and their one validation. Defaults are chosen
 * against the queries we serve (measure-operations.test.ts pins the figures): the benchmark's
 * 50-holding portfolio query is 6 deep, costs 1,253 and is 54 tokens long, our largest;
 * GraphiQL's introspection query nests 15 levels and is 163 tokens long.
 */
import { getNullableType, isListType, type GraphQLSchema } from 'graphql';
import { AppError } from '../../lib/errors.ts';
import type { FieldCost } from './field-cost.ts';
import { PRODUCT_FIELD_COSTS } from './product-field-costs.ts';

/** The limits; every one is optional and falls back to DEFAULT_QUERY_LIMITS. */
export interface QueryLimitOptions {
  /** Deepest selection of data fields. */
  readonly maxDepth?: number;
  /** Deepest selection under `__schema` or `__type`, which nest `ofType` by design. */
  readonly maxIntrospectionDepth?: number;
  /** Highest cost of an operation, with its variables (see FieldCost). */
  readonly maxCost?: number;
  /** Most aliased fields in an operation as executed (each fragment spread counts). */
  readonly maxAliases?: number;
  /** Most root fields of an operation as executed. */
  readonly maxRootFields?: number;
  /** Most directive uses in an operation as executed. */
  readonly maxDirectives?: number;
  /** Most tokens in a document; graphql-js's parser stops there. */
  readonly maxTokens?: number;
  /** Multiplier of a list field that has no FieldCost of its own. */
  readonly defaultListMultiplier?: number;
  /** Per-field costs, keyed "Type.field". */
  readonly fieldCosts?: Readonly<Record<string, FieldCost>>;
}

/** The limits with every option filled in. */
export type ResolvedQueryLimitOptions = Required<QueryLimitOptions>;

/** Our defaults: each admits every query we serve with room to spare, and none of the hostile ones. */
export const DEFAULT_QUERY_LIMITS: ResolvedQueryLimitOptions = {
  // Our deepest real query is 6 (portfolio > holdings > asset > similar > asset > id);
  // MAX_QUERY_DEPTH defaults to 12 as well (lib/config.ts).
  maxDepth: 12,
  // GraphiQL's introspection query nests 15 levels (TypeRef's ofType chain); 20 leaves room for
  // tools that unwrap a few more type wrappers. graphql-js's own MaxIntrospectionDepthRule (in
  // specifiedRules) separately stops `fields { type { fields ...` recursion.
  maxIntrospectionDepth: 20,
  // 16 times the benchmark's portfolio query (1,253), 10 times a full 100-row transactions page
  // with each row's asset and protocol (1,901); the hostile documents cost millions and more.
  maxCost: 20_000,
  // Clients alias to fetch a field twice with different arguments (two assets, two intervals):
  // a handful per query. 30 leaves room; 5,000 aliased portfolios ran for 40 s and took 2 GB.
  maxAliases: 30,
  // Each root field is its own tier round trip; our queries select 1 to 3.
  maxRootFields: 20,
  // @include/@skip on a few fields; graphql-armor's default.
  maxDirectives: 50,
  // The introspection query is 163 tokens, the portfolio query 54: 5,000 is 30 times the
  // largest, and bounds every later walk of the document, graphql-js's own validation included
  // (the 128 KB fragment chain is refused after 0.4 ms of lexing instead of 130 ms of validation).
  maxTokens: 5_000,
  // A list field of unknown length is counted as 10 items.
  defaultListMultiplier: 10,
  fieldCosts: PRODUCT_FIELD_COSTS,
};

function invalid(key: string, value: unknown, rule: string): AppError {
  return new AppError({
    code: 'CONFIG_INVALID',
    message: `Query limit ${key} must be ${rule}, got ${JSON.stringify(value)}`,
    details: { key },
  });
}

function positiveInteger(key: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1)
    throw invalid(key, value, 'a positive integer');
  return value;
}

function nonNegative(key: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
    throw invalid(key, value, 'a finite number, zero or more');
  return value;
}

/** Fills the defaults and checks every option once; a bad value throws CONFIG_INVALID naming it. */
export function resolveQueryLimitOptions(options: QueryLimitOptions = {}): ResolvedQueryLimitOptions {
  const merged = { ...DEFAULT_QUERY_LIMITS, ...definedOnly(options) };
  const fieldCosts: Record<string, FieldCost> = {};
  for (const [key, fieldCost] of Object.entries(merged.fieldCosts)) {
    const where = `fieldCosts["${key}"]`;
    if (!/^[_A-Za-z]\w*\.[_A-Za-z]\w*$/.test(key)) throw invalid(`fieldCosts key`, key, '"Type.field"');
    if (fieldCost.cost !== undefined) nonNegative(`${where}.cost`, fieldCost.cost);
    if (fieldCost.defaultMultiplier !== undefined)
      nonNegative(`${where}.defaultMultiplier`, fieldCost.defaultMultiplier);
    if (
      fieldCost.multiplierArgs !== undefined &&
      (!Array.isArray(fieldCost.multiplierArgs) || fieldCost.multiplierArgs.some((a) => typeof a !== 'string'))
    )
      throw invalid(`${where}.multiplierArgs`, fieldCost.multiplierArgs, 'a list of argument names');
    fieldCosts[key] = fieldCost;
  }
  return {
    maxDepth: positiveInteger('maxDepth', merged.maxDepth),
    maxIntrospectionDepth: positiveInteger('maxIntrospectionDepth', merged.maxIntrospectionDepth),
    maxCost: positiveInteger('maxCost', merged.maxCost),
    maxAliases: positiveInteger('maxAliases', merged.maxAliases),
    maxRootFields: positiveInteger('maxRootFields', merged.maxRootFields),
    maxDirectives: positiveInteger('maxDirectives', merged.maxDirectives),
    maxTokens: positiveInteger('maxTokens', merged.maxTokens),
    defaultListMultiplier: nonNegative('defaultListMultiplier', merged.defaultListMultiplier),
    fieldCosts,
  };
}

function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Checks per-field costs against a schema: every key names a field, every multiplier argument
 * exists. A typo would otherwise price the field at the default silently. Throws CONFIG_INVALID.
 */
export function checkFieldCosts(args: {
  schema: GraphQLSchema;
  fieldCosts: Readonly<Record<string, FieldCost>>;
}): void {
  for (const [key, fieldCost] of Object.entries(args.fieldCosts)) {
    const [typeName, fieldName] = key.split('.') as [string, string];
    const type = args.schema.getType(typeName);
    const field = type && 'getFields' in type ? type.getFields()[fieldName] : undefined;
    if (!field) throw invalid('fieldCosts key', key, 'a field of the schema');
    for (const name of fieldCost.multiplierArgs ?? []) {
      const arg = 'args' in field ? field.args.find((a) => a.name === name) : undefined;
      if (!arg) throw invalid(`fieldCosts["${key}"].multiplierArgs`, name, `an argument of ${key}`);
      const argType = getNullableType(arg.type);
      if (!isListType(argType) && !('name' in argType && (argType.name === 'Int' || argType.name === 'Float')))
        throw invalid(`fieldCosts["${key}"].multiplierArgs`, name, 'an Int, Float or list argument');
    }
  }
}
