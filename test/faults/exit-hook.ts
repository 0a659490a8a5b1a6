/**
 * Last-resort cleanup for throwaway servers: whatever a test forgot to destroy is killed
 * when the test process ends, so a failed or interrupted run never leaves servers behind.
 */

/** A synchronous cleanup step: the 'exit' event runs no asynchronous code. */
export type ExitCleanup = () => void;

const cleanups = new Set<ExitCleanup>();
let installed = false;

/**
 * Vitest ends its fork workers with SIGTERM (and SIGKILL after a grace period), and Node's
 * default SIGTERM action ends the process WITHOUT emitting 'exit'; so the signals are caught
 * too, cleaned up after, and then re-raised so the process still dies of the same signal.
 * SIGKILL of the test process itself cannot be caught: that is what `destroy()` in afterAll
 * and the setsid'd Kafka broker's pid file are for.
 */
const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

/** Registers `cleanup` to run when this process exits or is signalled; returns a function that unregisters it. */
export function onProcessExit(cleanup: ExitCleanup): () => void {
  install();
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

function runAll(): void {
  for (const cleanup of [...cleanups]) {
    cleanups.delete(cleanup);
    try {
      cleanup();
    } catch {
      // Best effort: one failing step must not keep the others from running.
    }
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', runAll);
  for (const signal of SIGNALS) {
    const onSignal = (): void => {
      runAll();
      process.off(signal, onSignal);
      // Someone else also handles this signal and decides what happens next; otherwise
      // restore the default action (terminate) by raising it again.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}
