import { SignJWT, type JWTPayload } from 'jose';
import { describe, expect, it } from 'vitest';
import { AuthError, type AuthFailure } from './auth-error.ts';
import { createAuthenticator, type AuthOptions, type Authenticator } from './authenticator.ts';
import { issueToken } from './issue-token.ts';

const SECRET = 'a-test-secret-of-at-least-32-bytes-long';
const OTHER_SECRET = 'another-secret-of-at-least-32-bytes-long';
const ISSUER = 'https://auth.test';
const AUDIENCE = 'yieldsensei-gateway';

const authenticator = (options: Partial<AuthOptions> = {}): Authenticator =>
  createAuthenticator({ key: { kind: 'secret', secret: SECRET }, issuer: ISSUER, audience: AUDIENCE, ...options });

const issue = (options: { subject?: string; role?: 'user' | 'admin'; expiresInSec?: number } = {}) =>
  issueToken({
    secret: SECRET,
    subject: options.subject ?? '42',
    role: options.role ?? 'user',
    issuer: ISSUER,
    audience: AUDIENCE,
    expiresInSec: options.expiresInSec ?? 3600,
  });

/** A token with any claims and header, for the cases issueToken refuses to make. */
const sign = (
  claims: JWTPayload,
  options: { secret?: string; iat?: number; exp?: number | null; header?: Record<string, unknown> } = {},
) => {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub: '42', role: 'user', ...claims })
    .setProtectedHeader({ alg: 'HS256', ...options.header })
    .setIssuedAt(options.iat ?? now);
  if (options.exp !== null) jwt.setExpirationTime(options.exp ?? now + 3600);
  return jwt.sign(new TextEncoder().encode(options.secret ?? SECRET));
};

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** The refusal of an Authorization value, checked to say nothing of the token it refused. */
async function refusal(auth: Authenticator, authorization: string, reason: AuthFailure): Promise<AuthError> {
  const error = await auth.authenticate(authorization).then(
    () => expect.unreachable('accepted'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AuthError);
  const authError = error as AuthError;
  expect(authError.code).toBe('UNAUTHENTICATED');
  expect(authError.reason).toBe(reason);
  const token = authorization.replace(/^bearer /i, '');
  const shown = `${authError.message} ${JSON.stringify(authError)} ${JSON.stringify(authError.details)}`;
  for (const part of token.split('.').filter((p) => p.length >= 8)) expect(shown).not.toContain(part);
  return authError;
}

describe('createAuthenticator with an HS256 secret', () => {
  it('makes no viewer of a missing or empty header', async () => {
    const auth = authenticator();
    expect(await auth.authenticate(undefined)).toEqual({ kind: 'anonymous' });
    expect(await auth.authenticate('')).toEqual({ kind: 'anonymous' });
  });

  it('verifies a token into a user viewer with its role, id and expiry', async () => {
    const auth = authenticator();
    const before = Math.floor(Date.now() / 1000);
    const viewer = await auth.authenticate(`Bearer ${await issue({ subject: '42', expiresInSec: 600 })}`);
    expect(viewer).toMatchObject({ kind: 'user', userId: '42', role: 'user' });
    if (viewer.kind !== 'user') throw new Error('not a user');
    expect(viewer.tokenId).toMatch(/^[0-9a-f-]{36}$/);
    expect(viewer.expiresAt).toBeGreaterThanOrEqual(before + 600);
    expect(viewer.expiresAt).toBeLessThanOrEqual(before + 601);
    expect(Object.isFrozen(viewer)).toBe(true);
  });

  it('grants the admin role, accepts the scheme in any case, and a token without a role is a user', async () => {
    const auth = authenticator();
    expect(await auth.authenticate(`Bearer ${await issue({ subject: '7', role: 'admin' })}`)).toMatchObject({
      userId: '7',
      role: 'admin',
    });
    expect(await auth.authenticate(`bearer ${await issue()}`)).toMatchObject({ kind: 'user' });
    expect(await auth.authenticate(`BEARER   ${await issue()}`)).toMatchObject({ kind: 'user' });
    expect(await auth.authenticate(`Bearer ${await sign({ role: undefined })}`)).toMatchObject({ role: 'user' });
  });

  it('refuses a forged signature and `alg: none`', async () => {
    const auth = authenticator();
    await refusal(auth, `Bearer ${await sign({}, { secret: OTHER_SECRET })}`, 'signature');
    const now = Math.floor(Date.now() / 1000);
    const payload = { iss: ISSUER, aud: AUDIENCE, sub: '42', role: 'admin', iat: now, exp: now + 3600 };
    await refusal(auth, `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64(payload)}.`, 'algorithm');
    // A valid HS256 signature under a header naming another algorithm: the header does not choose the key.
    const relabelled = (await sign({})).split('.');
    await refusal(auth, `Bearer ${b64({ alg: 'HS512' })}.${relabelled[1]}.${relabelled[2]}`, 'algorithm');
  });

  it('refuses expired and not-yet-valid tokens, with the clock tolerance', async () => {
    const auth = authenticator();
    const now = Math.floor(Date.now() / 1000);
    await refusal(auth, `Bearer ${await sign({}, { iat: now - 100, exp: now - 10 })}`, 'expired');
    await refusal(auth, `Bearer ${await sign({ nbf: now + 60 })}`, 'not-yet-valid');
    // Within the default 5 s of skew both pass.
    expect(await auth.authenticate(`Bearer ${await sign({}, { iat: now - 100, exp: now - 2 })}`)).toMatchObject({
      kind: 'user',
    });
    expect(await auth.authenticate(`Bearer ${await sign({ nbf: now + 2 })}`)).toMatchObject({ kind: 'user' });
  });

  it('refuses a token without an expiry', async () => {
    await refusal(authenticator(), `Bearer ${await sign({}, { exp: null })}`, 'claims');
  });

  it('refuses the wrong issuer or audience', async () => {
    const auth = authenticator();
    await refusal(auth, `Bearer ${await sign({ iss: 'https://evil.test' })}`, 'issuer');
    await refusal(auth, `Bearer ${await sign({ iss: undefined })}`, 'issuer');
    await refusal(auth, `Bearer ${await sign({ aud: 'another-service' })}`, 'audience');
    expect(await auth.authenticate(`Bearer ${await sign({ aud: ['another-service', AUDIENCE] })}`)).toMatchObject({
      kind: 'user',
    });
  });

  it('refuses a missing or invalid subject and an unknown role', async () => {
    const auth = authenticator();
    for (const sub of [undefined, 'abc', '0', '-1', '01', '1'.repeat(19), '4 2'])
      await refusal(auth, `Bearer ${await sign({ sub })}`, 'subject');
    await refusal(auth, `Bearer ${await sign({ sub: 42 } as unknown as JWTPayload)}`, 'subject');
    for (const role of ['root', 'ADMIN', '', 1, ['admin']])
      await refusal(auth, `Bearer ${await sign({ role })}`, 'role');
  });

  it('refuses a malformed header or token', async () => {
    const auth = authenticator();
    const valid = await issue();
    for (const value of [
      'Bearer',
      'Bearer ',
      'Basic xyz',
      'Bearer a.b',
      'Bearer a.b.c.d',
      'Bearer not a token',
      `Token ${valid}`,
      `Bearer ${valid} `,
      `Bearer ${'a'.repeat(9000)}.b.c`,
    ])
      await refusal(auth, value, 'malformed');
    // Base64url parts that do not decode to a JOSE header.
    await refusal(auth, `Bearer ${b64('x')}.${b64({})}.abc`, 'malformed');
    const error = await refusal(auth, 'Bearer a.b', 'malformed');
    expect(error.retriable).toBe(false);
    expect(error.message).not.toContain('a.b');
  });

  it('verifies a token once and answers its repeats from the cache', async () => {
    const auth = authenticator();
    const header = `Bearer ${await issue()}`;
    const first = await auth.authenticate(header);
    const second = await auth.authenticate(header);
    expect(second).toBe(first);
    expect(auth.stats()).toEqual({ verifications: 1, cacheHits: 1, cachedTokens: 1 });
  });

  it('shares one verification between concurrent first uses of a token', async () => {
    const auth = authenticator();
    const header = `Bearer ${await issue()}`;
    const viewers = await Promise.all(Array.from({ length: 20 }, () => auth.authenticate(header)));
    expect(new Set(viewers).size).toBe(1);
    expect(auth.stats().verifications).toBe(1);
  });

  it('never caches a refusal', async () => {
    const auth = authenticator();
    const header = `Bearer ${await sign({ role: 'root' })}`;
    await refusal(auth, header, 'role');
    await refusal(auth, header, 'role');
    expect(auth.stats()).toEqual({ verifications: 2, cacheHits: 0, cachedTokens: 0 });
  });

  it('refuses a cached token once it expires, as a fresh verification would', async () => {
    let nowMs = Date.now();
    const auth = authenticator({ now: () => nowMs });
    const header = `Bearer ${await issue({ expiresInSec: 60 })}`;
    const viewer = await auth.authenticate(header);
    if (viewer.kind !== 'user') throw new Error('not a user');
    // Past exp but within the tolerance: still served, from the cache.
    nowMs = (viewer.expiresAt + 4) * 1000;
    expect(await auth.authenticate(header)).toBe(viewer);
    expect(auth.stats()).toMatchObject({ verifications: 1, cacheHits: 1 });
    nowMs = (viewer.expiresAt + 5) * 1000;
    await refusal(auth, header, 'expired');
    expect(auth.stats()).toEqual({ verifications: 2, cacheHits: 1, cachedTokens: 0 });
  });

  it('keeps at most cacheMaxEntries tokens', async () => {
    const auth = authenticator({ cacheMaxEntries: 2 });
    const headers = await Promise.all(['1', '2', '3'].map(async (subject) => `Bearer ${await issue({ subject })}`));
    for (const header of headers) await auth.authenticate(header);
    expect(auth.stats().cachedTokens).toBe(2);
    await auth.authenticate(headers[0]!);
    expect(auth.stats()).toMatchObject({ verifications: 4, cacheHits: 0 });
  });

  it('refuses bad options at creation, without echoing the secret', () => {
    const create = (options: Partial<AuthOptions>) => () => authenticator(options);
    expect(create({ key: { kind: 'secret', secret: 'short-secret' } })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.not.stringContaining('short-secret') }),
    );
    expect(create({ issuer: '' })).toThrow(/issuer must be a non-empty string/);
    expect(create({ audience: undefined as unknown as string })).toThrow(/audience/);
    expect(create({ clockToleranceSec: -1 })).toThrow(/clockToleranceSec/);
    expect(create({ cacheMaxEntries: 0 })).toThrow(/cacheMaxEntries/);
    expect(create({ key: { kind: 'password' } as never })).toThrow(/key.kind/);
  });
});

describe('issueToken', () => {
  it('refuses a bad subject, role, lifetime or secret', async () => {
    await expect(issue({ subject: 'abc' })).rejects.toMatchObject({ code: 'INVALID_ID' });
    await expect(issue({ role: 'root' as never })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(issue({ expiresInSec: 0 })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    await expect(
      issueToken({ secret: 'short', subject: '1', role: 'user', issuer: ISSUER, audience: AUDIENCE, expiresInSec: 60 }),
    ).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });
});
