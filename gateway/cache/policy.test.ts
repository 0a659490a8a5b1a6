import { makeExecutableSchema } from '@graphql-tools/schema';
import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { loadTypeDefs } from '../../schema/index.ts';
import { createPolicyReader } from './policy.ts';

const product = createPolicyReader(makeExecutableSchema({ typeDefs: loadTypeDefs() }));

/** A small schema for the rules themselves. */
const rules = createPolicyReader(
  makeExecutableSchema({
    typeDefs: `
      directive @cacheControl(maxAge: Int, scope: CacheControlScope, inheritMaxAge: Boolean) on FIELD_DEFINITION | OBJECT | INTERFACE | UNION
      enum CacheControlScope { PUBLIC PRIVATE }
      type Query {
        a: A @cacheControl(maxAge: 100)
        b: B
        count: Int
        hinted: Int @cacheControl(maxAge: 30)
      }
      type A { x: Int  short: Int @cacheControl(maxAge: 10)  b: B  c: C  secret: String @cacheControl(scope: PRIVATE) }
      type B @cacheControl(maxAge: 50) { y: Int }
      type C @cacheControl(inheritMaxAge: true) { z: Int }
      type Mutation { m: Int }
    `,
  }),
);
const policy = (reader: typeof rules, query: string, name?: string) => reader.policyOf(parse(query), name);

describe('cache policy from @cacheControl hints', () => {
  it('takes the shortest max-age among the selected fields', () => {
    expect(policy(rules, `{ a { x } }`)).toEqual({ maxAgeMs: 100_000, scope: 'PUBLIC' });
    expect(policy(rules, `{ a { x short } }`)).toEqual({ maxAgeMs: 10_000, scope: 'PUBLIC' });
    expect(policy(rules, `{ a { b { y } } }`)).toEqual({ maxAgeMs: 50_000, scope: 'PUBLIC' });
  });

  it('lets leaves and inheritMaxAge types inherit, and makes unhinted root fields uncacheable', () => {
    expect(policy(rules, `{ a { c { z } } }`)!.maxAgeMs).toBe(100_000);
    expect(policy(rules, `{ count }`)!.maxAgeMs).toBe(0);
    expect(policy(rules, `{ hinted }`)!.maxAgeMs).toBe(30_000);
    expect(policy(rules, `{ a { x } count }`)!.maxAgeMs).toBe(0);
  });

  it('is private when any selected field is', () => {
    expect(policy(rules, `{ a { secret } }`)).toEqual({ maxAgeMs: 100_000, scope: 'PRIVATE' });
  });

  it('follows fragments, inline fragments and the named operation', () => {
    expect(policy(rules, `query Q { a { ...F } } fragment F on A { short }`)!.maxAgeMs).toBe(10_000);
    expect(policy(rules, `{ a { ... on A { secret } } }`)!.scope).toBe('PRIVATE');
    const doc = `query One { a { x } } query Two { a { short } }`;
    expect(policy(rules, doc, 'Two')!.maxAgeMs).toBe(10_000);
    expect(policy(rules, doc)).toBeUndefined();
  });

  it('refuses what is not a valid query: mutations, unknown fields, introspection is uncached', () => {
    expect(policy(rules, `mutation { m }`)).toBeUndefined();
    expect(policy(rules, `{ a { nope } }`)).toBeUndefined();
    expect(policy(rules, `{ __schema { types { name } } }`)!.maxAgeMs).toBe(0);
    expect(rules.forQuery('{ a { ', undefined)).toBeUndefined();
    expect(policy(rules, `{ a { __typename x } }`)!.maxAgeMs).toBe(100_000);
  });

  it('gives the product schema its documented policies', () => {
    const portfolio = `query($u: ID!) { portfolio(userId: $u) { totalValueUsd holdings { quantity asset { symbol latestPrice similar { score } } protocol { name } } } }`;
    expect(product.forQuery(portfolio, undefined)).toEqual({ maxAgeMs: 60_000, scope: 'PRIVATE' });
    expect(product.forQuery(`{ asset(id: "ETH") { name } }`, undefined)).toEqual({
      maxAgeMs: 300_000,
      scope: 'PUBLIC',
    });
    expect(
      product.forQuery(
        `{ user(handle: "demo") { handle transactions { edges { cursor node { amount } } pageInfo { hasNextPage } } } }`,
        undefined,
      ),
    ).toEqual({
      maxAgeMs: 300_000,
      scope: 'PRIVATE',
    });
    expect(product.forQuery(`{ cdcStats { pending } }`, undefined)!.maxAgeMs).toBe(0);
    expect(product.forQuery(`{ cacheStats { hits } }`, undefined)!.maxAgeMs).toBe(0);
  });
});
