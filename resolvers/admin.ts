/** Admin operations need the configured admin token: one check, one message, for all of them. */
import { AppError } from '../lib/errors.ts';
import type { Context } from './context.ts';

export function requireAdmin(ctx: Context, operation: string): void {
  if (ctx.admin) return;
  throw new AppError({
    code: 'FORBIDDEN',
    message: ctx.config.adminToken
      ? `${operation} needs a valid x-admin-token header`
      : 'Admin operations are disabled: set ADMIN_TOKEN',
  });
}
