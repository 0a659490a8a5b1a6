import { describe, expect, it } from 'vitest';
import { AppError } from './errors.ts';
import { backoffDelayMs, retry, type RetryPolicy } from './retry.ts';

const fast: RetryPolicy = { maxAttempts: 4, initialDelayMs: 1, maxDelayMs: 4, factor: 2 };

describe('retry', () => {
  it('retries transient failures until success', async () => {
    let calls = 0;
    const result = await retry(
      async () => {
        if (++calls < 3) throw new AppError({ code: 'TIER_UNAVAILABLE', message: 'down', retriable: true });
        return 'ok';
      },
      { policy: fast },
    );
    expect(result).toBe('ok');
    expect(calls).toBe(3);
  });

  it('never retries programmer errors or non-retriable AppErrors', async () => {
    for (const error of [new TypeError('bug'), new AppError({ code: 'INVALID_ID', message: 'bad' })]) {
      let calls = 0;
      await expect(
        retry(
          async () => {
            calls++;
            throw error;
          },
          { policy: fast },
        ),
      ).rejects.toBe(error);
      expect(calls).toBe(1);
    }
  });

  it('gives up after maxAttempts with the last error', async () => {
    let calls = 0;
    await expect(
      retry(
        async () => {
          throw new Error(`fail ${++calls}`);
        },
        { policy: fast },
      ),
    ).rejects.toThrow('fail 4');
  });

  it('caps the exponential delay', () => {
    expect(backoffDelayMs(fast, 10, () => 1)).toBe(4);
    expect(backoffDelayMs(fast, 2, () => 1)).toBe(2);
    expect(backoffDelayMs(fast, 2, () => 0)).toBe(0);
  });
});
