/**
 * The production topology, checked without Docker or a network: docker-compose.yml against
 * the Compose Specification's JSON schema (vendored, test/fixtures/README.md), the app
 * services' environment against what lib/config.ts reads, the Prometheus scrape config
 * against the app services, the Grafana dashboard's queries against the metric families the
 * code registers, and the image (Dockerfile) against what the compose commands import.
 */
import fs from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import formats from 'ajv-formats';
import draft07 from 'ajv/dist/refs/json-schema-draft-07.json' with { type: 'json' };
import { collectDefaultMetrics, Registry } from 'prom-client';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const read = (file: string) => fs.readFileSync(path.join(root, file), 'utf8');
/** YAML with merge keys (`<<: *app`), as Compose reads it. */
const parseYaml = (file: string): unknown => YAML.parse(read(file), { merge: true });

interface Healthcheck {
  test?: string | string[];
  disable?: boolean;
}
interface Service {
  image?: string;
  build?: unknown;
  command?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  healthcheck?: Healthcheck;
  depends_on?: string[] | Record<string, { condition?: string }>;
  ports?: Array<string | { published?: string | number }>;
  volumes?: Array<string | { source?: string; target?: string }>;
  restart?: string;
}
interface ComposeFile {
  services: Record<string, Service>;
}

const compose = parseYaml('docker-compose.yml') as ComposeFile;
const services = Object.entries(compose.services);

/** The app services: the ones built from this repository's Dockerfile. */
const appServices = services.filter(([, s]) => s.build !== undefined);

/** The entry point a service runs (`node bin/gateway.ts` → gateway; `node bin/cli.ts worker` → worker). */
function roleOf(service: Service): { entry: string; role: string } {
  const args = typeof service.command === 'string' ? service.command.split(/\s+/) : (service.command ?? []);
  const i = args.findIndex((a) => /^bin\/[\w-]+\.ts$/.test(a));
  if (i < 0) throw new Error(`no bin/*.ts entry point in command ${JSON.stringify(service.command)}`);
  const entry = args[i]!;
  const role = entry === 'bin/cli.ts' ? (args[i + 1] ?? '') : path.basename(entry, '.ts');
  return { entry, role };
}

function environmentOf(service: Service): Map<string, string> {
  const env = new Map<string, string>();
  if (Array.isArray(service.environment)) {
    for (const item of service.environment) {
      const eq = item.indexOf('=');
      env.set(eq < 0 ? item : item.slice(0, eq), eq < 0 ? '' : item.slice(eq + 1));
    }
  } else {
    for (const [key, value] of Object.entries(service.environment ?? {}))
      env.set(key, value === null ? '' : String(value));
  }
  return env;
}

/** The port a long-running role serves /healthz, /readyz and /metrics on: the variable lib/config.ts reads for it. */
const METRICS_PORT_VARIABLE: Record<string, string> = { gateway: 'PORT', worker: 'WORKER_HEALTH_PORT' };
const longRunningApps = appServices.filter(([, s]) => roleOf(s).role in METRICS_PORT_VARIABLE);
const gateways = appServices.filter(([, s]) => roleOf(s).role === 'gateway');

function metricsPortOf(service: Service): string {
  const variable = METRICS_PORT_VARIABLE[roleOf(service).role]!;
  const port = environmentOf(service).get(variable);
  if (!port) throw new Error(`${variable} is not set`);
  return port;
}

describe('docker-compose.yml', () => {
  it('is valid against the Compose Specification schema', () => {
    const schema = JSON.parse(read('test/fixtures/compose-spec.json')) as { $schema: string };
    // strictTypes off: the upstream schema uses union types and leaves `type: object` implied
    // next to object keywords, which Ajv's strict type checks report. Unknown keywords are
    // still refused (strictSchema).
    const ajv = new Ajv({ allErrors: true, strictTypes: false });
    formats.default(ajv);
    // The schema names draft-07 by its https address; Ajv knows that meta-schema by its
    // http one. Registered under both, the vendored schema is itself checked against it.
    ajv.addMetaSchema({ ...draft07, $id: schema.$schema });
    const validate = ajv.compile(schema);
    const valid = validate(compose);
    expect(ajv.errorsText(validate.errors, { separator: '\n' }), 'docker-compose.yml').toBe('No errors');
    expect(valid).toBe(true);

    // The validator is not vacuous: a misspelt key is refused.
    const misspelt = structuredClone(compose) as unknown as { services: Record<string, Record<string, unknown>> };
    misspelt.services['redis']!['helthcheck'] = {};
    expect(validate(misspelt)).toBe(false);
  });

  it('runs migrate once, before two gateways and the worker', () => {
    const byRole = new Map<string, string[]>();
    for (const [name, s] of appServices) byRole.set(roleOf(s).role, [...(byRole.get(roleOf(s).role) ?? []), name]);
    expect(byRole.get('migrate')).toHaveLength(1);
    expect(byRole.get('gateway')).toHaveLength(2);
    expect(byRole.get('worker')).toHaveLength(1);

    const [migrate] = byRole.get('migrate')!;
    expect(compose.services[migrate!]!.restart).toBe('no');
    for (const [name, s] of longRunningApps) {
      expect(s.depends_on, name).toMatchObject({ [migrate!]: { condition: 'service_completed_successfully' } });
    }
    // Each gateway on its own host port (the container port is the same).
    const hostPorts = gateways.map(([, s]) => {
      const mapping = s.ports?.[0];
      return typeof mapping === 'string' ? mapping.replace(/:[^:]+$/, '') : String(mapping?.published);
    });
    expect(new Set(hostPorts).size).toBe(gateways.length);
  });

  it('has a health check on every long-running service, /readyz for the app', () => {
    for (const [name, s] of services) {
      if (s.restart === 'no') continue; // a one-shot: its exit code is what others wait for
      expect(s.healthcheck?.disable, name).not.toBe(true);
      expect(s.healthcheck?.test, name).toBeDefined();
    }
    for (const [name, s] of longRunningApps) expect(String(s.healthcheck!.test), name).toContain('/readyz');
  });

  it('sets only variables lib/config.ts reads', () => {
    // Every `read.<kind>('NAME', ...)` in lib/config.ts, the one reader of the environment.
    const known = new Set(
      [...read('lib/config.ts').matchAll(/\bread\.\w+\(\s*'([A-Z][A-Z0-9_]*)'/g)].map((m) => m[1]!),
    );
    expect(known).toContain('NODE_ENV');
    expect(known).toContain('AUTH_JWT_SECRET');
    // Variables the app services may set although lib/config.ts doesn't read them: none. A
    // name here would be one read elsewhere (a library's own variable, say), with the reason.
    const allowed = new Set<string>();
    for (const [name, s] of appServices) {
      const unknown = [...environmentOf(s).keys()].filter((key) => !known.has(key) && !allowed.has(key));
      expect(unknown, `${name} sets variables no code reads`).toEqual([]);
    }
  });

  it('configures every app service for production, with a token key from outside the file', () => {
    const keyVariables = ['AUTH_JWT_SECRET', 'AUTH_JWKS_URL', 'AUTH_PUBLIC_KEY'];
    for (const [name, s] of appServices) {
      const env = environmentOf(s);
      expect(env.get('NODE_ENV'), name).toBe('production');
      expect(
        keyVariables.filter((key) => env.has(key)),
        `${name}: exactly one token key`,
      ).toHaveLength(1);
      // The secret is required from the shell or .env (`${VAR:?message}`): no default, no literal.
      if (env.has('AUTH_JWT_SECRET'))
        expect(env.get('AUTH_JWT_SECRET'), name).toMatch(/^\$\{AUTH_JWT_SECRET:\?[^}]+\}$/);
      expect(env.get('AUTH_ISSUER'), name).toBeTruthy();
      expect(env.get('AUTH_AUDIENCE'), name).toBeTruthy();
    }
  });
});

interface ScrapeConfig {
  job_name: string;
  metrics_path?: string;
  scheme?: string;
  static_configs?: Array<{ targets: string[] }>;
}

describe('deploy/prometheus.yml', () => {
  it('scrapes /metrics of every long-running app service', () => {
    const prometheus = parseYaml('deploy/prometheus.yml') as { scrape_configs: ScrapeConfig[] };
    const scraped = new Set(
      prometheus.scrape_configs
        .filter((job) => (job.metrics_path ?? '/metrics') === '/metrics' && (job.scheme ?? 'http') === 'http')
        .flatMap((job) => (job.static_configs ?? []).flatMap((c) => c.targets)),
    );
    expect(longRunningApps.length).toBeGreaterThanOrEqual(3);
    for (const [name, s] of longRunningApps) expect([...scraped], name).toContain(`${name}:${metricsPortOf(s)}`);
  });

  it('is the file the prometheus service mounts', () => {
    const volumes = (compose.services['prometheus']?.volumes ?? []).map(String);
    expect(volumes).toContain('./deploy/prometheus.yml:/etc/prometheus/prometheus.yml:ro');
  });
});

/** The metric names a PromQL expression selects (functions, labels, keywords and durations left out). */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""') // strings
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // ranges and subqueries
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ') // label lists
    .replace(/\$\{[^}]*\}|\$\w+/g, ' '); // Grafana variables
  const keywords = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset']);
  keywords.add('and').add('or').add('unless').add('inf').add('nan');
  const names = [...stripped.matchAll(/(?<![\w.:])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()/g)].map((m) => m[1]!);
  return [...new Set(names.filter((n) => !keywords.has(n.toLowerCase())))];
}

interface Panel {
  title?: string;
  type: string;
  datasource?: { uid?: string };
  targets?: Array<{ expr?: string; datasource?: { uid?: string } }>;
  panels?: Panel[];
}

describe('deploy/grafana', () => {
  const dashboard = JSON.parse(read('deploy/grafana/dashboards/yieldsensei.json')) as { panels: Panel[] };
  const panels = (list: Panel[]): Panel[] => list.flatMap((p) => [p, ...panels(p.panels ?? [])]);
  const queries = panels(dashboard.panels).flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, ...t })));

  it('reads PromQL metric names', () => {
    expect(
      metricNames(
        'histogram_quantile(0.99, sum by (le, operation) (rate(graphql_operation_duration_seconds_bucket{job=~"a|b"}[$__rate_interval])))',
      ),
    ).toEqual(['graphql_operation_duration_seconds_bucket']);
    expect(metricNames('sum(rate(a_total[5m] offset 1h)) / (sum(rate(b{m="x"}[5m])) + 1e3)')).toEqual(['a_total', 'b']);
  });

  it('queries only metric families the code registers', async () => {
    // `name: '...'` of every family: the gateway's, the worker's and the shared ones.
    const files = ['gateway/metrics.ts', 'sync-worker/metrics.ts', 'lib/metrics.ts'].map(read);
    const registered = new Set(
      files.flatMap((src) => [...src.matchAll(/\bname: '([a-z_:][a-z0-9_:]*)'/g)].map((m) => m[1]!)),
    );
    const histograms = files.flatMap((src) =>
      [...src.matchAll(/new (?:Histogram|Summary)\(\{[^}]*?\bname: '([a-z_:][a-z0-9_:]*)'/g)].map((m) => m[1]!),
    );
    for (const h of histograms) for (const suffix of ['_bucket', '_sum', '_count']) registered.add(h + suffix);
    // prom-client's default process metrics: every entry point registers them (bin/runtime.ts).
    const defaults = new Registry();
    collectDefaultMetrics({ register: defaults });
    for (const m of await defaults.getMetricsAsJSON()) {
      registered.add(m.name);
      if (String(m.type) === 'histogram')
        for (const suffix of ['_bucket', '_sum', '_count']) registered.add(m.name + suffix);
    }
    // The series Prometheus itself writes for every target.
    registered.add('up');

    expect(queries.length).toBeGreaterThan(20);
    const unknown = queries.flatMap((q) =>
      metricNames(q.expr ?? '')
        .filter((n) => !registered.has(n))
        .map((n) => `${q.panel}: ${n}`),
    );
    expect(unknown).toEqual([]);
  });

  it('queries the provisioned Prometheus datasource', () => {
    const provisioned = parseYaml('deploy/grafana/provisioning/datasources/prometheus.yml') as {
      datasources: Array<{ uid: string; url: string }>;
    };
    const [prometheus] = provisioned.datasources;
    expect(prometheus!.url).toBe('http://prometheus:9090');
    for (const q of queries) expect(q.datasource?.uid, q.panel).toBe(prometheus!.uid);
  });
});

describe('Dockerfile', () => {
  /**
   * Dependencies production code imports that the image doesn't install (package.json lacks
   * them; the Dockerfile installs with --omit=dev): none. (@graphql-tools/utils was one, found
   * by this test: it came only through dev tooling.)
   */
  const KNOWN_MISSING: string[] = [];

  it('installs production dependencies only, and runs the gateway by default', () => {
    const dockerfile = read('Dockerfile');
    expect(dockerfile).toMatch(/npm install --omit=dev/);
    expect(dockerfile).toMatch(/^CMD \["node", "bin\/gateway\.ts"\]$/m);
  });

  it('holds everything each compose command imports, dependencies included', () => {
    const pkg = JSON.parse(read('package.json')) as {
      dependencies?: Record<string, string>;
      optionalDependencies?: Record<string, string>;
    };
    const installed = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {})]);
    const builtins = new Set(builtinModules);
    // The services' commands, the image's default (CMD) and the ones docker-compose.yml's
    // comments tell operators to run in the image.
    const documented = [...read('docker-compose.yml').matchAll(/^#.*\bnode (bin\/[\w-]+\.ts)\b/gm)].map((m) => m[1]!);
    const entries = new Set([...appServices.map(([, s]) => roleOf(s).entry), 'bin/gateway.ts', ...documented]);
    const missing = new Set<string>();
    const problems: string[] = [];
    const seen = new Set<string>();
    const queue = [...entries];
    while (queue.length > 0) {
      const file = queue.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      // .dockerignore leaves tests and their helpers out of the image.
      if (file.startsWith('test/') || file.endsWith('.test.ts')) problems.push(`${file} is not in the image`);
      if (!fs.existsSync(path.join(root, file))) {
        problems.push(`${file} does not exist`);
        continue;
      }
      for (const specifier of runtimeImports(read(file))) {
        if (specifier.startsWith('.')) {
          const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier));
          if (target.endsWith('.ts')) queue.push(target);
          continue;
        }
        if (specifier.startsWith('node:') || builtins.has(specifier)) continue;
        const name = specifier
          .split('/')
          .slice(0, specifier.startsWith('@') ? 2 : 1)
          .join('/');
        if (!installed.has(name)) missing.add(name);
      }
    }
    expect(seen.size).toBeGreaterThan(20);
    expect(problems).toEqual([]);
    expect([...missing].sort(), 'imported by production code, not in package.json dependencies').toEqual(KNOWN_MISSING);
  });
});

/**
 * The modules a source file loads at run time: static imports and re-exports that are not
 * `import type`/`export type` (Node's type stripping erases only those), dynamic `import()`
 * and `require()`/`require.resolve()` of a string literal.
 */
function runtimeImports(source: string): string[] {
  const file = ts.createSourceFile('x.ts', source, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) && !node.importClause?.isTypeOnly && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push(node.moduleSpecifier.text);
    } else if (
      ts.isExportDeclaration(node) &&
      !node.isTypeOnly &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      found.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.arguments.length > 0 && ts.isStringLiteral(node.arguments[0]!)) {
      const callee = node.expression;
      const isImport = callee.kind === ts.SyntaxKind.ImportKeyword;
      const isRequire =
        (ts.isIdentifier(callee) && callee.text === 'require') ||
        (ts.isPropertyAccessExpression(callee) &&
          ts.isIdentifier(callee.expression) &&
          callee.expression.text === 'require' &&
          callee.name.text === 'resolve');
      if (isImport || isRequire) found.push(node.arguments[0].text);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}
