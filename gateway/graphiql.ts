/**
 * GraphiQL served entirely from node_modules: Apollo's default landing page loads its UI
 * from a CDN and is blank on an offline network, so we serve GraphiQL 3's UMD build with
 * React 18's and graphql-ws's browser client, read once at startup. Queries and mutations go
 * over HTTP, subscriptions over graphql-ws on the same path; the page names no origin, so it
 * works behind any host, port or TLS terminator.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { AppError } from '../lib/errors.ts';

const require = createRequire(import.meta.url);

const ASSETS: Record<string, { file: string; type: string }> = {
  'react.js': { file: 'react/umd/react.production.min.js', type: 'text/javascript' },
  'react-dom.js': { file: 'react-dom/umd/react-dom.production.min.js', type: 'text/javascript' },
  'graphiql.js': { file: 'graphiql/graphiql.min.js', type: 'text/javascript' },
  'graphiql.css': { file: 'graphiql/graphiql.min.css', type: 'text/css' },
  // graphql-ws's own UMD build (10 kB, global `graphqlWs`), the same version as the server's.
  // GraphiQL's bundle carries graphql-ws 5 for its `subscriptionUrl` option, but that path
  // opens a socket per subscription and forwards every header, in whatever case it was typed.
  'graphql-ws.js': { file: 'graphql-ws/umd/graphql-ws.min.js', type: 'text/javascript' },
};

/** An operation preloaded as a GraphiQL tab (the tab's title is the operation's name). */
export interface GraphiqlExample {
  /** What the operation shows; the first line of the tab, as a comment. */
  readonly name: string;
  readonly query: string;
  readonly variables?: Readonly<Record<string, unknown>>;
}

/** What the GraphiQL page is built with. */
export interface GraphiqlOptions {
  /** Path of the GraphQL endpoint, for HTTP and for graphql-ws alike. */
  readonly endpointPath: string;
  /** URL path the assets are served under. */
  readonly assetPrefix: string;
  /** Tabs a first visit opens with; defaults to `exampleOperations()`. Later visits keep their own tabs. */
  readonly examples?: readonly GraphiqlExample[];
  /**
   * Prefilled in the header editor of the example tabs and of new tabs, and sent with every
   * operation unless the editor sets the same header (case-insensitively): GraphiQL keeps
   * no headers across reloads, and the tabs it restores would otherwise lose them.
   */
  readonly defaultHeaders?: Readonly<Record<string, string>>;
}

/** The page and its static assets. */
export interface GraphiqlAssets {
  /** The HTML page for the GraphQL endpoint at `endpointPath`. */
  readonly html: string;
  /** Static asset by file name, or undefined. */
  asset(name: string): { body: Buffer; type: string } | undefined;
}

/**
 * The demo's example operations: the demo user's portfolio, ETH's market data and the demo
 * user's live portfolio updates. The user's id comes from an identity column, so the caller
 * looks it up; without it the subscription's `userId` variable is left for the user to fill.
 */
export function exampleOperations(options: { demoUserId?: string } = {}): GraphiqlExample[] {
  return [
    {
      name: 'The demo user holds 20+ assets. Try ⌘/Ctrl-Enter.',
      query: `query DemoPortfolio {
  user(handle: "demo") {
    id
    handle
    portfolio {
      totalValueUsd
      holdings {
        quantity
        valueUsd
        protocol { name }
        asset { symbol name chain latestPrice change24h similar(k: 3) { score asset { symbol } } }
      }
    }
  }
}
`,
    },
    {
      name: 'Hourly ETH candles for the last 24 hours, and its latest price.',
      query: `query MarketData {
  marketData(assetId: "ETH", interval: HOUR) { bucket open high low close volume }
  asset(id: "ETH") { latestPrice change24h }
}
`,
    },
    {
      name:
        options.demoUserId === undefined
          ? "Live: set userId to DemoPortfolio's user id, start, then change a holding."
          : "Live: start it, then change one of the demo user's holdings.",
      query: `subscription PortfolioUpdated($userId: ID!) {
  portfolioUpdated(userId: $userId) {
    holdingId
    holding { quantity asset { symbol } }
    portfolio { totalValueUsd }
  }
}
`,
      variables: { userId: options.demoUserId ?? '' },
    },
  ];
}

/** Reads the UI assets once and renders the page; `assetPrefix` is the URL path they are served under. */
export function loadGraphiql(options: GraphiqlOptions): GraphiqlAssets {
  const endpointPath = checkPath('endpointPath', options.endpointPath);
  // Without its trailing slash: "/" would otherwise make "//react.js", another host's URL.
  const prefix = checkPath('assetPrefix', options.assetPrefix).replace(/\/+$/, '');
  const examples = checkExamples(options.examples ?? exampleOperations());
  const headers = checkHeaders(options.defaultHeaders ?? {});

  const nodeModules = path.dirname(path.dirname(require.resolve('graphiql/package.json')));
  const files = new Map(
    Object.entries(ASSETS).map(([name, a]) => [
      name,
      { body: readFileSync(path.join(nodeModules, a.file)), type: a.type },
    ]),
  );

  const headersText = Object.keys(headers).length > 0 ? JSON.stringify(headers, null, 2) : undefined;
  const page = {
    endpointPath,
    headers,
    headersText,
    tabs: examples.map((e) => ({
      query: `# ${e.name}\n${e.query}`,
      variables: e.variables ? JSON.stringify(e.variables, null, 2) : undefined,
      headers: headersText,
    })),
  };
  // The inline script holds no `//` (comments are /* */): the page tests reject anything that
  // looks like a protocol-relative URL.
  const html = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8" />
  <title>YieldSensei GraphQL</title>
  <meta name="viewport" content="width=device-width, initial-scale=1" />
  <style>body { margin: 0; height: 100vh; } #graphiql { height: 100vh; }</style>
  <link rel="stylesheet" href="${prefix}/graphiql.css" />
</head>
<body>
  <div id="graphiql">Loading GraphiQL…</div>
  <script src="${prefix}/react.js"></script>
  <script src="${prefix}/react-dom.js"></script>
  <script src="${prefix}/graphiql.js"></script>
  <script src="${prefix}/graphql-ws.js"></script>
  <script>
    const page = ${scriptJson(page)};
    const url = new URL(page.endpointPath, location.href);
    const socketUrl = new URL(url);
    socketUrl.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const lowerCased = (headers) =>
      Object.fromEntries(Object.entries(headers || {}).map(([name, value]) => [name.toLowerCase(), String(value)]));
    /* The gateway reads authorization from graphql-ws's ConnectionInit payload, which a socket
       sends once: a subscription started with another authorization needs a socket of its own,
       so there is one client per value (lazy: its socket is open only while it has operations). */
    const fetchers = new Map();
    const fetcherFor = (authorization) => {
      if (!fetchers.has(authorization)) {
        const wsClient = graphqlWs.createClient({
          url: socketUrl.href,
          connectionParams: authorization === undefined ? {} : { authorization },
        });
        fetchers.set(authorization, GraphiQL.createFetcher({ url: url.href, wsClient }));
      }
      return fetchers.get(authorization);
    };
    const fetcher = (params, options) => {
      const headers = { ...page.headers, ...lowerCased(options && options.headers) };
      return fetcherFor(headers.authorization)(params, { ...options, headers });
    };
    ReactDOM.createRoot(document.getElementById('graphiql')).render(
      React.createElement(GraphiQL, {
        fetcher,
        defaultTabs: page.tabs.length > 0 ? page.tabs : undefined,
        defaultHeaders: page.headersText,
        defaultEditorToolsVisibility: true,
      }),
    );
  </script>
</body>
</html>`;
  return { html, asset: (name) => files.get(name) };
}

/** JSON to inline in a <script>: `<` escaped, so no value can close the element or open a comment. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

/** CONFIG_INVALID naming the option; header values may be credentials, so they are not quoted. */
function invalid(key: string, value: unknown, expected: string, options: { hideValue?: boolean } = {}): AppError {
  const shown = options.hideValue ? '(value not shown)' : JSON.stringify(value);
  return new AppError({
    code: 'CONFIG_INVALID',
    message: `Invalid GraphiQL option ${key}=${shown}: expected ${expected}`,
  });
}

/** A path on this origin: the page must load nothing from anywhere else. */
function checkPath(key: string, value: unknown): string {
  if (typeof value !== 'string' || !/^\/(?![/\\])[^\s"'<>\\]*$/.test(value))
    throw invalid(key, value, 'a path on this origin such as "/graphql" (no scheme, host, quotes or spaces)');
  return value;
}

function checkExamples(examples: readonly GraphiqlExample[]): readonly GraphiqlExample[] {
  if (!Array.isArray(examples)) throw invalid('examples', examples, 'an array of { name, query, variables? }');
  examples.forEach((e: GraphiqlExample, i) => {
    const key = `examples[${i}]`;
    if (typeof e?.name !== 'string' || e.name.trim() === '' || /[\r\n]/.test(e.name))
      throw invalid(`${key}.name`, e?.name, 'a one-line, non-empty string');
    if (typeof e.query !== 'string' || e.query.trim() === '')
      throw invalid(`${key}.query`, e.query, 'a non-empty GraphQL document');
    if (
      e.variables !== undefined &&
      (typeof e.variables !== 'object' || e.variables === null || Array.isArray(e.variables))
    )
      throw invalid(`${key}.variables`, e.variables, 'an object of variable values');
  });
  return examples;
}

/** Lower-cases header names, so that headers set in the editor override them whatever case either uses. */
function checkHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers))
    throw invalid('defaultHeaders', headers, 'an object of header names to string values', { hideValue: true });
  const checked: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/i.test(name)) throw invalid('defaultHeaders', name, 'an HTTP header name');
    if (typeof value !== 'string' || /[\r\n\0]/.test(value))
      throw invalid(`defaultHeaders.${name}`, value, 'a one-line string', { hideValue: true });
    checked[name.toLowerCase()] = value;
  }
  return checked;
}
