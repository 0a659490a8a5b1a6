import { makeExecutableSchema } from '@graphql-tools/schema';
import {
  getIntrospectionQuery,
  getNullableType,
  isListType,
  isObjectType,
  parse,
  specifiedRules,
  validate,
  type GraphQLError,
  type GraphQLObjectType,
} from 'graphql';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PORTFOLIO_QUERY } from '../../bench/portfolio-query.ts';
import { AppError } from '../../lib/errors.ts';
import { loadTypeDefs } from '../../schema/index.ts';
import { checkRequest } from './check-request.ts';
import { createQueryLimits } from './create-query-limits.ts';
import { hostileDocuments, hugeVariables } from './hostile.ts';
import { QUERY_LIMIT_CODES } from './query-limit-error.ts';
import { DEFAULT_QUERY_LIMITS, checkFieldCosts } from './query-limit-options.ts';
import { MEASURE_CEILING } from './saturating.ts';
import { parseWithTokenLimit, tooManyTokensError } from './too-many-tokens.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const schema = makeExecutableSchema({ typeDefs: loadTypeDefs() });
const limits = createQueryLimits();

/** Our rules' errors on a document parsed without the token cap, as `{ code, measured, allowed }`. */
const refusals = (source: string, rules = limits.rules) =>
  validate(schema, parse(source), rules).map((e) => ({ ...e.extensions }));

const codeOf = (error: GraphQLError | undefined) => error?.extensions['code'];

/**
 * The literal queries of the integration tests (those without `${}`) that graphql-js's own
 * rules accept: what our clients send today.
 */
function integrationTestQueries(): { file: string; query: string }[] {
  const dir = path.join(root, 'test/integration');
  const out: { file: string; query: string }[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.test.ts'))) {
    for (const [, text] of readFileSync(path.join(dir, file), 'utf8').matchAll(/`([^`]*)`/g)) {
      if (text!.includes('${') || !/^\s*(query|mutation|subscription|\{)/.test(text!)) continue;
      try {
        if (validate(schema, parse(text!), specifiedRules).length === 0) out.push({ file, query: text! });
      } catch {
        // Not GraphQL (a JSON body, a message).
      }
    }
  }
  return out;
}

/** Arguments that say how long a list is asked to be. */
const PAGE_ARGS = new Set(['first', 'last', 'k']);

describe('the default limits', () => {
  it("accept the benchmark's portfolio query and GraphiQL's introspection query", () => {
    for (const query of [PORTFOLIO_QUERY, getIntrospectionQuery()]) {
      expect(checkRequest({ schema, limits, source: query, variables: { u: '1' } }).errors).toBeUndefined();
    }
  });

  it("accept the integration tests' queries, but for the one meant to be refused", () => {
    const queries = integrationTestQueries();
    expect(queries.length).toBeGreaterThan(50);
    const refused = queries
      .map(({ file, query }) => ({ file, query, codes: refusals(query).map((e) => e['code']) }))
      .filter((q) => q.codes.length > 0);
    // bad-input.test.ts nests similar 15 deep (GRAPHQL_VALIDATION_FAILED from the old depth
    // rule); its page above the limit (first: 101) is within the cost budget and refused by the
    // resolver, naming the argument.
    expect(refused.map((q) => [q.file, q.codes])).toEqual([['bad-input.test.ts', ['QUERY_TOO_DEEP']]]);
  });

  it('price every paged field of the schema by a real argument', () => {
    expect(() => checkFieldCosts({ schema, fieldCosts: DEFAULT_QUERY_LIMITS.fieldCosts })).not.toThrow();
    // Every list field with a page-size argument (first, last, k) is priced by it: a new paged
    // field without a cost would otherwise count as the default list length, whatever it asks for.
    const paged = Object.values(schema.getTypeMap())
      .filter((type) => !type.name.startsWith('__') && isObjectType(type))
      .flatMap((type) =>
        Object.values((type as GraphQLObjectType).getFields())
          .filter((f) => isListType(getNullableType(f.type)) && f.args.some((a) => PAGE_ARGS.has(a.name)))
          .map((f) => `${type.name}.${f.name}`),
      );
    expect(paged.length).toBeGreaterThan(5);
    for (const key of paged) expect(DEFAULT_QUERY_LIMITS.fieldCosts[key]?.multiplierArgs, key).toBeDefined();
  });
});

describe('each hostile document', () => {
  const ids = hugeVariables({ bytes: 1024 * 1024 }).variables.ids.length;
  const expected: Record<string, Record<string, { measured: number | string; allowed: number }>> = {
    'fan-out': { QUERY_TOO_COSTLY: { measured: 2 + 50 * 2 ** 24, allowed: 20_000 } },
    chain: { QUERY_TOO_DEEP: { measured: 4_000, allowed: 12 } },
    aliases: {
      TOO_MANY_ALIASES: { measured: 5_000, allowed: 30 },
      TOO_MANY_ROOT_FIELDS: { measured: 5_000, allowed: 20 },
    },
    directives: { TOO_MANY_DIRECTIVES: { measured: 10_000, allowed: 50 } },
    deep: {
      QUERY_TOO_DEEP: { measured: 200, allowed: 12 },
      QUERY_TOO_COSTLY: { measured: MEASURE_CEILING, allowed: 20_000 },
    },
    // 1 + 10^9 x (edges 1 + node (1 + id, valueUsd))
    'huge-first': { QUERY_TOO_COSTLY: { measured: 4_000_000_001, allowed: 20_000 } },
    'huge-variables': {},
  };

  it.each(hostileDocuments().map((h) => [h.name, h] as const))(
    '%s: is refused by our rules with its measure and the limit',
    (name, hostile) => {
      const byCode = Object.fromEntries(refusals(hostile.source).map(({ code, ...rest }) => [code as string, rest]));
      expect(Object.keys(byCode).sort()).toEqual([...hostile.refusedBy.rules].sort());
      expect(byCode).toEqual(expected[name]);
    },
  );

  it.each(hostileDocuments().map((h) => [h.name, h.refusedBy.request, h] as const))(
    '%s: is refused by a server with %s',
    (_name, _code, hostile) => {
      const { errors } = checkRequest({ schema, limits, source: hostile.source, variables: hostile.variables });
      expect(codeOf(errors?.[0])).toBe(hostile.refusedBy.request);
      if (hostile.refusedBy.request === 'TOO_MANY_TOKENS')
        expect(errors![0]!.extensions).toEqual({ code: 'TOO_MANY_TOKENS', measured: '> 5000', allowed: 5_000 });
    },
  );

  it('huge-variables: costs its list length once the variables are known', () => {
    const hostile = hostileDocuments().find((h) => h.name === 'huge-variables')!;
    const document = parse(hostile.source);
    // 1 + ids x (price 1 + asset (1 + symbol 1))
    expect(limits.costOf({ schema, document, variables: hostile.variables })).toBe(1 + 3 * ids);
    expect(limits.checkCost({ schema, document, variables: hostile.variables })?.extensions).toEqual({
      code: 'QUERY_TOO_COSTLY',
      measured: 1 + 3 * ids,
      allowed: 20_000,
    });
  });
});

describe('cost with variables', () => {
  const source = `query Page($n: Int) { transactions(userId: "1", first: $n) { edges { node { id } } } }`;

  it('passes validation at the SDL default, and is priced again with the value sent', () => {
    expect(refusals(source)).toEqual([]);
    const document = parse(source);
    expect(limits.checkCost({ schema, document, variables: { n: 50 } })).toBeUndefined();
    const refused = limits.checkCost({ schema, document, operationName: 'Page', variables: { n: 1_000_000_000 } });
    expect(refused?.extensions).toEqual({ code: 'QUERY_TOO_COSTLY', measured: 3_000_000_001, allowed: 20_000 });
    expect(refused?.message).toBe('Operation "Page" costs 3000000001 with its variables; the limit is 20000.');
  });

  it("uses the operation's own default for a variable not sent", () => {
    const document = parse(`query($n: Int = 100000) { transactions(userId: "1", first: $n) { edges { cursor } } }`);
    expect(limits.costOf({ schema, document })).toBe(1 + 100_000 * 2);
    expect(limits.costOf({ schema, document, variables: { n: 10 } })).toBe(1 + 10 * 2);
  });

  it('has no cost for an operation the document does not hold', () => {
    const document = parse(`query A { __typename } query B { __typename }`);
    expect(limits.costOf({ schema, document })).toBeUndefined();
    expect(limits.checkCost({ schema, document, operationName: 'C' })).toBeUndefined();
  });
});

describe('the rules', () => {
  it('count the directives of every spread of a fragment (graphql-armor counts 1 of these 1,000)', () => {
    const spreads = Array.from({ length: 1_000 }, () => '...P @include(if: true)').join(' ');
    const source = `query { portfolio(userId: "1") { ${spreads} } } fragment P on Portfolio { totalValueUsd }`;
    expect(refusals(source)).toEqual([{ code: 'TOO_MANY_DIRECTIVES', measured: 1_000, allowed: 50 }]);
  });

  it('count aliases hidden in fragments as often as they are spread', () => {
    const source = `{ ...A ...A ...A } fragment A on Query { ...B ...B ...B } fragment B on Query { a: asset(id: "1") { id } b: asset(id: "2") { id } c: asset(id: "3") { id } d: asset(id: "4") { id } }`;
    expect(refusals(source)).toEqual([
      { code: 'TOO_MANY_ALIASES', measured: 36, allowed: 30 },
      { code: 'TOO_MANY_ROOT_FIELDS', measured: 36, allowed: 20 },
    ]);
  });

  it('limit introspection apart: a type with its fields passes, 23 levels of it do not', () => {
    const introspection = getIntrospectionQuery();
    const typeRef = introspection.slice(introspection.indexOf('fragment TypeRef'));
    // 13 levels deep: graphql-armor's max-depth counts it against the data limit (12) and refuses it.
    expect(refusals(`{ __type(name: "Query") { fields { type { ...TypeRef } } } } ${typeRef}`)).toEqual([]);
    // http.test.ts's abusive introspection query.
    const abusive = `{ __schema { types { ${'fields { type { '.repeat(10)} name ${'} } '.repeat(10)} } } }`;
    expect(refusals(abusive)).toEqual([{ code: 'QUERY_TOO_DEEP', measured: 23, allowed: 20 }]);
  });

  it('report each operation of a document with its own name', () => {
    const source = `query Ok { asset(id: "ETH") { id } } query TooDeep { ${'similarAssets { asset { '.repeat(7)} id ${'} } '.repeat(7)} }`;
    const errors = validate(schema, parse(source), limits.rules);
    expect(errors.map((e) => e.message)).toEqual(['Operation "TooDeep" is nested 15 levels deep; the limit is 12.']);
    expect(errors[0]!.locations).toEqual([{ line: 1, column: source.indexOf('query TooDeep') + 1 }]);
  });

  it('follow the options given', () => {
    const strict = createQueryLimits({
      maxDepth: 3,
      fieldCosts: { 'Portfolio.holdings': { defaultMultiplier: 1_000 } },
    });
    expect(strict.options.maxCost).toBe(DEFAULT_QUERY_LIMITS.maxCost);
    const document = parse(PORTFOLIO_QUERY);
    expect(validate(schema, document, strict.rules).map((e) => e.extensions)).toEqual([
      { code: 'QUERY_TOO_DEEP', measured: 6, allowed: 3 },
      // Only the fields given are priced: Asset.similar falls back to the list default (10).
      { code: 'QUERY_TOO_COSTLY', measured: 1 + 1 + (1 + 1_000 * (2 + 3 + (1 + 6 + (1 + 10 * 4)))), allowed: 20_000 },
    ]);
  });

  it('use only our codes', () => {
    const codes = new Set(hostileDocuments().flatMap((h) => refusals(h.source).map((e) => e['code'])));
    for (const code of codes) expect(QUERY_LIMIT_CODES).toContain(code);
  });
});

describe('options', () => {
  it.each([
    [{ maxDepth: 0 }, 'maxDepth'],
    [{ maxCost: 1.5 }, 'maxCost'],
    [{ maxTokens: Number.NaN }, 'maxTokens'],
    [{ defaultListMultiplier: -1 }, 'defaultListMultiplier'],
    [{ fieldCosts: { holdings: {} } }, 'fieldCosts key'],
    [
      { fieldCosts: { 'Portfolio.holdings': { defaultMultiplier: Infinity } } },
      'fieldCosts["Portfolio.holdings"].defaultMultiplier',
    ],
  ])('refuse %j, naming %s', (options, key) => {
    expect(() => createQueryLimits(options)).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', details: { key } }) as unknown as Error,
    );
  });

  it('refuse per-field costs naming no field, or no usable argument', () => {
    expect(() => checkFieldCosts({ schema, fieldCosts: { 'Portfolio.holding': {} } })).toThrow(AppError);
    expect(() =>
      checkFieldCosts({ schema, fieldCosts: { 'Query.transactions': { multiplierArgs: ['frist'] } } }),
    ).toThrow(/multiplierArgs must be an argument of Query.transactions, got "frist"/);
    expect(() =>
      checkFieldCosts({ schema, fieldCosts: { 'Query.transactions': { multiplierArgs: ['after'] } } }),
    ).toThrow(/an Int, Float or list argument/);
  });
});

describe('the token cap', () => {
  it("is graphql-js's, turned into TOO_MANY_TOKENS", () => {
    expect(() => parseWithTokenLimit({ source: '{ a b c d e f }', maxTokens: 5 })).toThrow(
      expect.objectContaining({
        extensions: { code: 'TOO_MANY_TOKENS', measured: '> 5', allowed: 5 },
      }) as unknown as Error,
    );
    expect(parseWithTokenLimit({ source: '{ a b }', maxTokens: 5 }).definitions).toHaveLength(1);
  });

  it('recognizes the parser error behind a wrapper, and nothing else', () => {
    let parseError: unknown;
    try {
      parse('{ a b c d e f }', { maxTokens: 3 });
    } catch (error) {
      parseError = error;
    }
    expect(tooManyTokensError({ message: 'wrapped', originalError: parseError })?.extensions).toEqual({
      code: 'TOO_MANY_TOKENS',
      measured: '> 3',
      allowed: 3,
    });
    expect(tooManyTokensError(new Error('Syntax Error: Expected Name, found <EOF>.'))).toBeUndefined();
    expect(tooManyTokensError(undefined)).toBeUndefined();
  });
});
