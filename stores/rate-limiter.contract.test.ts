/** The rate limiter's contract, on Redis and in process alike: a budget per key, refused past it with a retry delay. */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { services } from '../test/services.ts';
import { deleteKeys } from '../test/stack.ts';
import { noopObserver } from './observer.ts';
import { createEmbeddedRateLimiter, createServerRateLimiter, type RateLimiter } from './rate-limiter.ts';

const prefix = `ys-test-rl-${randomBytes(4).toString('hex')}:`;
const budgets = { subject: { points: 3, durationSec: 60 }, ip: { points: 5, durationSec: 60 } };
const limiters: Array<[string, () => Promise<RateLimiter>]> = [
  ['embedded', async () => createEmbeddedRateLimiter({ budgets })],
  [
    'redis',
    () =>
      createServerRateLimiter({
        url: services.redisUrl,
        keyPrefix: prefix,
        timeoutMs: 1_000,
        budgets,
        observer: noopObserver,
      }),
  ],
];
afterAll(() => deleteKeys(services.redisUrl, prefix));

describe.each(limiters)('rate limiter (%s)', (_, open) => {
  it('allows a budget per key, then refuses with the time until it refills; keys and budgets are independent', async () => {
    const limiter = await open();
    try {
      const results = [];
      for (let i = 0; i < 4; i++) results.push(await limiter.consume('subject', 'u1'));
      expect(results.map((r) => r.allowed)).toEqual([true, true, true, false]);
      expect(results[3]!.retryAfterMs).toBeGreaterThan(0);
      expect(results[3]!.retryAfterMs).toBeLessThanOrEqual(60_000);
      expect((await limiter.consume('subject', 'u2')).allowed).toBe(true);
      expect((await limiter.consume('ip', 'u1')).allowed).toBe(true);
    } finally {
      await limiter.close();
    }
  });

  it('shares a budget between two limiters of the same store (two gateway instances) when the store is shared', async () => {
    const [a, b] = [await open(), await open()];
    try {
      const key = `shared-${randomBytes(3).toString('hex')}`;
      const outcomes = [];
      for (let i = 0; i < 6; i++) outcomes.push((await (i % 2 ? a : b).consume('subject', key)).allowed);
      // Redis is one budget for both; two in-process limiters are two budgets (one per process).
      expect(outcomes.filter(Boolean).length).toBe(a.kind === 'server' ? 3 : 6);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
