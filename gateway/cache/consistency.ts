/**
 * Read-your-writes across tiers. A mutation's response carries a consistency token: the change
 * sequence its transaction produced. A request that sends the token back waits here until
 * that change has reached every tier, then reads through the response cache.
 *
 * "Reached every tier": the sync worker publishes a change on the bus only after ClickHouse
 * and Redis took it, and the gateway evicts the cached responses it touched before it calls
 * `observe` (see app.ts); so an observed sequence is applied everywhere. The change log is
 * the fallback for sequences this instance did not see (too long ago, or before it started):
 * `processed` is set once every sink took the change, and a pruned change was processed.
 */
import { isApplied } from '../../changelog/sequences.ts';
import type { Postgres } from '../../stores/postgres.ts';

/** What waiting for a consistency token gave. */
export interface ConsistencyResult {
  readonly applied: boolean;
  readonly waitedMs: number;
}

/** Sequences remembered as seen, for tokens that arrive after their event. */
const SEEN = 100_000;
/** How often the change log is asked while waiting (events usually answer first). */
const POLL_MS = 25;

/** Creates the gate; `observe` is fed by the event hub. */
export function createConsistencyGate(options: { postgres: Postgres }) {
  const seen = new Set<string>();
  const waiters = new Map<string, Set<() => void>>();

  return {
    /** A change event reached this instance and its evictions are done. */
    observe(sequence: string): void {
      seen.add(sequence);
      if (seen.size > SEEN) seen.delete(seen.values().next().value as string);
      const waiting = waiters.get(sequence);
      if (!waiting) return;
      waiters.delete(sequence);
      for (const wake of waiting) wake();
    },

    /** Waits at most `timeoutMs` for `sequence` to be applied everywhere. */
    async waitFor(token: bigint, timeoutMs: number): Promise<ConsistencyResult> {
      const sequence = token.toString();
      const started = performance.now();
      const done = (applied: boolean): ConsistencyResult => ({
        applied,
        waitedMs: Math.round(performance.now() - started),
      });
      if (seen.has(sequence)) return done(true);
      let wake!: () => void;
      const observed = new Promise<void>((resolve) => (wake = resolve));
      let set = waiters.get(sequence);
      if (!set) waiters.set(sequence, (set = new Set()));
      set.add(wake);
      try {
        const deadline = started + timeoutMs;
        for (;;) {
          if (await isApplied(options.postgres, token)) return done(true);
          const left = deadline - performance.now();
          if (left <= 0) return done(false);
          let timer: NodeJS.Timeout | undefined;
          const tick = new Promise<'tick'>(
            (resolve) => (timer = setTimeout(() => resolve('tick'), Math.min(POLL_MS, left))),
          );
          const outcome = await Promise.race([observed.then(() => 'seen' as const), tick]);
          clearTimeout(timer);
          if (outcome === 'seen') return done(true);
        }
      } finally {
        set.delete(wake);
        if (set.size === 0 && waiters.get(sequence) === set) waiters.delete(sequence);
      }
    },
  };
}

/** The gate's interface. */
export type ConsistencyGate = ReturnType<typeof createConsistencyGate>;
