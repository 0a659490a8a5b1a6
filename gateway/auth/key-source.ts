/**
 * Where verification keys come from, and the algorithms each kind of key accepts. The list is
 * pinned per kind and a token's `alg` header only chooses within it (jose checks it before any key
 * is touched): a public key can never be used as an HMAC secret (the algorithm-confusion attack,
 * RFC 8725 §2.1 and §3.1), and `alg: none` never passes.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { createRemoteJWKSet, errors, importSPKI, type CryptoKey, type JWTVerifyGetKey } from 'jose';
import { AppError } from '../../lib/errors.ts';
import { integerIn, invalidOption } from './options.ts';

/** Signature algorithms accepted from a public key or a JWKS. */
export type AsymmetricAlgorithm = 'RS256' | 'ES256' | 'EdDSA';

/** Exactly one source of verification keys. */
export type KeySource =
  /** A shared HMAC secret (HS256), at least 32 bytes as UTF-8. */
  | { readonly kind: 'secret'; readonly secret: string }
  /**
   * An identity provider's JSON Web Key Set (RS256, ES256, EdDSA), fetched and cached by jose:
   * refetched after `cacheMaxAgeMs` (default 10 min), and at once for an unknown `kid` (key
   * rotation) unless the last fetch is younger than `cooldownMs` (default 30 s), so forged `kid`s
   * cannot make us hammer the provider. https only, except on loopback hosts.
   */
  | {
      readonly kind: 'jwks';
      readonly url: string;
      readonly cooldownMs?: number;
      readonly cacheMaxAgeMs?: number;
      readonly timeoutMs?: number;
    }
  /** One public key, PEM-encoded SPKI (`-----BEGIN PUBLIC KEY-----`), for one algorithm. */
  | { readonly kind: 'publicKey'; readonly pem: string; readonly alg: AsymmetricAlgorithm };

/** A key source made ready: the algorithms allowed and the key (or jose's key resolver) to verify with. */
export interface VerificationKey {
  readonly algorithms: readonly string[];
  readonly key: Promise<CryptoKey | JWTVerifyGetKey>;
}

const JWKS_ALGORITHMS: readonly AsymmetricAlgorithm[] = ['RS256', 'ES256', 'EdDSA'];
const MIN_SECRET_BYTES = 32;
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Validates a key source (failing fast with CONFIG_INVALID) and prepares its key. */
export function resolveKeySource(source: KeySource): VerificationKey {
  switch (source?.kind) {
    case 'secret': {
      const bytes = secretBytes(source.secret, 'key.secret');
      // Imported once: given raw bytes, jose would import the HMAC key again on every verification.
      return {
        algorithms: ['HS256'],
        key: settled(crypto.subtle.importKey('raw', bytes, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify'])),
      };
    }
    case 'jwks':
      return { algorithms: JWKS_ALGORITHMS, key: Promise.resolve(remoteKeySet(source)) };
    case 'publicKey': {
      if (!JWKS_ALGORITHMS.includes(source.alg))
        throw invalidOption(`key.alg must be one of ${JWKS_ALGORITHMS.join(', ')}, got ${JSON.stringify(source.alg)}`);
      checkPublicKey(source.pem, source.alg);
      return { algorithms: [source.alg], key: settled(importSPKI(source.pem, source.alg)) };
    }
    default:
      throw invalidOption(
        `key.kind must be 'secret', 'jwks' or 'publicKey', got ${JSON.stringify((source as { kind?: unknown } | undefined)?.kind)}`,
      );
  }
}

/** An HMAC secret as bytes, refused (without echoing it) when shorter than HS256's 256 bits (RFC 7518 §3.2). */
export function secretBytes(secret: string, name: string): Uint8Array<ArrayBuffer> {
  const bytes = typeof secret === 'string' ? new TextEncoder().encode(secret) : new Uint8Array();
  if (bytes.length < MIN_SECRET_BYTES)
    throw invalidOption(`${name} must be a string of at least ${MIN_SECRET_BYTES} bytes, got ${bytes.length}`);
  return bytes;
}

/** jose's cached, rotating key set, with fetch failures told apart from a token's unknown key. */
function remoteKeySet(source: Extract<KeySource, { kind: 'jwks' }>): JWTVerifyGetKey {
  let url: URL;
  try {
    url = new URL(source.url);
  } catch {
    throw invalidOption(`key.url must be a URL, got ${JSON.stringify(source.url)}`);
  }
  // Over plain HTTP anyone on the path could hand us their own keys.
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.has(url.hostname)))
    throw invalidOption(`key.url must be an https URL (http only on loopback), got ${JSON.stringify(source.url)}`);
  const remote = createRemoteJWKSet(url, {
    cooldownDuration: duration(source.cooldownMs, 'key.cooldownMs'),
    cacheMaxAge: duration(source.cacheMaxAgeMs, 'key.cacheMaxAgeMs'),
    timeoutDuration: duration(source.timeoutMs, 'key.timeoutMs'),
  });
  return async (header, token) => {
    try {
      return await remote(header, token);
    } catch (error) {
      // The token names a key the set lacks (or, without a `kid`, several keys match): the token's fault.
      if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) throw error;
      // Anything else (timeout, refused connection, non-200, a malformed set) is the provider's:
      // a retriable failure of ours, not a 401 that would make clients throw their token away.
      throw new AppError({
        code: 'TIER_UNAVAILABLE',
        message: 'Token signing keys are unavailable',
        retriable: true,
        cause: error,
      });
    }
  };
}

/** Refuses, at startup, a PEM that is not a public key of the algorithm's type (jose would only fail on first use). */
function checkPublicKey(pem: string, alg: AsymmetricAlgorithm): void {
  // createPublicKey would also accept a private key and derive its public half; a private key
  // has no business in the gateway's configuration.
  if (typeof pem !== 'string' || !pem.trimStart().startsWith('-----BEGIN PUBLIC KEY-----'))
    throw invalidOption('key.pem must be a PEM-encoded SPKI public key (-----BEGIN PUBLIC KEY-----)');
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    throw invalidOption('key.pem is not a readable public key');
  }
  const details = key.asymmetricKeyDetails ?? {};
  const fits =
    alg === 'RS256'
      ? key.asymmetricKeyType === 'rsa' && (details.modulusLength ?? 0) >= 2048
      : alg === 'ES256'
        ? key.asymmetricKeyType === 'ec' && details.namedCurve === 'prime256v1'
        : key.asymmetricKeyType === 'ed25519';
  if (!fits) {
    const expected = { RS256: 'an RSA key of 2048 bits or more', ES256: 'a P-256 EC key', EdDSA: 'an Ed25519 key' };
    throw invalidOption(`key.pem must be ${expected[alg]} for ${alg}, got a ${key.asymmetricKeyType} key`);
  }
}

function duration(value: number | undefined, name: string): number | undefined {
  return value === undefined ? undefined : integerIn(value, name, { min: 0, max: 24 * 3600 * 1000 });
}

/** The promise, marked handled: a failed import surfaces on first use, not as an unhandled rejection at startup. */
function settled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}
