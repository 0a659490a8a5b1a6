/**
 * What every entry point shares: config from the environment (the only place it is read),
 * a logger, the tiers, migrations, and graceful shutdown on SIGINT/SIGTERM.
 */
import { loadConfig, type Config } from '../lib/config.ts';
import { AppError } from '../lib/errors.ts';
import { createLogger, type Logger } from '../lib/logger.ts';
import { createTiers, type Tiers } from '../stores/tiers.ts';
import { prepareTiers } from '../sync-worker/capture.ts';

export interface Runtime {
  readonly config: Config;
  readonly logger: Logger;
  readonly tiers: Tiers;
}

/** Loads config, opens and migrates the tiers, installs capture; exits with a clear message on bad config. */
export async function boot(name: string): Promise<Runtime> {
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    process.stderr.write(`${name}: ${error instanceof AppError ? error.message : String(error)}\n`);
    process.exit(2);
  }
  const logger = createLogger({ level: config.logLevel, namespace: name });
  const tiers = await createTiers({ config, logger });
  await prepareTiers({ tiers, config, logger: logger.child('migrate') });
  return { config, logger, tiers };
}

/**
 * Runs `stop` once on the first SIGINT/SIGTERM, then exits. Repeated signals are ignored: the
 * `node` package's launcher forwards a terminal's Ctrl-C to this process, which the terminal
 * also signals, so one Ctrl-C can arrive twice. A shutdown that hangs is cut after 15 s.
 */
export function onShutdown(logger: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal });
    setTimeout(() => {
      logger.error('shutdown timed out; exiting');
      process.exit(1);
    }, 15_000).unref();
    stop().then(
      () => process.exit(0),
      (error) => {
        logger.error('shutdown failed', { error });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}
