/** Who is calling: the result of authentication, carried in the request context (lib: no GraphQL, no tiers). */

/** Roles a token may grant; anything else in a token's `role` claim is refused, never downgraded. */
export const ROLES = ['user', 'admin'] as const;

/** A role a token may grant. */
export type Role = (typeof ROLES)[number];

/** A caller without credentials. */
export interface AnonymousViewer {
  readonly kind: 'anonymous';
}

/** A caller with a verified token. */
export interface UserViewer {
  readonly kind: 'user';
  /** The token's `sub`: a user id (positive integer, as a string). */
  readonly userId: string;
  readonly role: Role;
  /** The token's `jti`, when it has one: what a revocation list would key on. */
  readonly tokenId?: string;
  /** The token's `exp`, in epoch seconds: a subscription socket should close when it passes. */
  readonly expiresAt: number;
}

/** The caller of a request or of a WebSocket connection. */
export type Viewer = AnonymousViewer | UserViewer;

/** The one anonymous viewer (frozen: viewers are shared between requests). */
export const ANONYMOUS: AnonymousViewer = Object.freeze({ kind: 'anonymous' });

/** Whether a claim value is a role we grant. */
export function isRole(value: unknown): value is Role {
  return value === 'user' || value === 'admin';
}
