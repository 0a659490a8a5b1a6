/** The hot-data store's contract, on Redis and on the in-process stand-in alike. */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { services } from '../test/services.ts';
import { deleteKeys } from '../test/stack.ts';
import { createEmbeddedHotStore, createServerHotStore, type HotStore } from './hot.ts';
import { noopObserver } from './observer.ts';

const prefix = `ys-test-hot-${randomBytes(4).toString('hex')}:`;
const stores: Array<[string, () => Promise<HotStore>]> = [
  ['embedded', async () => createEmbeddedHotStore({ observer: noopObserver })],
  [
    'redis',
    () => createServerHotStore({ url: services.redisUrl, keyPrefix: prefix, timeoutMs: 1_000, observer: noopObserver }),
  ],
];
afterAll(() => deleteKeys(services.redisUrl, prefix));

describe.each(stores)('hot store (%s)', (_, open) => {
  it('reads many keys in one call, null where absent; writes many; deletes', async () => {
    const store = await open();
    try {
      await store.mset([
        { key: 'k1', value: 'one' },
        { key: 'k2', value: 'two', ttlMs: 60_000 },
      ]);
      expect(await store.mget(['k1', 'nope', 'k2'])).toEqual(['one', null, 'two']);
      expect(await store.mget([])).toEqual([]);
      expect(await store.del(['k1', 'nope'])).toBe(1);
      expect(await store.mget(['k1'])).toEqual([null]);
      await store.ping();
    } finally {
      await store.close();
    }
  });

  it('expires keys after their TTL', async () => {
    const store = await open();
    try {
      await store.mset([{ key: 'short', value: 'x', ttlMs: 50 }]);
      expect(await store.mget(['short'])).toEqual(['x']);
      await new Promise((r) => setTimeout(r, 120));
      expect(await store.mget(['short'])).toEqual([null]);
    } finally {
      await store.close();
    }
  });

  it('never lets a refill (onlyIfAbsent) overwrite a newer value', async () => {
    const store = await open();
    try {
      await store.mset([{ key: 'price', value: 'new' }]);
      await store.mset([
        { key: 'price', value: 'old', onlyIfAbsent: true },
        { key: 'empty', value: 'filled', onlyIfAbsent: true, ttlMs: 60_000 },
      ]);
      expect(await store.mget(['price', 'empty'])).toEqual(['new', 'filled']);
    } finally {
      await store.close();
    }
  });
});
