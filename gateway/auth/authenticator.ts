/**
 * Bearer JWT authentication (RFC 6750 §2.1, RFC 7519), verified with jose. One authenticator
 * per gateway: it is called for every HTTP request (a response-cache hit too: a hit must be
 * authorized like a miss) and for every graphql-ws ConnectionInit, so a token seen before costs
 * a Map lookup, and concurrent first uses of a token share one verification.
 */
import { errors, jwtVerify, type JWTPayload } from 'jose';
import { isUserId } from '../../lib/ids.ts';
import { AuthError, type AuthFailure } from './auth-error.ts';
import { resolveKeySource, type KeySource } from './key-source.ts';
import { integerIn, invalidOption, nonEmptyString } from './options.ts';
import { createTokenCache } from './token-cache.ts';
import { ANONYMOUS, isRole, type UserViewer, type Viewer } from '../../lib/viewer.ts';

/** What to trust: one key source, the issuer and audience tokens must name, and the leeway. */
export interface AuthOptions {
  readonly key: KeySource;
  /** The `iss` every token must carry. */
  readonly issuer: string;
  /** The `aud` every token must carry (or list among several). */
  readonly audience: string;
  /** Leeway for `exp` and `nbf` against clock skew between the issuer and us; default 5. */
  readonly clockToleranceSec?: number;
  /** Verified tokens remembered (least recently used go first); default 10,000. */
  readonly cacheMaxEntries?: number;
  /** The clock, in epoch milliseconds like Date.now (its default); tests move it. */
  readonly now?: () => number;
}

/** Counters, for metrics and for tests that prove a cached token is not verified again. */
export interface AuthStats {
  /** Tokens whose signature and claims were checked (passed or not). */
  readonly verifications: number;
  /** Calls answered from the cache of verified tokens. */
  readonly cacheHits: number;
  readonly cachedTokens: number;
}

/** Turns an Authorization value into a Viewer. */
export interface Authenticator {
  /**
   * The viewer for an Authorization header value, or for the `authorization` field of a
   * graphql-ws ConnectionInit payload (the same `Bearer <jwt>` format). Absent or empty:
   * anonymous. Anything else that does not verify: an AuthError (UNAUTHENTICATED). A JWKS that
   * cannot be fetched: an AppError TIER_UNAVAILABLE (retriable; the token may be fine).
   */
  authenticate(authorization: string | undefined): Promise<Viewer>;
  stats(): AuthStats;
}

const SCHEME = 'bearer ';
/** Far above any real JWT (Node's own limit for all headers is 16 KiB); keeps oversized values out of the verifier and the cache. */
const MAX_AUTHORIZATION_LENGTH = 8192;
/** JWS compact serialization: three base64url parts (RFC 7515 §7.1); an empty signature reaches jose, which refuses its `alg`. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** jose's claim failures, by claim, as our reasons. */
const CLAIM_REASONS: Readonly<Record<string, AuthFailure>> = {
  nbf: 'not-yet-valid',
  iss: 'issuer',
  aud: 'audience',
  sub: 'subject',
};

/** Creates an authenticator; the options are checked here, once, and a bad one throws CONFIG_INVALID. */
export function createAuthenticator(options: AuthOptions): Authenticator {
  const issuer = nonEmptyString(options.issuer, 'issuer');
  const audience = nonEmptyString(options.audience, 'audience');
  const clockToleranceSec = integerIn(options.clockToleranceSec ?? 5, 'clockToleranceSec', { min: 0, max: 300 });
  const cacheMaxEntries = integerIn(options.cacheMaxEntries ?? 10_000, 'cacheMaxEntries', { min: 1, max: 1_000_000 });
  const now = options.now ?? Date.now;
  if (typeof now !== 'function') throw invalidOption('now must be a function returning epoch milliseconds');
  const { algorithms, key } = resolveKeySource(options.key);
  const allowed = [...algorithms];
  const cache = createTokenCache({ maxEntries: cacheMaxEntries, clockToleranceSec });
  const pending = new Map<string, Promise<UserViewer>>();
  let verifications = 0;
  let cacheHits = 0;

  async function verify(token: string): Promise<UserViewer> {
    verifications++;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, await key, {
        algorithms: allowed,
        issuer,
        audience,
        clockTolerance: clockToleranceSec,
        // Without `exp` a token would never expire, and the cache would keep it forever.
        requiredClaims: ['exp', 'sub'],
        currentDate: new Date(now()),
      }));
    } catch (error) {
      throw refusal(error);
    }
    return viewerOf(payload);
  }

  return {
    async authenticate(authorization) {
      if (authorization === undefined || authorization === '') return ANONYMOUS;
      // Checked before the lookup: hashing a key costs its length.
      if (typeof authorization !== 'string' || authorization.length > MAX_AUTHORIZATION_LENGTH)
        throw new AuthError({ reason: 'malformed' });
      // Keyed by the whole value, so a hit is one lookup and no parsing: only values that parsed
      // and verified are ever stored.
      const cached = cache.get(authorization, Math.floor(now() / 1000));
      if (cached) {
        cacheHits++;
        return cached;
      }
      let verifying = pending.get(authorization);
      if (!verifying) {
        const token = bearerToken(authorization);
        // Failures are not remembered (dataloader's rule): a token refused for a transient reason
        // (the key set unreachable) verifies once the reason passes.
        verifying = verify(token)
          .then((viewer) => {
            cache.set(authorization, viewer);
            return viewer;
          })
          .finally(() => pending.delete(authorization));
        pending.set(authorization, verifying);
      }
      return verifying;
    },
    stats: () => ({ verifications, cacheHits, cachedTokens: cache.size }),
  };
}

/** The token of a `Bearer <token>` value: the scheme in any case, then one or more spaces (RFC 6750 §2.1, RFC 7235 §2.1). */
function bearerToken(authorization: string): string {
  if (authorization.slice(0, SCHEME.length).toLowerCase() !== SCHEME) throw new AuthError({ reason: 'malformed' });
  let start = SCHEME.length;
  while (authorization.charCodeAt(start) === 32) start++;
  const token = authorization.slice(start);
  if (!COMPACT_JWS.test(token)) throw new AuthError({ reason: 'malformed' });
  return token;
}

/** The viewer a verified payload names; its `sub` and `role` are ours to check, jose knows neither. */
function viewerOf(payload: JWTPayload): UserViewer {
  const { sub, jti, exp } = payload;
  // No role claim grants the least: an identity provider that knows nothing of roles issues users.
  const role = payload['role'] ?? 'user';
  if (!isUserId(sub)) throw new AuthError({ reason: 'subject' });
  if (!isRole(role)) throw new AuthError({ reason: 'role' });
  if (typeof exp !== 'number' || (jti !== undefined && typeof jti !== 'string'))
    throw new AuthError({ reason: 'claims' });
  // Frozen: one cached viewer is shared by every request that carries its token.
  return Object.freeze<UserViewer>({
    kind: 'user',
    userId: sub,
    role,
    ...(jti === undefined ? {} : { tokenId: jti }),
    expiresAt: exp,
  });
}

/** jose's verdict as ours; anything else (the key set unreachable, a bug) passes through unchanged. */
function refusal(error: unknown): unknown {
  if (error instanceof errors.JWTExpired) return new AuthError({ reason: 'expired' });
  if (error instanceof errors.JWTClaimValidationFailed)
    return new AuthError({ reason: CLAIM_REASONS[error.claim] ?? 'claims' });
  if (error instanceof errors.JWSSignatureVerificationFailed) return new AuthError({ reason: 'signature' });
  if (error instanceof errors.JOSEAlgNotAllowed) return new AuthError({ reason: 'algorithm' });
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys)
    return new AuthError({ reason: 'unknown-key' });
  if (
    error instanceof errors.JWSInvalid ||
    error instanceof errors.JWTInvalid ||
    error instanceof errors.JOSENotSupported
  )
    return new AuthError({ reason: 'malformed' });
  return error;
}
