/**
 * `npx yieldsensei <command>` (through bin/yieldsensei.mjs, which picks a Node that runs
 * TypeScript), or `node bin/cli.ts <command>`: one CLI for running and operating YieldSensei.
 * The commands are bin/commands/; `yieldsensei --help` lists them.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from './commands/program.ts';

// npm scripts (`npm start`) run at the project root, npx in whatever directory it is called
// from; config's default DATA_DIR is relative to the working directory. Pinning the default to
// the project's .data makes both reach the same embedded data and development key.
process.env['DATA_DIR'] ||= path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '.data');

const outcome = await runCli(process.argv.slice(2));
// A one-shot command is done: exit now rather than wait for idle keep-alive sockets. Output is
// written synchronously (stdout and stderr to files, pipes and terminals on Linux; pino's sync
// destination), so nothing is cut.
if (outcome !== 'running') process.exit(outcome);
