/**
 * The authentication failure: an AppError with code UNAUTHENTICATED and a fixed message per
 * reason, so the error formatter shows it like any other coded error.
 */
import { AppError } from '../../lib/errors.ts';

/** Why a credential was refused, for logs and metrics (`details.reason`); the message says the same for people. */
export type AuthFailure =
  | 'malformed'
  | 'algorithm'
  | 'signature'
  | 'unknown-key'
  | 'expired'
  | 'not-yet-valid'
  | 'issuer'
  | 'audience'
  | 'subject'
  | 'role'
  | 'claims'
  | 'required';

// Fixed texts: a message never contains the token or its claims, which a client error or a log
// line would otherwise carry to places a bearer credential must not go.
const MESSAGES: Record<AuthFailure, string> = {
  malformed: 'Authorization must be "Bearer <token>" with a well-formed JWT',
  algorithm: 'Token algorithm not allowed',
  signature: 'Token signature invalid',
  'unknown-key': 'Token signing key unknown',
  expired: 'Token expired',
  'not-yet-valid': 'Token not yet valid',
  issuer: 'Token issuer not accepted',
  audience: 'Token audience not accepted',
  subject: 'Token subject must be a user id',
  role: 'Token role not recognised',
  claims: 'Token claims invalid',
  required: 'Authentication required',
};

/** A refused or missing credential: HTTP 401, or the end of a WebSocket connection (4401). */
export class AuthError extends AppError {
  /** Why, for logs and metrics (`extensions.reason`). */
  readonly reason: AuthFailure;

  constructor(args: { reason: AuthFailure }) {
    super({ code: 'UNAUTHENTICATED', message: MESSAGES[args.reason], details: { reason: args.reason } });
    this.name = 'AuthError';
    this.reason = args.reason;
  }
}
