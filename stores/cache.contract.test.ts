/** The response cache store's contract, on Redis and on the in-process stand-in alike. */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteKeys } from '../test/stack.ts';
import { services } from '../test/services.ts';
import { createEmbeddedCacheStore, createServerCacheStore, type CacheStore } from './cache.ts';
import { noopObserver } from './observer.ts';

const prefix = `ys-test-cache-${randomBytes(4).toString('hex')}:`;
const stores: Array<[string, () => Promise<CacheStore>]> = [
  ['embedded', async () => createEmbeddedCacheStore({ observer: noopObserver })],
  [
    'redis',
    () =>
      createServerCacheStore({ url: services.redisUrl, keyPrefix: prefix, timeoutMs: 1_000, observer: noopObserver }),
  ],
];
afterAll(() => deleteKeys(services.redisUrl, prefix));

const entry = (body: string, maxAgeMs = 60_000) => ({ body, storedAt: Date.now(), maxAgeMs });

describe.each(stores)('cache store (%s)', (_, open) => {
  it('stores, evicts exactly the entries tagged with a changed entity, and counts what it holds', async () => {
    const store = await open();
    try {
      await store.set('a', entry('{"data":{"a":1}}'), ['Holdings:1', 'Price:ETH']);
      await store.set('b', entry('{"data":{"b":2}}'), ['Holdings:2']);
      await store.set('c', entry('{"data":{"c":3}}'), ['Price:ETH']);
      expect((await store.get('a'))!.body.toString()).toBe('{"data":{"a":1}}');
      const before = await store.usage();
      expect(before.entries).toBe(3);
      expect(before.bytes).toBeGreaterThan(3 * 16);

      expect(await store.evict(['Price:ETH'])).toBe(2);
      expect(await store.get('a')).toBeNull();
      expect(await store.get('c')).toBeNull();
      expect((await store.get('b'))!.body.toString()).toBe('{"data":{"b":2}}');
      const after = await store.usage();
      expect(after.entries).toBe(1);
      expect(after.bytes).toBeLessThan(before.bytes);
      // Evicting again, or a tag nobody read, removes nothing.
      expect(await store.evict(['Price:ETH', 'Asset:NONE'])).toBe(0);
    } finally {
      await store.evict(['Holdings:2']);
      await store.close();
    }
  });

  it('gives back the exact bytes of an answer stored as text or as bytes, colons and non-ASCII included', async () => {
    const store = await open();
    const text = '{"data":{"name":"Ünïcødé ✓ 12:30","emoji":"🦄"}}';
    try {
      await store.set('u1', entry(text), ['Asset:U']);
      await store.set('u2', { ...entry(''), body: Buffer.from(text) }, ['Asset:U']);
      for (const id of ['u1', 'u2']) {
        const found = (await store.get(id))!;
        expect(found.body.equals(Buffer.from(text, 'utf8'))).toBe(true);
        expect(found.maxAgeMs).toBe(60_000);
      }
    } finally {
      await store.evict(['Asset:U']);
      await store.close();
    }
  });

  it('replaces an entry stored again under the same key, and forgets entries past their max-age', async () => {
    const store = await open();
    try {
      await store.set('k', entry('old'), ['User:1']);
      await store.set('k', entry('newer'), ['User:1']);
      expect((await store.get('k'))!.body.toString()).toBe('newer');
      expect((await store.usage()).entries).toBe(1);
      await store.set('short', entry('x', 50), ['User:2']);
      await new Promise((r) => setTimeout(r, 120));
      expect(await store.get('short')).toBeNull();
      const usage = await store.usage();
      expect(usage.entries).toBe(1);
      expect(usage.expired).toBe(1);
    } finally {
      await store.evict(['User:1', 'User:2']);
      await store.close();
    }
  });
});
