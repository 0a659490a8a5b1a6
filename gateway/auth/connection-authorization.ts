/** The credential of a graphql-ws connection: the `authorization` field of its ConnectionInit payload. */
import { AuthError } from './auth-error.ts';

/**
 * The payload's `authorization` (`Bearer <jwt>`, as in HTTP), for Authenticator.authenticate:
 * undefined when there is no payload or no field. A field that is not a string is refused
 * rather than treated as absent: a client that meant to sign in must not silently become anonymous.
 */
export function connectionAuthorization(payload: unknown): string | undefined {
  if (payload === undefined || payload === null) return undefined;
  if (typeof payload !== 'object' || Array.isArray(payload)) throw new AuthError({ reason: 'malformed' });
  const value = (payload as Record<string, unknown>)['authorization'];
  if (value === undefined || typeof value === 'string') return value;
  throw new AuthError({ reason: 'malformed' });
}
