import { exportJWK, exportPKCS8, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator, type Authenticator } from './authenticator.ts';
import type { AsymmetricAlgorithm, KeySource } from './key-source.ts';

const ISSUER = 'https://idp.test';
const AUDIENCE = 'yieldsensei-gateway';

const authenticator = (key: KeySource): Authenticator =>
  createAuthenticator({ key, issuer: ISSUER, audience: AUDIENCE });

const sign = (privateKey: CryptoKey, alg: string, kid?: string, subject = '42') =>
  new SignJWT({ role: 'user' })
    .setProtectedHeader({ alg, ...(kid && { kid }) })
    .setSubject(subject)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(privateKey);

async function keyPair(alg: AsymmetricAlgorithm, kid: string) {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { publicKey, privateKey, jwk, kid };
}

describe('JWKS key source', () => {
  let server: http.Server;
  let url: string;
  let keys: JWK[] = [];
  let fetches = 0;

  beforeAll(async () => {
    server = http.createServer((_req, res) => {
      fetches++;
      res.writeHead(200, { 'content-type': 'application/jwk-set+json' });
      res.end(JSON.stringify({ keys }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('verifies RS256 and ES256 tokens against the served keys, and refuses another key', async () => {
    const rsa = await keyPair('RS256', 'rsa-1');
    const ec = await keyPair('ES256', 'ec-1');
    const stranger = await keyPair('ES256', 'ec-1');
    keys = [rsa.jwk, ec.jwk];
    fetches = 0;
    const auth = authenticator({ kind: 'jwks', url });
    expect(await auth.authenticate(`Bearer ${await sign(rsa.privateKey, 'RS256', 'rsa-1')}`)).toMatchObject({
      kind: 'user',
      userId: '42',
    });
    expect(await auth.authenticate(`Bearer ${await sign(ec.privateKey, 'ES256', 'ec-1', '7')}`)).toMatchObject({
      userId: '7',
    });
    // The same kid, another key: the signature fails.
    await expect(auth.authenticate(`Bearer ${await sign(stranger.privateKey, 'ES256', 'ec-1')}`)).rejects.toMatchObject(
      {
        code: 'UNAUTHENTICATED',
        details: { reason: 'signature' },
      },
    );
    // The key set was fetched once and is cached by jose.
    expect(fetches).toBe(1);
  });

  it('refuses HS256 (a JWKS holds no shared secrets) and an unknown kid', async () => {
    const ec = await keyPair('ES256', 'ec-1');
    keys = [ec.jwk];
    const auth = authenticator({ kind: 'jwks', url, cooldownMs: 0 });
    const hmac = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('42')
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('x'.repeat(32)));
    await expect(auth.authenticate(`Bearer ${hmac}`)).rejects.toMatchObject({ details: { reason: 'algorithm' } });
    const other = await keyPair('ES256', 'ec-2');
    await expect(auth.authenticate(`Bearer ${await sign(other.privateKey, 'ES256', 'ec-2')}`)).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
      details: { reason: 'unknown-key' },
    });
  });

  it('follows a key rotation: a token with a new kid verifies once the new set is served', async () => {
    const old = await keyPair('ES256', '2024');
    const next = await keyPair('EdDSA', '2025');
    keys = [old.jwk];
    fetches = 0;
    // No cooldown, so the refetch an unknown kid triggers is not held back by the first fetch.
    const auth = authenticator({ kind: 'jwks', url, cooldownMs: 0 });
    const newToken = `Bearer ${await sign(next.privateKey, 'EdDSA', '2025')}`;
    expect(await auth.authenticate(`Bearer ${await sign(old.privateKey, 'ES256', '2024')}`)).toMatchObject({
      kind: 'user',
    });
    await expect(auth.authenticate(newToken)).rejects.toMatchObject({ details: { reason: 'unknown-key' } });
    keys = [next.jwk];
    expect(await auth.authenticate(newToken)).toMatchObject({ kind: 'user', userId: '42' });
    // A fresh token under the retired key fails: it is no longer served.
    await expect(auth.authenticate(`Bearer ${await sign(old.privateKey, 'ES256', '2024', '9')}`)).rejects.toMatchObject(
      { details: { reason: 'unknown-key' } },
    );
    expect(fetches).toBe(4);
  });

  it('holds back refetches for unknown kids during the cooldown', async () => {
    const ec = await keyPair('ES256', 'a');
    keys = [ec.jwk];
    fetches = 0;
    const auth = authenticator({ kind: 'jwks', url, cooldownMs: 60_000 });
    await auth.authenticate(`Bearer ${await sign(ec.privateKey, 'ES256', 'a')}`);
    const forged = await keyPair('ES256', 'forged');
    for (let i = 0; i < 5; i++)
      await expect(
        auth.authenticate(`Bearer ${await sign(forged.privateKey, 'ES256', `forged-${i}`)}`),
      ).rejects.toMatchObject({ details: { reason: 'unknown-key' } });
    expect(fetches).toBe(1);
  });

  it('reports an unreachable key set as TIER_UNAVAILABLE (retriable), not as a bad token', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const ec = await keyPair('ES256', 'a');
    const auth = authenticator({ kind: 'jwks', url: `http://127.0.0.1:${port}/jwks`, timeoutMs: 2_000 });
    await expect(auth.authenticate(`Bearer ${await sign(ec.privateKey, 'ES256', 'a')}`)).rejects.toMatchObject({
      code: 'TIER_UNAVAILABLE',
      retriable: true,
    });
  });

  it('refuses a non-https URL outside loopback, and a URL that is none', () => {
    expect(() => authenticator({ kind: 'jwks', url: 'http://idp.example.com/jwks' })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringMatching(/https/) }),
    );
    expect(() => authenticator({ kind: 'jwks', url: 'idp/jwks' })).toThrow(/key.url must be a URL/);
    expect(() => authenticator({ kind: 'jwks', url: 'https://idp.example.com/jwks' })).not.toThrow();
  });
});

describe('public key source', () => {
  it.each(['RS256', 'ES256', 'EdDSA'] as const)('verifies %s tokens signed by the PEM key only', async (alg) => {
    const { publicKey, privateKey } = await keyPair(alg, 'k');
    const other = await keyPair(alg, 'k');
    const auth = authenticator({ kind: 'publicKey', pem: await exportSPKI(publicKey), alg });
    expect(await auth.authenticate(`Bearer ${await sign(privateKey, alg)}`)).toMatchObject({ kind: 'user' });
    await expect(auth.authenticate(`Bearer ${await sign(other.privateKey, alg)}`)).rejects.toMatchObject({
      details: { reason: 'signature' },
    });
  });

  it('refuses an HS256 token whose secret is the public key itself (algorithm confusion)', async () => {
    const { publicKey, privateKey } = await keyPair('RS256', 'k');
    const pem = await exportSPKI(publicKey);
    const auth = authenticator({ kind: 'publicKey', pem, alg: 'RS256' });
    expect(await auth.authenticate(`Bearer ${await sign(privateKey, 'RS256')}`)).toMatchObject({ kind: 'user' });
    const confused = await new SignJWT({ role: 'admin' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('1')
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(pem));
    await expect(auth.authenticate(`Bearer ${confused}`)).rejects.toMatchObject({ details: { reason: 'algorithm' } });
  });

  it('refuses at creation a private key, a key of another type, and text that is no key', async () => {
    const rsa = await keyPair('RS256', 'k');
    const ec = await keyPair('ES256', 'k');
    const create = (pem: string, alg: AsymmetricAlgorithm) => () => authenticator({ kind: 'publicKey', pem, alg });
    expect(create(await exportPKCS8(rsa.privateKey), 'RS256')).toThrow(/SPKI public key/);
    expect(create(await exportSPKI(ec.publicKey), 'RS256')).toThrow(/an RSA key of 2048 bits or more for RS256/);
    expect(create(await exportSPKI(rsa.publicKey), 'EdDSA')).toThrow(/Ed25519/);
    expect(create('-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----', 'ES256')).toThrow(/not a readable/);
    expect(create(await exportSPKI(ec.publicKey), 'HS256' as never)).toThrow(/key.alg must be one of/);
  });
});
