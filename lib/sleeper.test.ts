import { describe, expect, it } from 'vitest';
import { createSleeper } from './sleeper.ts';

/** How a sleep of 10 s ended: woken at once, or still asleep after 50 ms. */
async function outcome(sleep: Promise<void>): Promise<'woken' | 'asleep'> {
  return Promise.race([
    sleep.then(() => 'woken' as const),
    new Promise<'asleep'>((resolve) => setTimeout(() => resolve('asleep'), 50)),
  ]);
}

describe('a sleeper', () => {
  it('is woken by any wake-up while wakeable, and only by an urgent one during a back-off', async () => {
    const s = createSleeper();
    const plain = s.sleep(10_000);
    s.wake();
    expect(await outcome(plain)).toBe('woken');
    const backOff = s.sleep(10_000, false);
    s.wake();
    expect(await outcome(backOff)).toBe('asleep');
    s.wake(true);
    expect(await outcome(backOff)).toBe('woken');
  });

  it('remembers a wake-up that came while nothing slept, for the next sleep it would end', async () => {
    const s = createSleeper();
    s.wake();
    // An ordinary one does not cut a back-off, and is kept for the next ordinary sleep.
    const backOff = s.sleep(10_000, false);
    expect(await outcome(backOff)).toBe('asleep');
    s.wake(true);
    await backOff;
    expect(await outcome(s.sleep(10_000))).toBe('woken');
    expect(await outcome(s.sleep(10_000))).toBe('asleep');
  });

  it('remembers an urgent wake-up (stop) for the back-off that follows a failed batch', async () => {
    const s = createSleeper();
    s.wake(true);
    expect(await outcome(s.sleep(10_000, false))).toBe('woken');
  });
});
