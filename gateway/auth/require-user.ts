/** Guards for resolvers: one check and one message per rule, so every field refuses alike. */
import { AppError } from '../../lib/errors.ts';
import { AuthError } from './auth-error.ts';
import type { Role, UserViewer, Viewer } from '../../lib/viewer.ts';

/** The signed-in viewer; an anonymous one is refused with UNAUTHENTICATED. */
export function requireUser(viewer: Viewer): UserViewer {
  if (viewer.kind === 'user') return viewer;
  throw new AuthError({ reason: 'required' });
}

/** The signed-in viewer holding `role` (admins hold every role); otherwise FORBIDDEN. */
export function requireRole(viewer: Viewer, role: Role): UserViewer {
  const user = requireUser(viewer);
  if (user.role === role || user.role === 'admin') return user;
  throw new AppError({ code: 'FORBIDDEN', message: `This operation needs the ${role} role` });
}
