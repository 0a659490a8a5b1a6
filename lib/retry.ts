/**
 * The one retry helper: exponential backoff with full jitter and a cap.
 * Every connection and sink retries through it so the policy is tuned in one place.
 */
import { isRetriable } from './errors.ts';

/** Retry policy; all durations in milliseconds. */
export interface RetryPolicy {
  /** Attempts in total, the first included. */
  readonly maxAttempts: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  /** Multiplier applied to the delay after each failure. */
  readonly factor: number;
}

/** The policy used when a caller names none. */
export const defaultRetryPolicy: RetryPolicy = {
  maxAttempts: 5,
  initialDelayMs: 50,
  maxDelayMs: 2_000,
  factor: 2,
};

/** Delay before attempt `attempt + 1` (attempt counts from 1): full jitter, capped. */
export function backoffDelayMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.factor ** (attempt - 1));
  return Math.round(ceiling * random());
}

/**
 * Runs `fn` until it succeeds, the error is not retriable, or attempts run out.
 * The last error is rethrown unchanged so callers see the real cause.
 */
export async function retry<T>(
  fn: (attempt: number) => Promise<T>,
  options: {
    policy?: RetryPolicy;
    onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
    signal?: AbortSignal;
  } = {},
): Promise<T> {
  const policy = options.policy ?? defaultRetryPolicy;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt >= policy.maxAttempts || !isRetriable(error) || options.signal?.aborted) throw error;
      const delayMs = backoffDelayMs(policy, attempt);
      options.onRetry?.(error, attempt, delayMs);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}
