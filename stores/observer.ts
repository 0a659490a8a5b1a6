/** Statement instrumentation shared by every tier: counts what each tier was asked to do. */

export type TierName = 'postgres' | 'clickhouse' | 'redis' | 'vector' | 'bus' | 'cache';

/** Called once per statement sent to a tier (one SQL statement, one Redis command, one search batch). */
export type StatementObserver = (tier: TierName, statement: string) => void;

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
