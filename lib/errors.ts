/**
 * Typed errors. Every error that may reach a client carries a stable `code`;
 * the gateway's error plugin turns them into GraphQL errors once, at the edge,
 * and masks anything that is not an AppError.
 */

/** Stable error codes, part of the public API (clients switch on them). */
export type ErrorCode =
  | 'BAD_USER_INPUT'
  | 'BAD_REQUEST'
  | 'INVALID_ID'
  | 'INVALID_DECIMAL'
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'RATE_LIMITED'
  | 'QUERY_TOO_DEEP'
  | 'QUERY_TOO_COSTLY'
  | 'TOO_MANY_ALIASES'
  | 'TOO_MANY_ROOT_FIELDS'
  | 'TOO_MANY_DIRECTIVES'
  | 'TOO_MANY_TOKENS'
  | 'TOO_MANY_OPERATIONS'
  | 'PERSISTED_QUERY_NOT_FOUND'
  | 'PERSISTED_QUERY_NOT_ALLOWED'
  | 'TIMEOUT'
  | 'TIER_UNAVAILABLE'
  | 'SLOW_CONSUMER'
  | 'CONFIG_INVALID'
  | 'INTERNAL';

/** An error we raised on purpose: safe to show to clients (its message is written for them). */
export class AppError extends Error {
  readonly code: ErrorCode;
  /** Whether trying the same operation again may succeed (network blips, timeouts). */
  readonly retriable: boolean;
  /** Extra machine-readable fields for `extensions` (the argument name, the bad value...). */
  readonly details: Record<string, unknown> | undefined;

  constructor(args: {
    code: ErrorCode;
    message: string;
    retriable?: boolean;
    cause?: unknown;
    details?: Record<string, unknown>;
  }) {
    super(args.message, { cause: args.cause });
    this.name = 'AppError';
    this.code = args.code;
    this.retriable = args.retriable ?? false;
    this.details = args.details;
  }
}

/** Bad client input: a clear message naming the argument, never retriable. */
export function badInput(code: ErrorCode, message: string, details?: Record<string, unknown>): AppError {
  return new AppError({ code, message, details });
}

/** A tier could not be reached or answered with a transient failure. */
export function tierUnavailable(tier: string, cause: unknown): AppError {
  return new AppError({
    code: 'TIER_UNAVAILABLE',
    message: `The ${tier} tier is unavailable`,
    retriable: true,
    cause,
  });
}

/** Whether an error is worth retrying: AppErrors say so; unknown errors are assumed transient I/O. */
export function isRetriable(error: unknown): boolean {
  if (error instanceof AppError) return error.retriable;
  // Programmer errors are never retried (kafkajs's rule): they fail the same way every time.
  return !(error instanceof TypeError || error instanceof RangeError || error instanceof SyntaxError);
}
