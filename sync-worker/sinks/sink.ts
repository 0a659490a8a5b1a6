/**
 * A sink takes batches of captured changes into one tier. Every sink is idempotent: a batch
 * applied again (after a crash, before the claim committed) converges to the same state, and
 * a row's changes always arrive in sequence order (the claim guarantees it).
 */
import type { Change } from '../../changelog/change.ts';

/** One tier's side of the sync. */
export interface Sink {
  /** For logs and stats. */
  readonly name: string;
  /** Applies a batch; throws TIER_UNAVAILABLE when the tier cannot be reached. */
  apply(changes: readonly Change[]): Promise<void>;
}
