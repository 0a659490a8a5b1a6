/** Signs development tokens (HS256): embedded mode's key and the `token` CLI command. */
import { SignJWT } from 'jose';
import { randomUUID } from 'node:crypto';
import { badInput } from '../../lib/errors.ts';
import { parseUserId } from '../../lib/ids.ts';
import { secretBytes } from './key-source.ts';
import { integerIn, nonEmptyString } from './options.ts';
import { isRole, type Role } from '../../lib/viewer.ts';

/** What a development token says, and how long it lives. */
export interface IssueTokenOptions {
  /** The HS256 secret the gateway verifies with (at least 32 bytes). */
  readonly secret: string;
  /** The user id, the token's `sub`. */
  readonly subject: string;
  readonly role: Role;
  readonly issuer: string;
  readonly audience: string;
  /** Lifetime, from 1 second to 366 days. */
  readonly expiresInSec: number;
}

/** Signs a token createAuthenticator accepts with the same secret, issuer and audience. */
export async function issueToken(options: IssueTokenOptions): Promise<string> {
  const key = secretBytes(options.secret, 'secret');
  const subject = parseUserId(options.subject, 'subject');
  if (!isRole(options.role))
    throw badInput('BAD_USER_INPUT', `role must be 'user' or 'admin', got ${JSON.stringify(options.role)}`, {
      field: 'role',
    });
  const issuer = nonEmptyString(options.issuer, 'issuer');
  const audience = nonEmptyString(options.audience, 'audience');
  const expiresInSec = integerIn(options.expiresInSec, 'expiresInSec', { min: 1, max: 366 * 24 * 3600 });
  const issuedAt = Math.floor(Date.now() / 1000);
  return (
    new SignJWT({ role: options.role })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(subject)
      .setIssuer(issuer)
      .setAudience(audience)
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + expiresInSec)
      // A token id from the start, so a revocation list can be added without reissuing tokens.
      .setJti(randomUUID())
      .sign(key)
  );
}
