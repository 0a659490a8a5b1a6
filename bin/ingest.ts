/**
 * `npm run ingest -- [file.jsonl] [--url URL] [--token JWT] [--batch-size N]`: an alias of
 * `yieldsensei ingest` (bin/commands/ingest.ts), kept for existing scripts.
 */
import { runCli } from './commands/program.ts';

const outcome = await runCli(['ingest', ...process.argv.slice(2)], { errorPrefix: 'ingest' });
if (outcome !== 'running') process.exit(outcome);
