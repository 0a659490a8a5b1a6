/** A captured change as the worker handles it. */
import type { ChangeEvent, RowDoc } from '../domain/events.ts';

/** What a change did to its row. */
export type Operation = ChangeEvent['operation'];

/** A captured change as the worker handles it. */
export interface Change {
  readonly id: string;
  /** Position in the change log; per row, the order of commits. Carried as a string (bigint). */
  readonly seq: string;
  readonly table: string;
  readonly operation: Operation;
  readonly rowKey: string;
  readonly before: RowDoc | null;
  readonly after: RowDoc | null;
  /** Time of the writing transaction (Postgres now()). */
  readonly timestamp: Date;
  readonly transactionId: string;
  readonly retryCount: number;
}

/** The row as it is after the change, or as it was before a delete. */
export const current = (c: Change): RowDoc => (c.after ?? c.before)!;
