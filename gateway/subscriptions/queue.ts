/**
 * A bounded queue per subscription, read as an async iterator. The event hub pushes without
 * ever waiting, so a client that stops reading holds up neither other clients nor the Kafka
 * consumer; what happens when its queue is full depends on the subscription type:
 * - `coalesce`: an event replaces the queued one with the same key (newest state wins); a new
 *   key in a full queue drops the oldest. For state: prices, holdings.
 * - `close`: the subscription ends with a SLOW_CONSUMER error. For logs that must not have
 *   holes, such as transactions: the client reconnects and pages the history.
 */
import { AppError } from '../../lib/errors.ts';

/** What a full queue does with one more event. */
export type OverflowPolicy<T> =
  { readonly kind: 'coalesce'; readonly keyOf: (event: T) => string } | { readonly kind: 'close' };

/** A bounded queue read as an async iterator. */
export interface EventQueue<T> extends AsyncIterableIterator<T> {
  /** Adds an event; never blocks. */
  push(event: T): void;
  /** Events dropped or replaced by the overflow policy. */
  readonly overflowed: number;
}

/** Creates a queue of `capacity` events with its overflow policy. */
export function createEventQueue<T>(options: {
  capacity: number;
  policy: OverflowPolicy<T>;
  onClose?: () => void;
}): EventQueue<T> {
  const items: T[] = [];
  let waiting: ((result: IteratorResult<T>) => void) | undefined;
  let failWaiting: ((error: unknown) => void) | undefined;
  let done = false;
  let failure: unknown;
  let overflowed = 0;

  const finish = () => {
    if (done) return;
    done = true;
    options.onClose?.();
  };

  const queue: EventQueue<T> = {
    push(event) {
      if (done || failure) return;
      if (waiting) {
        const resolve = waiting;
        waiting = failWaiting = undefined;
        resolve({ value: event, done: false });
        return;
      }
      const { policy } = options;
      if (policy.kind === 'coalesce') {
        const key = policy.keyOf(event);
        const same = items.findIndex((e) => policy.keyOf(e) === key);
        if (same >= 0) {
          items[same] = event;
          overflowed++;
          return;
        }
        if (items.length >= options.capacity) {
          items.shift();
          overflowed++;
        }
        items.push(event);
        return;
      }
      if (items.length >= options.capacity) {
        overflowed++;
        failure = new AppError({
          code: 'SLOW_CONSUMER',
          message: `The client fell more than ${options.capacity} events behind; subscribe again (and page the history)`,
        });
        return;
      }
      items.push(event);
    },
    get overflowed() {
      return overflowed;
    },
    next() {
      if (items.length > 0) return Promise.resolve({ value: items.shift()!, done: false });
      if (failure) {
        const error = failure;
        finish();
        return Promise.reject(error);
      }
      if (done) return Promise.resolve({ value: undefined, done: true });
      return new Promise<IteratorResult<T>>((resolve, reject) => {
        waiting = resolve;
        failWaiting = reject;
      });
    },
    return() {
      items.length = 0;
      finish();
      const resolve = waiting;
      waiting = failWaiting = undefined;
      resolve?.({ value: undefined, done: true });
      return Promise.resolve({ value: undefined, done: true });
    },
    throw(error) {
      finish();
      failWaiting?.(error);
      return Promise.reject(error);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
  return queue;
}
