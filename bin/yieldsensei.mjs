#!/usr/bin/env node
/**
 * The package's `yieldsensei` executable: runs bin/cli.ts on a Node that strips TypeScript
 * types (22.18 and later). On an older `node` (the machines ship Node 20) it re-executes the CLI
 * with the project's own Node 24 (the `node` devDependency, node_modules/.bin/node), forwarding
 * signals and the exit status. Plain JavaScript on purpose: it must run on the old Node too.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
const stripsTypes = major > 22 || (major === 22 && minor >= 18);

if (stripsTypes) {
  await import('./cli.ts');
} else {
  const node = path.join(here, '..', 'node_modules', '.bin', 'node');
  if (!existsSync(node)) {
    process.stderr.write(
      `yieldsensei: Node ${process.versions.node} cannot run TypeScript and ${node} is missing: run npm install, or use Node >= 22.18\n`,
    );
    process.exit(1);
  }
  const child = spawn(node, [path.join(here, 'cli.ts'), ...process.argv.slice(2)], { stdio: 'inherit' });
  // A terminal's Ctrl-C reaches both processes (one process group); a `kill` reaches only this
  // one. Forward both: the CLI's long-running commands ignore a repeated signal (bin/runtime.ts).
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('error', (error) => {
    process.stderr.write(`yieldsensei: cannot start ${node}: ${error.message}\n`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    if (signal) {
      // Die of the same signal, so a shell sees what the CLI saw.
      for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.removeAllListeners(s);
      process.kill(process.pid, signal);
    } else process.exit(code ?? 1);
  });
}
