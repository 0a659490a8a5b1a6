/** The rate limiter's contract, on Redis and in process alike: a budget per key, refused past it with a retry delay. */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { services } from '../test/services.ts';
import { deleteKeys } from '../test/stack.ts';
import { noopObserver } from './observer.ts';
import { createEmbeddedRateLimiter, createServerRateLimiter, type RateLimiter } from './rate-limiter.ts';

const prefix = `ys-test-rl-${randomBytes(4).toString('hex')}:`;
const budgets = {
  subject: { points: 3, durationSec: 60 },
  ip: { points: 5, durationSec: 60 },
  wide: { points: 200, durationSec: 60 },
};
let storeCalls = 0;
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
        observer: (tier, op) => {
          noopObserver(tier, op);
          storeCalls++;
        },
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

  it('admits exactly a wide budget from one instance while asking the store once per slice of it', async () => {
    const limiter = await open();
    try {
      const before = storeCalls;
      const key = `wide-${randomBytes(3).toString('hex')}`;
      const outcomes = await Promise.all(Array.from({ length: 250 }, () => limiter.consume('wide', key)));
      expect(outcomes.filter((o) => o.allowed).length).toBe(200);
      expect(outcomes.at(-1)!.retryAfterMs).toBeGreaterThan(0);
      // A twentieth of the budget per call, and nothing more once it is spent.
      if (limiter.kind === 'server') expect(storeCalls - before).toBeLessThanOrEqual(21);
    } finally {
      await limiter.close();
    }
  });

  it('never admits more than a wide budget shared by two instances', async () => {
    const [a, b] = [await open(), await open()];
    try {
      const key = `wide-shared-${randomBytes(3).toString('hex')}`;
      let allowed = 0;
      for (let i = 0; i < 300; i++) if ((await (i % 3 ? a : b).consume('wide', key)).allowed) allowed++;
      // Server: one budget for both, less at most the slice the other instance holds unspent.
      if (a.kind === 'server') {
        expect(allowed).toBeLessThanOrEqual(200);
        expect(allowed).toBeGreaterThanOrEqual(190);
      } else expect(allowed).toBe(300);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
