/**
 * The response cache's view into Apollo: whether a response had errors (never cached), and the
 * consistency extension: a mutation's token, or what a request waiting for a token got.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import type { Context } from '../../resolvers/index.ts';
import type { RequestTracker } from './response-cache.ts';

/** Creates the Apollo plugin reporting errors and consistency to the response cache. */
export function cachePlugin(): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ contextValue, response }) {
          // The gateway builds every context with a tracker as its cache handle (app.ts).
          const tracker = contextValue.cache as RequestTracker;
          if (response.body.kind !== 'single') {
            tracker.errors = true;
            return;
          }
          const result = response.body.singleResult;
          if (result.errors?.length) tracker.errors = true;
          const waited = tracker.consistency;
          const consistency =
            tracker.sequence !== undefined
              ? { token: tracker.sequence }
              : waited && { token: waited.token, waitedMs: waited.waitedMs, mayBeStale: !waited.applied };
          if (consistency) result.extensions = { ...result.extensions, consistency };
        },
      };
    },
  };
}
