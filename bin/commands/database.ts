/**
 * Local commands on the configured tiers: `migrate`, `seed`, `prune`. They open the tiers
 * themselves (bin/runtime.ts `boot`: migrations and capture first), so in embedded mode they
 * need DATA_DIR to themselves: not beside a running `npm start` (PGlite and chDB are
 * single-process).
 */
import type { Command } from 'commander';
import type { Runtime } from '../runtime.ts';
import { print, printJson } from './output.ts';
import { jsonOption } from './shared-options.ts';

type Options = { json?: boolean };

/** Registers `migrate`, `seed` and `prune`. */
export function registerDatabaseCommands(program: Command): void {
  jsonOption(
    program
      .command('migrate')
      .summary('apply pending migrations, then exit')
      .description('apply pending Postgres and ClickHouse migrations and install capture, then exit (safe to re-run)'),
  ).action(async (options: Options) => {
    await withRuntime('migrate', async () => {
      if (options.json) printJson({ migrated: true });
      else print('migrations up to date');
    });
  });

  jsonOption(
    program
      .command('seed')
      .summary('load the demo data into empty tiers')
      .description('load the deterministic demo data into empty tiers (does nothing when users exist)'),
  ).action(async (options: Options) => {
    await withRuntime('seed', async (runtime) => {
      const { seedDemoData } = await import('../../demo/seed.ts');
      const loaded = await seedDemoData({ tiers: runtime.tiers, logger: runtime.logger });
      if (options.json) printJson({ loaded });
      else print(loaded ? 'demo data loaded' : 'the database already has users: nothing loaded');
    });
  });

  jsonOption(
    program
      .command('prune')
      .summary('delete processed changes past the retention')
      .description('delete processed changes older than the retention (CDC_RETENTION_MS) from the change log'),
  ).action(async (options: Options) => {
    await withRuntime('prune', async (runtime) => {
      const { pruneProcessed } = await import('../../changelog/queue.ts');
      const pruned = await pruneProcessed(runtime.tiers.postgres, runtime.config.cdc.retentionMs);
      if (options.json) printJson({ pruned });
      else print(`${pruned} processed change(s) pruned`);
    });
  });
}

/** Boots the runtime (config from the environment, migrations), runs `fn`, and closes it. */
async function withRuntime(name: string, fn: (runtime: Runtime) => Promise<void>): Promise<void> {
  const { boot } = await import('../runtime.ts');
  const runtime = await boot(name);
  try {
    await fn(runtime);
  } finally {
    await runtime.close();
  }
}
