/**
 * The request a piece of work belongs to, carried through async calls (AsyncLocalStorage), so
 * every log line and every error a request causes carries its id, however deep it is logged,
 * without threading an id through every function.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** What is known of the current request. */
export interface RequestScope {
  readonly requestId: string;
}

const storage = new AsyncLocalStorage<RequestScope>();

/** Runs `fn` inside `scope`: everything it starts, awaited or not, sees the scope. */
export function runInScope<T>(scope: RequestScope, fn: () => T): T {
  return storage.run(scope, fn);
}

/** The scope of the running request, if any. */
export function currentScope(): RequestScope | undefined {
  return storage.getStore();
}
