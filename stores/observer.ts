/** Statement instrumentation shared by every tier: counts what each tier was asked to do. */
import { tierUnavailable } from '../lib/errors.ts';
import { inSpan } from '../lib/tracing.ts';

/** The tiers statements are counted for. */
export type TierName = 'postgres' | 'clickhouse' | 'redis' | 'vector' | 'bus' | 'cache' | 'ratelimit';

/** Called once per statement sent to a tier (one SQL statement, one Redis command, one search batch). */
export type StatementObserver = (tier: TierName, statement: string) => void;

/** An observer that counts nothing. */
export const noopObserver: StatementObserver = () => {};

/** Collects statements per tier: the batching tests and the bench read it. */
export function createStatementCounter() {
  const statements: Array<{ tier: TierName; statement: string }> = [];
  return {
    observer: ((tier, statement) => void statements.push({ tier, statement })) satisfies StatementObserver,
    count(tier: TierName): number {
      return statements.filter((s) => s.tier === tier).length;
    },
    list(tier: TierName): string[] {
      return statements.filter((s) => s.tier === tier).map((s) => s.statement);
    },
    reset(): void {
      statements.length = 0;
    },
  };
}

/**
 * Runs one statement of a server tier: counted by the observer, and any failure reported as
 * TIER_UNAVAILABLE of `tier`, so callers fall back or retry without knowing the client.
 */
export function statementRunner(observer: StatementObserver, counted: TierName, tier: string) {
  return <T>(statement: string, fn: () => Promise<T>): Promise<T> => {
    observer(counted, statement);
    return inSpan(`${tier} ${statement}`, { 'db.system': tier, 'db.operation': statement }, async () => {
      try {
        return await fn();
      } catch (error) {
        throw tierUnavailable(tier, error);
      }
    });
  };
}
