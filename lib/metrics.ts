/**
 * Process metrics in the Prometheus text format (prom-client), one registry per process,
 * created by the entry point and handed to every component that counts something. Nothing is a
 * module-level singleton: tests create their own registry and read it.
 */
import { Counter, Registry } from 'prom-client';

/** The metric families every component may use; components register their own on `registry`. */
export interface Metrics {
  readonly registry: Registry;
  /** Errors that were handled without failing a request (logged too): none is silent. */
  readonly handledErrors: Counter<'component'>;
  /** Statements sent to each tier (SQL statements, Redis commands, searches, publishes). */
  readonly statements: Counter<'tier'>;
}

/** Creates a registry with the shared families. */
export function createMetrics(): Metrics {
  const registry = new Registry();
  const handledErrors = new Counter({
    name: 'yieldsensei_handled_errors_total',
    help: 'Errors handled without failing a request (a fallback was used), by component',
    labelNames: ['component'] as const,
    registers: [registry],
  });
  const statements = new Counter({
    name: 'tier_statements_total',
    help: 'Statements sent to each tier: SQL statements, Redis commands, vector searches, bus publishes',
    labelNames: ['tier'] as const,
    registers: [registry],
  });
  return { registry, handledErrors, statements };
}

const registered = new WeakMap<Registry, Map<string, unknown>>();

/**
 * The metric families `name` registers on `registry`, created once per registry: a process
 * may build two gateways or workers on one registry (tests do), and prom-client refuses a
 * family registered twice.
 */
export function oncePerRegistry<T>(registry: Registry, name: string, create: () => T): T {
  let byName = registered.get(registry);
  if (!byName) registered.set(registry, (byName = new Map()));
  if (!byName.has(name)) byName.set(name, create());
  return byName.get(name) as T;
}

/**
 * Reports an error that is handled (a fallback answers instead): logged and counted, never
 * swallowed. `component` names where, e.g. `prices.refill`.
 */
export type ErrorReporter = (component: string, error: unknown) => void;

/**
 * An error reporter counting every error in `metrics` and logging through `log`, at most once
 * per component every `logEveryMs` (a tier that is down fails every request: the count says
 * how many, the log says what, without a line per request).
 */
export function createErrorReporter(options: {
  log: (message: string, fields: Record<string, unknown>) => void;
  metrics: Metrics;
  logEveryMs?: number;
}): ErrorReporter {
  const every = options.logEveryMs ?? 10_000;
  const lastLogged = new Map<string, { at: number; suppressed: number }>();
  return (component, error) => {
    options.metrics.handledErrors.inc({ component });
    const now = Date.now();
    const last = lastLogged.get(component);
    if (last && now - last.at < every) {
      last.suppressed++;
      return;
    }
    lastLogged.set(component, { at: now, suppressed: 0 });
    options.log('handled error; answered with a fallback', {
      component,
      error,
      suppressedSinceLast: last?.suppressed ?? 0,
    });
  };
}
