/**
 * The long-running processes: `start` (gateway and worker in one process, embedded defaults,
 * demo data), `gateway`, `worker`. Each is its bin/ entry point, imported: the same module
 * `npm start`, `npm run gateway`, `npm run worker` and the Docker image run, so there is one
 * definition of each process. They run until SIGINT/SIGTERM (bin/runtime.ts onShutdown).
 */
import type { Command } from 'commander';

/** Registers `start`, `gateway` and `worker`. */
export function registerServeCommands(program: Command): void {
  program
    .command('start')
    .summary('gateway and sync worker in one process (npm start)')
    .description(
      'run the gateway and the sync worker in one process (what npm start does): embedded tiers unless configured, demo data in empty tiers',
    )
    .action(async () => {
      await import('../start.ts');
    });

  program
    .command('gateway')
    .summary('the gateway alone')
    .description('run the gateway alone (production: ClickHouse a server, the worker apart)')
    .action(async () => {
      await import('../gateway.ts');
    });

  program
    .command('worker')
    .summary('the sync worker alone')
    .description('run the sync worker alone, with its health endpoint (WORKER_HEALTH_PORT)')
    .action(async () => {
      await import('../worker.ts');
    });
}
