/**
 * A sleep that can be cut short: the loops of the sync worker (its batch loop and its job
 * runner) sleep between polls and are woken by notifications. A wake-up that arrives while the
 * loop is busy (not sleeping) is remembered, so the next sleep ends at once: work announced
 * during a batch is picked up now, not one poll interval later; an urgent one (stop(), a
 * recovery) remembered so also ends the back-off sleep that follows a failed batch.
 */

/** Why a sleeper is woken; `urgent` wake-ups also end sleeps that ignore ordinary ones. */
export interface WakeUp {
  readonly urgent: boolean;
}

/** Creates a sleeper. */
export function createSleeper() {
  let wakeUp: ((w: WakeUp) => void) | undefined;
  /** A wake-up that came while nothing slept, for the next sleep it ends. */
  let pending: 'none' | 'ordinary' | 'urgent' = 'none';
  return {
    /**
     * Sleeps `ms`, or until woken. `wakeable: false` (an outage's back-off): only an urgent
     * wake-up ends it early (a recovery, stop()), not every ordinary one (every commit).
     */
    sleep(ms: number, wakeable = true): Promise<void> {
      return new Promise<void>((resolve) => {
        if (pending === 'urgent' || (wakeable && pending === 'ordinary')) {
          pending = 'none';
          return resolve();
        }
        const timer = setTimeout(done, ms);
        function done() {
          clearTimeout(timer);
          wakeUp = undefined;
          resolve();
        }
        wakeUp = (w) => {
          if (wakeable || w.urgent) done();
        };
      });
    },
    /** Wakes the sleep in progress, or the next one. */
    wake(urgent = false): void {
      if (wakeUp) wakeUp({ urgent });
      else if (urgent) pending = 'urgent';
      else if (pending === 'none') pending = 'ordinary';
    },
  };
}
