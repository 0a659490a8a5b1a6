/**
 * `npm run cdc -- <command>`: aliases of `yieldsensei` commands, kept for existing scripts.
 *   force-sync <table>              yieldsensei sync <table>           (through the gateway)
 *   stats                           yieldsensei stats                  (through the gateway)
 *   redrive [--table T] [--seq N]   yieldsensei dead-letters --redrive (through the gateway)
 *   prune                           yieldsensei prune                  (local)
 * Other options (--url, --token, --json) pass through. `--batch-size` of force-sync is gone: the
 * copy now runs in the sync worker, with its BACKFILL_BATCH_SIZE.
 */
import { runCli } from './commands/program.ts';

const USAGE =
  'usage: npm run cdc -- force-sync <table> | stats | redrive [--table T] [--seq N] | prune  (aliases of npx yieldsensei sync, stats, dead-letters --redrive, prune)';

const [command, ...rest] = process.argv.slice(2);
let args: string[] | undefined;
if (command === 'force-sync') {
  const i = rest.indexOf('--batch-size');
  if (i >= 0) {
    process.stderr.write('cdc force-sync: --batch-size is ignored: the worker copies with its BACKFILL_BATCH_SIZE\n');
    rest.splice(i, 2);
  }
  args = ['sync', ...rest];
} else if (command === 'stats' || command === 'prune') {
  args = [command, ...rest];
} else if (command === 'redrive') {
  args = ['dead-letters', '--redrive', ...rest.map((a) => (a === '--seq' ? '--sequence' : a))];
}
if (!args) {
  process.stderr.write(`${USAGE}\n`);
  process.exit(2);
}
const outcome = await runCli(args, { errorPrefix: `cdc ${command}` });
if (outcome !== 'running') process.exit(outcome);
