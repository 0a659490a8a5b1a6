/**
 * Options several commands share, argument parsers whose failures are usage errors (exit 2),
 * and the lazy way to a gateway client. This module and the command modules load nothing heavy
 * at import: `--help` and parse errors answer fast; each action imports what it uses.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { isUserId } from '../../lib/ids.ts';
import type { GatewayOptions } from './credentials.ts';
import { DEFAULT_GATEWAY_URL, type GatewayClient } from './gateway-client.ts';

/** The gateway client of a remote command (credentials.ts `adminGateway`, loaded on first use). */
export async function connect(options: GatewayOptions, command: string): Promise<GatewayClient> {
  const { adminGateway } = await import('./credentials.ts');
  return adminGateway(options, command);
}

/** `--url`, `--token` and `--json`: the options of every command that talks to the gateway. */
export function gatewayOptions(command: Command): Command {
  return command
    .option('--url <url>', `the gateway's GraphQL URL (env GATEWAY_URL; default ${DEFAULT_GATEWAY_URL})`)
    .option(
      '--token <jwt>',
      'an admin token (env GATEWAY_TOKEN, which keeps it out of `ps`); minted automatically with the embedded development key',
    )
    .option('--json', 'print one JSON document on stdout');
}

/** `--json` alone (local commands). */
export function jsonOption(command: Command): Command {
  return command.option('--json', 'print one JSON document on stdout');
}

/** A parser of integers from 1 to `max`. */
export function positiveInt(max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isInteger(n) || n < 1 || n > max) {
      throw new InvalidArgumentError(`expected an integer from 1 to ${max}, got ${JSON.stringify(value)}`);
    }
    return n;
  };
}

/** Parses a lifetime such as `90s`, `15m`, `1h`, `30d` (a bare number is seconds) into seconds. */
export function parseDuration(text: string): number {
  const match = /^(\d{1,9})(s|m|h|d)?$/.exec(text.trim());
  if (!match)
    throw new InvalidArgumentError(`expected a duration such as 30s, 15m, 1h or 30d, got ${JSON.stringify(text)}`);
  const unit = { s: 1, m: 60, h: 3600, d: 86_400 }[(match[2] ?? 's') as 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}

const HANDLE = /^[a-z0-9_]{2,32}$/;

/** Checks a `<user>` argument: a handle (as users.handle allows) or a numeric id. */
export function checkUserArgument(user: string): string {
  if (!isUserId(user) && !HANDLE.test(user)) {
    throw new InvalidArgumentError(
      `<user> must be a handle (2-32 of a-z, 0-9, _) or a numeric user id, got ${JSON.stringify(user)}`,
    );
  }
  return user;
}
