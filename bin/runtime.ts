/**
 * How a process is composed, in one place for every entry point, test stack and benchmark:
 * config (from the environment: entry points are the only readers of it), logger, metrics,
 * the error reporter, the tiers (migrated, capture installed), and the apps built on them.
 */
import { prepareTiers } from '../changelog/prepare.ts';
import { createGateway, type Gateway, type GatewayOptions } from '../gateway/app.ts';
import { authenticatorFromConfig, keySourceOf } from '../gateway/auth/from-config.ts';
import { issueToken } from '../gateway/auth/issue-token.ts';
import { exampleOperations } from '../gateway/graphiql.ts';
import { loadConfig, type Config, type ConfigOverrides, type Env } from '../lib/config.ts';
import { AppError } from '../lib/errors.ts';
import { createLogger, type Logger, type LogLevel } from '../lib/logger.ts';
import { createErrorReporter, createMetrics, type ErrorReporter, type Metrics } from '../lib/metrics.ts';
import { collectDefaultMetrics } from 'prom-client';
import { startTracing } from '../lib/tracing.ts';
import type { StatementObserver } from '../stores/observer.ts';
import { createTiers, type Tiers } from '../stores/tiers.ts';
import { createSyncWorker, type SyncWorker } from '../sync-worker/worker.ts';

/** Everything a process runs on. */
export interface Runtime {
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly report: ErrorReporter;
  readonly tiers: Tiers;
  /** Closes the tiers and flushes traces. */
  close(): Promise<void>;
}

/** Reads the config; a bad value stops the process with a message naming the key (exit code 2). */
export function configOrExit(name: string, env: Env, overrides?: ConfigOverrides): Config {
  try {
    return loadConfig(env, overrides);
  } catch (error) {
    process.stderr.write(`${name}: ${error instanceof AppError ? error.message : String(error)}\n`);
    process.exit(2);
  }
}

/** Opens and prepares the tiers of `config` (migrations, capture). */
export async function openRuntime(options: {
  name: string;
  config: Config;
  logLevel?: LogLevel;
  observer?: StatementObserver;
  /** Register Node's default process metrics (entry points; not test stacks, which share a process). */
  processMetrics?: boolean;
}): Promise<Runtime> {
  const { config } = options;
  const logger = createLogger({ level: options.logLevel ?? config.logLevel, namespace: options.name });
  const metrics = createMetrics();
  if (options.processMetrics) collectDefaultMetrics({ register: metrics.registry });
  const report = createErrorReporter({ log: (m, f) => logger.warn(m, f), metrics });
  const tracing = config.tracing.otlpEndpoint
    ? await startTracing({
        endpoint: config.tracing.otlpEndpoint,
        serviceName: `${config.tracing.serviceName}-${options.name}`,
      })
    : undefined;
  // Every statement is counted on /metrics, and told to the caller's observer (tests, benchmarks).
  const statements = metrics.statements;
  const outer = options.observer;
  const observer: StatementObserver = (tier, statement) => {
    statements.inc({ tier });
    outer?.(tier, statement);
  };
  const tiers = await createTiers({ config, logger, observer, report });
  const close = async () => {
    await tiers.close();
    await tracing?.stop();
  };
  try {
    await prepareTiers({ tiers, config, logger: logger.child('migrate') });
  } catch (error) {
    await close();
    throw error;
  }
  return { config, logger, metrics, report, tiers, close };
}

/** Loads config from the environment, then opens the runtime (the entry points' start). */
export async function boot(name: string, overrides?: ConfigOverrides): Promise<Runtime> {
  const config = configOrExit(name, process.env, overrides);
  return openRuntime({ name, config, processMetrics: true });
}

/** The gateway on a runtime: its authenticator, and in embedded mode GraphiQL's demo examples and token. */
export async function buildGateway(
  runtime: Runtime,
  extra: Partial<Pick<GatewayOptions, 'graphiql'>> = {},
): Promise<Gateway> {
  const authenticator = await authenticatorFromConfig(runtime.config, runtime.logger);
  return createGateway({
    ...runtime,
    authenticator,
    rateLimiter: runtime.tiers.rateLimiter,
    graphiql: extra.graphiql ?? (await graphiqlDefaults(runtime)),
  });
}

/** The sync worker on a runtime, with every job kind. */
export function buildWorker(
  runtime: Runtime,
  extra: Pick<Parameters<typeof createSyncWorker>[0], 'onApplied'> = {},
): SyncWorker {
  return createSyncWorker({
    ...runtime,
    onApplied: extra.onApplied,
  });
}

/** A token for `handle` signed with the deployment's development key (embedded mode only). */
export async function developmentToken(
  runtime: Pick<Runtime, 'config' | 'tiers'>,
  handle: string,
  role: 'user' | 'admin' = 'user',
): Promise<string | undefined> {
  const { config } = runtime;
  if (config.auth.key.kind !== 'development' && config.auth.key.kind !== 'secret') return undefined;
  const key = await keySourceOf(config);
  if (key.kind !== 'secret') return undefined;
  const [user] = await runtime.tiers.postgres.query<{ id: string }>(
    'SELECT id::text AS id FROM users WHERE handle = $1',
    [handle],
  );
  if (!user) return undefined;
  return issueToken({
    secret: key.secret,
    subject: user.id,
    role,
    issuer: config.auth.issuer,
    audience: config.auth.audience,
    expiresInSec: 30 * 24 * 3600,
  });
}

/** GraphiQL's examples for the demo user and, with the development key, the demo user's token prefilled. */
async function graphiqlDefaults(runtime: Runtime): Promise<GatewayOptions['graphiql']> {
  if (!runtime.config.gateway.graphiql) return undefined;
  const [demo] = await runtime.tiers.postgres.query<{ id: string }>(
    `SELECT id::text AS id FROM users WHERE handle = 'demo'`,
  );
  const token = runtime.config.auth.key.kind === 'development' ? await developmentToken(runtime, 'demo') : undefined;
  return {
    examples: exampleOperations({ demoUserId: demo?.id }),
    defaultHeaders: token ? { authorization: `Bearer ${token}` } : undefined,
  };
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
      (error: unknown) => {
        logger.error('shutdown failed', { error });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}
