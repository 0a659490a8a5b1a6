import { makeExecutableSchema } from '@graphql-tools/schema';
import {
  Kind,
  getIntrospectionQuery,
  parse,
  visit,
  type DocumentNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { PORTFOLIO_QUERY } from '../../bench/portfolio-query.ts';
import { loadTypeDefs } from '../../schema/index.ts';
import { deepNesting, fragmentChain, fragmentFanOut } from './hostile.ts';
import { measureOperations, type OperationMeasures } from './measure-operations.ts';
import { DEFAULT_QUERY_LIMITS } from './query-limit-options.ts';
import { MEASURE_CEILING } from './saturating.ts';

const schema = makeExecutableSchema({ typeDefs: loadTypeDefs() });
const limits = DEFAULT_QUERY_LIMITS;

const measure = (source: string | DocumentNode): OperationMeasures & { work: number } => {
  const document = typeof source === 'string' ? parse(source) : source;
  const { operations, work } = measureOperations({ schema, document, limits });
  expect(operations.size).toBe(1);
  return { ...[...operations.values()][0]!, work };
};

/** Selection nodes in the document: the size the walk's work is compared with. */
function selectionCount(document: DocumentNode): number {
  let n = 0;
  visit(document, { Field: () => void n++, InlineFragment: () => void n++, FragmentSpread: () => void n++ });
  return n;
}

/**
 * The reference: every spread replaced by an inline fragment of its fragment's selections,
 * recursively, i.e. the operation as executed, written out (exponential: small documents only).
 */
function inlineFragments(document: DocumentNode): DocumentNode {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const expand = (set: SelectionSetNode): SelectionSetNode => ({
    ...set,
    selections: set.selections.map((s) => {
      if (s.kind === Kind.FIELD) return s.selectionSet ? { ...s, selectionSet: expand(s.selectionSet) } : s;
      if (s.kind === Kind.INLINE_FRAGMENT) return { ...s, selectionSet: expand(s.selectionSet) };
      const fragment = fragments.get(s.name.value)!;
      return {
        kind: Kind.INLINE_FRAGMENT,
        typeCondition: fragment.typeCondition,
        directives: [...(s.directives ?? []), ...(fragment.directives ?? [])],
        selectionSet: expand(fragment.selectionSet),
      };
    }),
  });
  return {
    ...document,
    definitions: document.definitions
      .filter((d) => d.kind === Kind.OPERATION_DEFINITION)
      .map((d) => ({ ...d, selectionSet: expand(d.selectionSet) })),
  };
}

const withoutWork = ({ work: _work, ...measures }: OperationMeasures & { work: number }) => measures;

describe('measureOperations', () => {
  it("measures the benchmark's portfolio query", () => {
    expect(withoutWork(measure(PORTFOLIO_QUERY))).toEqual({
      depth: 6, // portfolio > holdings > asset > similar > asset > id
      introspectionDepth: 0,
      // 1 + (totalValueUsd 1 + holdings (1 + 50 x (2 + protocol 3 + asset (1 + 6 + similar (1 + 3 x 4)))))
      cost: 1_253,
      aliases: 0,
      directives: 0,
      rootFields: 1,
    });
  });

  it("measures GraphiQL's introspection query apart from data, at one unit per field", () => {
    const m = measure(getIntrospectionQuery());
    expect(m).toMatchObject({ depth: 0, introspectionDepth: 15, rootFields: 1 });
    expect(m.cost).toBeLessThan(500);
  });

  it('counts a page by its `first`, a default from the SDL, and a literal list by its length', () => {
    const page = (first: string) => measure(`{ transactions(userId: "1"${first}) { edges { node { id } } } }`).cost;
    expect(page(', first: 100')).toBe(1 + 100 * 3);
    expect(page('')).toBe(1 + 20 * 3); // SDL default
    expect(page(', first: 0')).toBe(1);
    expect(page(', first: -5')).toBe(1); // the resolver refuses it; here it is worth nothing
    expect(measure(`subscription { priceUpdated(assetIds: ["A", "B", "C"]) { price } }`).cost).toBe(1 + 3 * 1);
  });

  it('takes a variable at its SDL default when validating, and at its value for a request', () => {
    const document = parse(
      `query($n: Int, $m: Int = 7) { a: transactions(userId: "1", first: $n) { edges { cursor } } b: transactions(userId: "1", first: $m) { edges { cursor } } }`,
    );
    const operation = document.definitions[0] as OperationDefinitionNode;
    const validation = measureOperations({ schema, document, limits }).operations.get(operation)!;
    expect(validation.cost).toBe(2 * (1 + 20 * 2));
    const request = (variables: Record<string, unknown>) =>
      measureOperations({ schema, document, limits, request: { operation, variables } }).operations.get(operation)!
        .cost;
    expect(request({ n: 1_000_000_000 })).toBe(1 + 1_000_000_000 * 2 + (1 + 7 * 2)); // $m at the operation's default
    expect(request({ n: null, m: 3 })).toBe(1 + 20 * 2 + (1 + 3 * 2));
  });

  it.each([
    [
      'the portfolio query written with fragments',
      `query { portfolio(userId: "1") { ...P } } fragment P on Portfolio { totalValueUsd holdings { ...H ...H } } fragment H on Holding { q: quantity @include(if: true) asset { ...A } } fragment A on Asset { id similar(k: 2) { asset { ...B } } } fragment B on Asset { s: symbol ...on Asset @skip(if: false) { name } }`,
    ],
    ['a fan-out of 6 levels', fragmentFanOut({ levels: 6 })],
    ['a chain of 12 fragments', fragmentChain({ length: 12 })],
    ["GraphiQL's introspection query", getIntrospectionQuery()],
  ])('measures %s as its fragments written out in place', (_name, source) => {
    const document = parse(source);
    expect(withoutWork(measure(document))).toEqual(withoutWork(measure(inlineFragments(document))));
  });

  it('counts every spread of a fragment: 2^24 paths cost 2^24 times, in 52 steps', () => {
    const m = measure(fragmentFanOut({ levels: 24 }));
    expect(m.cost).toBe(1 + 1 + 50 * 2 ** 24);
    expect(m.work).toBe(selectionCount(parse(fragmentFanOut({ levels: 24 }))));
    expect(m.work).toBe(52);
  });

  it('does work linear in the document: fan-out and chain', () => {
    for (const source of [
      fragmentFanOut({ levels: 24 }),
      fragmentChain({ length: 2_000 }),
      deepNesting({ levels: 200 }),
    ]) {
      const document = parse(source);
      const { work } = measure(document);
      // Each selection node is visited once: a fragment when it is first spread, never again.
      expect(work).toBeLessThanOrEqual(selectionCount(document));
      expect(work).toBeLessThanOrEqual(source.length / 10);
    }
    const chain = measure(fragmentChain({ length: 2_000 }));
    expect(chain.depth).toBe(4_000); // no stack overflow: the walk is iterative
  });

  it('does not double its work when the fan-out doubles its paths 4,096 times', () => {
    const small = parse(fragmentFanOut({ levels: 12 }));
    const large = parse(fragmentFanOut({ levels: 24 }));
    const workRatio = measure(large).work / measure(small).work;
    const sizeRatio = selectionCount(large) / selectionCount(small);
    expect(workRatio).toBeLessThanOrEqual(sizeRatio);
    expect(workRatio).toBeLessThan(2);
  });

  it('saturates instead of overflowing', () => {
    const m = measure(fragmentFanOut({ levels: 60 }));
    expect(m.cost).toBe(MEASURE_CEILING);
    expect(measure(deepNesting({ levels: 200 })).cost).toBe(MEASURE_CEILING);
    expect(measure(`{ transactions(userId: "1", first: ${'9'.repeat(400)}) { edges { cursor } } }`).cost).toBe(
      MEASURE_CEILING,
    );
  });

  it('ends on fragment cycles, which NoFragmentCyclesRule reports', () => {
    const m = measure(
      `{ portfolio(userId: "1") { ...A } } fragment A on Portfolio { totalValueUsd ...B } fragment B on Portfolio { userId ...A }`,
    );
    expect(m).toMatchObject({ depth: 2, rootFields: 1 });
  });

  it('measures each operation of a document, sharing the fragments', () => {
    const document = parse(
      `query One { ...Q } query Two { a: portfolio(userId: "1") { totalValueUsd } ...Q } fragment Q on Query { b: asset(id: "ETH") { id } }`,
    );
    const { operations, work } = measureOperations({ schema, document, limits });
    expect([...operations.values()].map((m) => [m.aliases, m.rootFields])).toEqual([
      [1, 1],
      [2, 2],
    ]);
    expect(work).toBe(selectionCount(document)); // Q walked once for both
  });
});
