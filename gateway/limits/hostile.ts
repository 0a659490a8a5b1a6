/**
 * Generators of hostile GraphQL documents against our schema, shared by the limits' tests and
 * bench/limits.ts. Each is small to send and costly to analyse or to execute when a limit is
 * missing or walks fragments naively.
 */
import type { QueryLimitCode } from './query-limit-error.ts';

/** A hostile request: the document, the variables sent with it, and what refuses it. */
export interface HostileDocument {
  /** Short key, as in the bench's table ("fan-out", "chain"...). */
  readonly name: string;
  readonly description: string;
  readonly source: string;
  readonly variables?: Readonly<Record<string, unknown>>;
  /**
   * `rules`: the codes our validation rules report on it, parsed without the token cap and
   * without variables (empty: only its variables make it costly). `request`: the code a server
   * answers with (checkRequest: the token cap first, then validation, then the cost with the
   * variables).
   */
  readonly refusedBy: { readonly rules: readonly QueryLimitCode[]; readonly request: QueryLimitCode };
}

/**
 * `levels` fragments, each spreading the next twice, under a portfolio's holdings: 2^levels
 * paths through about 40 bytes per level (24 levels: the 1.3 KB document that blocked the old
 * depth rule for over 120 s).
 */
export function fragmentFanOut(options: { levels: number }): string {
  const { levels } = options;
  const parts = ['query FanOut { portfolio(userId: "1") { holdings { ...F0 } } }'];
  for (let i = 0; i < levels; i++) parts.push(`fragment F${i} on Holding { ...F${i + 1} ...F${i + 1} }`);
  parts.push(`fragment F${levels} on Holding { quantity }`);
  return parts.join('\n');
}

/**
 * `length` fragments, each nesting `similar { asset { ... } }` around a spread of the next: a
 * selection 2 x length fields deep that no single fragment shows, and a spread chain as long
 * as the document (the recursion of naive analysers grows with it).
 */
export function fragmentChain(options: { length: number }): string {
  const { length } = options;
  const parts = ['query Chain { asset(id: "ETH") { ...C0 } }'];
  for (let i = 0; i < length - 1; i++)
    parts.push(`fragment C${i} on Asset { similar(k: 1) { asset { ...C${i + 1} } } }`);
  parts.push(`fragment C${length - 1} on Asset { id }`);
  return parts.join('\n');
}

/** `count` aliases of an expensive root field (5,000 of them ran for 40 s and took 2 GB). */
export function aliasFlood(options: { count: number }): string {
  const fields = Array.from({ length: options.count }, (_, i) => `a${i}: portfolio(userId: "1") { totalValueUsd }`);
  return `query Aliases { ${fields.join(' ')} }`;
}

/** `count` directives on one field. */
export function directiveFlood(options: { count: number }): string {
  return `query Directives { portfolio(userId: "1") { totalValueUsd ${'@include(if: true) '.repeat(options.count)}} }`;
}

/** A selection `levels` fields deep: similarAssets { asset { similar { asset { ... { id } } } } }. */
export function deepNesting(options: { levels: number }): string {
  const { levels } = options;
  let open = 'similarAssets(assetId: "ETH") {';
  for (let level = 2; level < levels; level++) open += level % 2 === 0 ? ' asset {' : ' similar {';
  // The innermost selection is on an Asset (after `asset`) or a SimilarAsset (after `similar`).
  const leaf = levels % 2 === 1 ? 'id' : 'score';
  return `query Deep { ${open} ${leaf}${' }'.repeat(levels - 1)} }`;
}

/** One page of a billion transactions. */
export function hugePage(options: { first: number }): string {
  return `query HugePage { transactions(userId: "1", first: ${options.first}) { edges { node { id valueUsd } } } }`;
}

/**
 * A price subscription over about `bytes` of asset ids, sent as variables: the document is tiny,
 * the variables object is not.
 */
export function hugeVariables(options: { bytes: number }): { source: string; variables: { ids: string[] } } {
  const ids: string[] = [];
  let size = 0;
  for (let i = 0; size < options.bytes; i++) {
    const id = `ASSET-${String(i).padStart(8, '0')}`;
    ids.push(id);
    size += id.length + 3; // the quotes and the comma of its JSON
  }
  return {
    source: 'subscription Prices($ids: [ID!]!) { priceUpdated(assetIds: $ids) { price asset { symbol } } }',
    variables: { ids },
  };
}

/** The hostile documents of the brief, (a) to (g), at their full size. */
export function hostileDocuments(): HostileDocument[] {
  const variables = hugeVariables({ bytes: 1024 * 1024 });
  return [
    {
      name: 'fan-out',
      description: '(a) 24 fragments each spreading the next twice (2^24 paths)',
      source: fragmentFanOut({ levels: 24 }),
      refusedBy: { rules: ['QUERY_TOO_COSTLY'], request: 'QUERY_TOO_COSTLY' },
    },
    {
      name: 'chain',
      description: '(b) a chain of 2,000 fragments, each nesting the next 2 levels deeper',
      source: fragmentChain({ length: 2_000 }),
      refusedBy: { rules: ['QUERY_TOO_DEEP'], request: 'TOO_MANY_TOKENS' },
    },
    {
      name: 'aliases',
      description: '(c) 5,000 aliases of portfolio { totalValueUsd }',
      source: aliasFlood({ count: 5_000 }),
      refusedBy: { rules: ['TOO_MANY_ALIASES', 'TOO_MANY_ROOT_FIELDS'], request: 'TOO_MANY_TOKENS' },
    },
    {
      name: 'directives',
      description: '(d) 10,000 @include(if: true) on one field',
      source: directiveFlood({ count: 10_000 }),
      refusedBy: { rules: ['TOO_MANY_DIRECTIVES'], request: 'TOO_MANY_TOKENS' },
    },
    {
      name: 'deep',
      description: '(e) similarAssets { asset { similar { asset ... 200 levels',
      source: deepNesting({ levels: 200 }),
      refusedBy: { rules: ['QUERY_TOO_DEEP', 'QUERY_TOO_COSTLY'], request: 'QUERY_TOO_DEEP' },
    },
    {
      name: 'huge-first',
      description: '(f) transactions(first: 1000000000)',
      source: hugePage({ first: 1_000_000_000 }),
      refusedBy: { rules: ['QUERY_TOO_COSTLY'], request: 'QUERY_TOO_COSTLY' },
    },
    {
      name: 'huge-variables',
      description: `(g) a 1 MB variables object (${variables.variables.ids.length.toLocaleString('en')} asset ids)`,
      source: variables.source,
      variables: variables.variables,
      refusedBy: { rules: [], request: 'QUERY_TOO_COSTLY' },
    },
  ];
}
