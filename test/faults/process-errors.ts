/**
 * Records what would crash a server process: an uncaught exception (an 'error' event nobody
 * listens to is thrown as one) and an unhandled rejection. Vitest catches both itself and
 * reports them after the run; a resilience test asserts explicitly, at the fault, that none
 * happened.
 */

/** A recorder of process-level errors; `dispose()` removes its listeners. */
export interface ProcessErrors {
  readonly errors: ReadonlyArray<{ kind: 'uncaughtException' | 'unhandledRejection'; error: unknown }>;
  dispose(): void;
}

/** Starts recording. */
export function watchProcessErrors(): ProcessErrors {
  const errors: Array<{ kind: 'uncaughtException' | 'unhandledRejection'; error: unknown }> = [];
  const onException = (error: unknown) => errors.push({ kind: 'uncaughtException', error });
  const onRejection = (error: unknown) => errors.push({ kind: 'unhandledRejection', error });
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
  return {
    errors,
    dispose() {
      process.off('uncaughtException', onException);
      process.off('unhandledRejection', onRejection);
    },
  };
}
