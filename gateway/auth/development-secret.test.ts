import { chmod, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAuthenticator } from './authenticator.ts';
import { developmentSecret } from './development-secret.ts';
import { issueToken } from './issue-token.ts';

describe('developmentSecret', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'dev-secret-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('creates a private 48-byte secret once and reads the same one afterwards', async () => {
    const dataDir = path.join(dir, 'nested', 'data');
    const first = await developmentSecret(dataDir);
    expect(Buffer.from(first, 'base64url')).toHaveLength(48);
    expect(await developmentSecret(dataDir)).toBe(first);
    const file = path.join(dataDir, 'dev-jwt-secret');
    expect((await readFile(file, 'utf8')).trim()).toBe(first);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('gives processes starting together one secret', async () => {
    const secrets = await Promise.all(Array.from({ length: 8 }, () => developmentSecret(dir)));
    expect(new Set(secrets).size).toBe(1);
  });

  it('signs tokens the gateway verifies with the same data directory', async () => {
    const options = { issuer: 'yieldsensei-dev', audience: 'yieldsensei-gateway' };
    const token = await issueToken({
      ...options,
      secret: await developmentSecret(dir),
      subject: '3',
      role: 'admin',
      expiresInSec: 60,
    });
    const auth = createAuthenticator({ ...options, key: { kind: 'secret', secret: await developmentSecret(dir) } });
    expect(await auth.authenticate(`Bearer ${token}`)).toMatchObject({ userId: '3', role: 'admin' });
  });

  it('refuses a secret file others can read', async () => {
    await developmentSecret(dir);
    await chmod(path.join(dir, 'dev-jwt-secret'), 0o644);
    await expect(developmentSecret(dir)).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/chmod 600/),
    });
  });

  it('keeps nothing for :memory:', async () => {
    const a = await developmentSecret(':memory:');
    expect(Buffer.from(a, 'base64url')).toHaveLength(48);
    expect(await developmentSecret(':memory:')).not.toBe(a);
  });
});
