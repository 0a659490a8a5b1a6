import { describe, expect, it } from 'vitest';
import { createTokenCache } from './token-cache.ts';
import type { UserViewer } from '../../lib/viewer.ts';

const viewer = (userId: string, expiresAt = 1_000): UserViewer => ({ kind: 'user', userId, role: 'user', expiresAt });

describe('createTokenCache', () => {
  it('evicts the least recently used token first', () => {
    const cache = createTokenCache({ maxEntries: 2, clockToleranceSec: 0 });
    cache.set('a', viewer('1'));
    cache.set('b', viewer('2'));
    expect(cache.get('a', 0)?.userId).toBe('1');
    cache.set('c', viewer('3'));
    expect(cache.get('b', 0)).toBeUndefined();
    expect(cache.get('a', 0)?.userId).toBe('1');
    expect(cache.get('c', 0)?.userId).toBe('3');
    expect(cache.size).toBe(2);
  });

  it('drops an entry once now minus the tolerance reaches exp, where jose refuses the token', () => {
    const cache = createTokenCache({ maxEntries: 10, clockToleranceSec: 5 });
    cache.set('t', viewer('1', 1_000));
    expect(cache.get('t', 1_004)).toBeDefined();
    expect(cache.get('t', 1_005)).toBeUndefined();
    expect(cache.size).toBe(0);
  });
});
