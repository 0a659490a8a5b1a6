/**
 * Verified tokens, so a repeated token costs a Map lookup instead of a signature check. Only
 * tokens that passed every check are stored; their one time-dependent check left (`exp`) is
 * repeated on every hit, with the verifier's own rule and tolerance, so a hit answers exactly
 * what a fresh verification would. (`nbf` needs no repeating: once valid, it stays valid.)
 */
import type { UserViewer } from '../../lib/viewer.ts';

/** A bounded, least-recently-used map from a raw Authorization value (`Bearer <jwt>`) to its verified viewer. */
export interface TokenCache {
  /** The viewer of a credential verified before and not expired at `nowSec`; an expired entry is dropped. */
  get(key: string, nowSec: number): UserViewer | undefined;
  set(key: string, viewer: UserViewer): void;
  readonly size: number;
}

/** Creates an empty cache holding at most `maxEntries` tokens. */
export function createTokenCache(options: { maxEntries: number; clockToleranceSec: number }): TokenCache {
  const { maxEntries, clockToleranceSec } = options;
  // Keyed by the credential itself, not a digest of it: a SHA-256 would cost more than the
  // lookup it keys. The map lives in this process only, beside the requests that carry the same tokens.
  // A Map iterates in insertion order, so re-inserting on a hit keeps the least recently used first.
  const entries = new Map<string, UserViewer>();
  return {
    get(key, nowSec) {
      const viewer = entries.get(key);
      if (viewer === undefined) return undefined;
      entries.delete(key);
      // jose's rule (expired when exp <= now - tolerance), so cached and fresh answers agree.
      if (viewer.expiresAt <= nowSec - clockToleranceSec) return undefined;
      entries.set(key, viewer);
      return viewer;
    },
    set(key, viewer) {
      entries.delete(key);
      entries.set(key, viewer);
      if (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
    },
    get size() {
      return entries.size;
    },
  };
}
