import { describe, expect, it } from 'vitest';
import { AuthError } from './auth-error.ts';
import { connectionAuthorization } from './connection-authorization.ts';
import { requireRole, requireUser } from './require-user.ts';
import { ANONYMOUS, type UserViewer } from '../../lib/viewer.ts';

const user: UserViewer = { kind: 'user', userId: '1', role: 'user', expiresAt: 2_000_000_000 };
const admin: UserViewer = { ...user, role: 'admin' };

describe('requireUser and requireRole', () => {
  it('refuse the anonymous viewer with UNAUTHENTICATED and a missing role with FORBIDDEN', () => {
    expect(() => requireUser(ANONYMOUS)).toThrow(AuthError);
    expect(() => requireRole(ANONYMOUS, 'user')).toThrow(expect.objectContaining({ code: 'UNAUTHENTICATED' }));
    expect(() => requireRole(user, 'admin')).toThrow(expect.objectContaining({ code: 'FORBIDDEN' }));
    expect(requireUser(user)).toBe(user);
    expect(requireRole(user, 'user')).toBe(user);
    expect(requireRole(admin, 'user')).toBe(admin);
  });
});

describe('connectionAuthorization', () => {
  it('reads the authorization of a ConnectionInit payload and refuses one that is not a string', () => {
    expect(connectionAuthorization(undefined)).toBeUndefined();
    expect(connectionAuthorization({})).toBeUndefined();
    expect(connectionAuthorization({ authorization: 'Bearer x.y.z' })).toBe('Bearer x.y.z');
    for (const payload of [{ authorization: 42 }, { authorization: null }, 'Bearer x.y.z', []])
      expect(() => connectionAuthorization(payload)).toThrow(expect.objectContaining({ code: 'UNAUTHENTICATED' }));
  });
});
