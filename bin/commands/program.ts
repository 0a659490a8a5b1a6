/**
 * The `yieldsensei` program (commander): every command, and the one place that turns an
 * outcome into an exit code: 0 done, 1 failed (a CliError, or anything unexpected), 2 usage
 * (commander's parse errors, a CliError marked so, a bad config value).
 */
import { Command, CommanderError } from 'commander';
import { createRequire } from 'node:module';
import { CliError, messageOf } from './cli-error.ts';
import { registerDatabaseCommands } from './database.ts';
import { registerDeadLetters } from './dead-letters.ts';
import { registerIngest } from './ingest.ts';
import { registerJobCommands } from './jobs.ts';
import { registerServeCommands } from './serve.ts';
import { registerStatusCommands } from './status.ts';
import { registerToken } from './token.ts';

/** Commands that keep running after their action returns (servers). */
const LONG_RUNNING = new Set(['start', 'gateway', 'worker']);

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

/** Builds the program; errors surface as exceptions (exitOverride), never as process.exit. */
export function buildProgram(): Command {
  const program = new Command('yieldsensei')
    .description('YieldSensei: run the gateway and the sync worker, and operate them')
    .version(version)
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .addHelpText(
      'after',
      `
Local commands open the configured tiers (environment: DATABASE_URL, DATA_DIR...; see README).
The others call a running gateway: --url or GATEWAY_URL (default http://127.0.0.1:4000/graphql),
with --token or GATEWAY_TOKEN, or an admin token minted with the embedded development key.
Exit codes: 0 done, 1 failed (a FAILED job, drift beyond tolerance, health DOWN), 2 usage error.`,
    );
  program.commandsGroup('Processes:');
  registerServeCommands(program);
  program.commandsGroup('Setup (local: open the configured tiers):');
  registerDatabaseCommands(program);
  program.commandsGroup('Access:');
  registerToken(program);
  program.commandsGroup('Operations (through a running gateway):');
  registerIngest(program);
  registerJobCommands(program);
  registerStatusCommands(program);
  registerDeadLetters(program);
  return program;
}

/**
 * Runs the command line `args` (without node and script). Resolves to the exit code, or to
 * 'running' when a long-running command (a server) started and the process must stay up.
 */
export async function runCli(
  args: readonly string[],
  options: {
    /** How errors are prefixed on stderr (default `yieldsensei <command>`); aliases keep their old prefix. */
    errorPrefix?: string;
  } = {},
): Promise<number | 'running'> {
  const program = buildProgram();
  let command = 'yieldsensei';
  program.hook('preAction', (_, action) => {
    command = action.name();
  });
  try {
    await program.parseAsync([...args], { from: 'user' });
    return LONG_RUNNING.has(command) ? 'running' : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has printed the message (or the help); --help and --version are successes.
      return error.exitCode === 0 ? 0 : 2;
    }
    // Credentials must not reach a terminal or a log by way of an error message.
    const { scrub } = await import('../../lib/logger.ts');
    const name = options.errorPrefix ?? (command === 'yieldsensei' ? command : `yieldsensei ${command}`);
    process.stderr.write(`${name}: ${scrub(messageOf(error))}\n`);
    return error instanceof CliError ? error.exitCode : 1;
  }
}
