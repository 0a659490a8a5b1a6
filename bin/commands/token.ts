/**
 * `token <user>`: prints a signed token for a user, alone on stdout, so that
 * `curl -H "authorization: Bearer $(npx yieldsensei token demo)"` works. How the user is found
 * in each mode, and why, is credentials.ts's module comment.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { Role } from '../../lib/viewer.ts';
import { note, print, printJson } from './output.ts';
import { checkUserArgument, jsonOption, parseDuration } from './shared-options.ts';

/** issueToken's bounds. */
const MAX_LIFETIME_SEC = 366 * 24 * 3600;

/** Registers `token`. */
export function registerToken(program: Command): void {
  jsonOption(
    program
      .command('token')
      .summary('print a token for a user (alone on stdout)')
      .description('print a token for a user, alone on stdout (signed with the development key or AUTH_JWT_SECRET)')
      .argument('<user>', 'a handle (demo, whale) or a numeric user id', checkUserArgument)
      .addOption(new Option('--role <role>', 'the role the token grants').choices(['user', 'admin']).default('user'))
      .addOption(
        new Option('--expires <duration>', 'lifetime: 30s, 15m, 1h, 30d (at most 366d)')
          .argParser((value: string) => {
            const seconds = parseDuration(value);
            if (seconds < 1 || seconds > MAX_LIFETIME_SEC) throw new InvalidArgumentError('expected 1s to 366d');
            return seconds;
          })
          .default(3600, '1h'),
      )
      .option('--url <url>', 'the running gateway, asked for the user in embedded mode (env GATEWAY_URL)')
      .addHelpText(
        'after',
        `
How the user is found:
  DATABASE_URL set      one query to that Postgres.
  embedded (no URL)     the running gateway is asked (its PGlite belongs to it): a handle through
                        the demo user its GraphiQL page names, a numeric id with the id's own token.
                        Nothing running: a numeric id is signed unchecked; a handle cannot be resolved.
Keys: the development key in DATA_DIR (embedded mode) or AUTH_JWT_SECRET. With AUTH_JWKS_URL or
AUTH_PUBLIC_KEY tokens come from the identity provider: this command fails (exit 1).

Examples:
  npx yieldsensei token demo
  npm run token -- whale --role admin --expires 30d
  curl -H "authorization: Bearer $(npx yieldsensei token demo)" ...`,
      ),
  ).action(async (user: string, options: { role: Role; expires: number; url?: string; json?: boolean }) => {
    const { cliConfig, gatewayUrl, resolveUser, signingSecret, signToken } = await import('./credentials.ts');
    const config = cliConfig();
    const secret = await signingSecret(config);
    const found = await resolveUser({ config, secret, user, url: gatewayUrl(options) });
    if (found.checkedBy === 'unchecked') {
      note(
        `warning: no gateway answered at ${gatewayUrl(options)}; user ${found.id} is not checked (the token fails if it does not exist)`,
      );
    }
    const token = await signToken({
      config,
      secret,
      subject: found.id,
      role: options.role,
      expiresInSec: options.expires,
    });
    const expiresAt = new Date(Date.now() + options.expires * 1000).toISOString();
    if (options.json) {
      return printJson({ token, userId: found.id, handle: found.handle ?? null, role: options.role, expiresAt });
    }
    print(token);
    // Interactive use only: a script capturing stdout gets nothing else, on either stream.
    if (process.stdout.isTTY) {
      note(`(user ${found.handle ?? '?'} id ${found.id}, role ${options.role}, expires ${expiresAt})`);
    }
  });
}
