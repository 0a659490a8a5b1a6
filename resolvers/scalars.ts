/** Custom scalars: Decimal (exact, a string on the wire) and DateTime (ISO-8601 UTC). */
import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';
import { isDecimalString } from '../lib/decimal.ts';

function invalid(message: string, code: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code } });
}

/** Strips the trailing zeros databases pad decimals with ("1.500000000000000000" -> "1.5"). */
function canonical(value: string): string {
  if (!value.includes('.')) return value;
  const trimmed = value.replace(/\.?0+$/, '');
  return trimmed === '-0' ? '0' : trimmed;
}

function parseDecimalInput(value: unknown): string {
  // Numbers are refused on purpose: a JSON number may already have lost precision in transit.
  if (typeof value !== 'string' || !isDecimalString(value)) {
    throw invalid(
      `Decimal must be a string such as "12.5" with at most 18 decimal places, got ${JSON.stringify(value)}`,
      'INVALID_DECIMAL',
    );
  }
  return canonical(value);
}

/** Exact decimals, strings on the wire. */
export const DecimalScalar = new GraphQLScalarType<string, string>({
  name: 'Decimal',
  serialize: (value) => canonical(String(value)),
  parseValue: parseDecimalInput,
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING) throw invalid('Decimal literals must be strings such as "12.5"', 'INVALID_DECIMAL');
    return parseDecimalInput(ast.value);
  },
});

function parseDateInput(value: unknown): Date {
  const date = typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value) ? new Date(value) : null;
  if (!date || Number.isNaN(date.getTime())) {
    throw invalid(
      `DateTime must be an ISO-8601 string such as "2026-11-25T12:00:00Z", got ${JSON.stringify(value)}`,
      'INVALID_ARGUMENT',
    );
  }
  return date;
}

/** Instants, ISO-8601 strings in UTC on the wire. */
export const DateTimeScalar = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  serialize: (value) => (value instanceof Date ? value.toISOString() : new Date(String(value)).toISOString()),
  parseValue: parseDateInput,
  parseLiteral: (ast) => parseDateInput(ast.kind === Kind.STRING ? ast.value : undefined),
});
