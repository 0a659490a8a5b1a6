/**
 * The re-check that keeps live CDC from showing up as drift. A diff reads Postgres and
 * ClickHouse at slightly different instants, and the worker applies a change tens of
 * milliseconds after its commit, so a key can differ only because its change is in flight.
 *
 * Rule, per candidate key, in rounds until nothing is in flight or `timeoutMs` has passed:
 * 1. Postgres: the row's hash, and whether the change log holds an unprocessed, not
 *    dead-lettered change for it, and its last sequence, in one statement (one snapshot).
 * 2. ClickHouse: the live row's hash.
 * 3. Postgres again, for keys that differ: the last sequence and in-flight flag.
 * A key is in flight (wait, look again next round) if step 1 saw a pending change, or if its
 * last sequence moved between steps 1 and 3: a change committed meanwhile and may already be
 * in ClickHouse but not in what step 1 read. A key with no pending change whose sequence did
 * not move has its final answer: the worker marks a change processed only after ClickHouse
 * has it (sync-worker/processor.ts), so ClickHouse must by then equal Postgres at step 1.
 * Equal keys are dropped; differing ones are reported. A dead-lettered change is not in
 * flight: the worker gave up on it, and the replica will stay wrong until someone acts.
 * Keys still in flight at the deadline are reported by their last observation and listed as
 * `unsettled`.
 */
import type { CanonicalEncoding, ReplicatedTable } from './canonical-encoding.ts';
import { changeLogStates, clickhouseKeyHashes, postgresKeyStates } from './key-states.ts';
import type { MeteredTiers } from './meter-tiers.ts';

/** The drift that remains after the re-check. */
export interface SettledKeys {
  /** In Postgres, not (live) in ClickHouse. */
  readonly missing: string[];
  /** Live in ClickHouse, not in Postgres. */
  readonly extra: string[];
  /** In both, with different encodings. */
  readonly different: string[];
  /** Keys still in flight when the wait ran out; each is also in one of the lists above. */
  readonly unsettled: string[];
  /** Rounds of reads (1 when nothing was in flight). */
  readonly rounds: number;
  /** Key comparisons made (a key looked at in three rounds counts three times). */
  readonly comparisons: number;
}

/** Re-checks candidate keys until each settles (see the file comment for the rule). */
export async function settleKeys(
  tiers: MeteredTiers,
  options: {
    table: ReplicatedTable;
    encoding: CanonicalEncoding;
    keys: readonly string[];
    timeoutMs: number;
    pollIntervalMs: number;
  },
): Promise<SettledKeys> {
  const { table, encoding } = options;
  const result = {
    missing: [] as string[],
    extra: [] as string[],
    different: [] as string[],
    unsettled: [] as string[],
  };
  const deadline = Date.now() + options.timeoutMs;
  let pending = [...new Set(options.keys)];
  let rounds = 0;
  let comparisons = 0;
  const report = (key: string, pg: string | null, ch: string | undefined) => {
    if (pg === null) result.extra.push(key);
    else if (ch === undefined) result.missing.push(key);
    else result.different.push(key);
  };
  while (pending.length > 0) {
    rounds++;
    comparisons += pending.length;
    const pg = await postgresKeyStates(tiers, { table, encoding, keys: pending });
    const ch = await clickhouseKeyHashes(tiers, { table, encoding, keys: pending });
    const differing = pending.filter((k) => !pg.get(k)!.inFlight && pg.get(k)!.hash !== (ch.get(k) ?? null));
    const again = differing.length > 0 ? await changeLogStates(tiers, { table, keys: differing }) : new Map();
    const inFlight: string[] = [];
    for (const key of pending) {
      const first = pg.get(key)!;
      const chHash = ch.get(key);
      if (first.hash === (chHash ?? null) && !first.inFlight) continue;
      const second = again.get(key);
      const moved = first.inFlight || second === undefined || second.inFlight || second.lastSeq !== first.lastSeq;
      if (!moved) report(key, first.hash, chHash);
      else if (first.hash !== (chHash ?? null)) inFlight.push(key);
      // else: in flight but equal right now; the change will land on an equal row or make it equal.
    }
    pending = inFlight;
    if (pending.length === 0) break;
    if (Date.now() + options.pollIntervalMs > deadline) {
      // Out of time: report by the last look, and say which keys never settled.
      for (const key of pending) report(key, pg.get(key)!.hash, ch.get(key));
      result.unsettled.push(...pending);
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollIntervalMs));
  }
  return { ...result, rounds, comparisons };
}
