/**
 * Validation of what the consistency checks are given, done once at the start of each call:
 * a bad value fails with INVALID_ARGUMENT naming the option and the value.
 */
import type { TableSpec } from '../../domain/tables.ts';
import { AppError } from '../../lib/errors.ts';
import type { ReplicatedTable } from './canonical-encoding.ts';

/** The table, if it has a replica; INVALID_ARGUMENT otherwise. */
export function replicated(table: TableSpec): ReplicatedTable {
  if (!table.replica) {
    throw new AppError({
      code: 'INVALID_ARGUMENT',
      message: `Table ${JSON.stringify(table.name)} has no ClickHouse replica to compare with`,
      details: { field: 'table', value: table.name },
    });
  }
  return table as ReplicatedTable;
}

/** An integer option within [min, max], or INVALID_ARGUMENT naming the option and the value. */
export function integerOption(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new AppError({
      code: 'INVALID_ARGUMENT',
      message: `Invalid ${name}: expected an integer from ${min} to ${max}, got ${JSON.stringify(value)}`,
      details: { field: name, value },
    });
  }
  return value;
}
