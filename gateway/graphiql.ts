/**
 * GraphiQL served entirely from node_modules: Apollo's default landing page loads its UI
 * from a CDN and is blank on an offline network, so we serve GraphiQL 3's UMD build with
 * React 18's, read once at startup.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

const ASSETS: Record<string, { file: string; type: string }> = {
  'react.js': { file: 'react/umd/react.production.min.js', type: 'text/javascript' },
  'react-dom.js': { file: 'react-dom/umd/react-dom.production.min.js', type: 'text/javascript' },
  'graphiql.js': { file: 'graphiql/graphiql.min.js', type: 'text/javascript' },
  'graphiql.css': { file: 'graphiql/graphiql.min.css', type: 'text/css' },
};

const EXAMPLE = `# The demo user holds 20+ assets. Try ⌘/Ctrl-Enter.
query DemoPortfolio {
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
`;

export interface GraphiqlAssets {
  /** The HTML page for the GraphQL endpoint at `endpointPath`. */
  readonly html: string;
  /** Static asset by file name, or undefined. */
  asset(name: string): { body: Buffer; type: string } | undefined;
}

/** Reads the UI assets once; `assetPrefix` is the URL path they are served under. */
export function loadGraphiql(options: { endpointPath: string; assetPrefix: string }): GraphiqlAssets {
  const nodeModules = path.dirname(path.dirname(require.resolve('graphiql/package.json')));
  const files = new Map(
    Object.entries(ASSETS).map(([name, a]) => [
      name,
      { body: readFileSync(path.join(nodeModules, a.file)), type: a.type },
    ]),
  );
  const p = options.assetPrefix;
  const html = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8" />
  <title>YieldSensei GraphQL</title>
  <meta name="viewport" content="width=device-width, initial-scale=1" />
  <style>body { margin: 0; height: 100vh; } #graphiql { height: 100vh; }</style>
  <link rel="stylesheet" href="${p}/graphiql.css" />
</head>
<body>
  <div id="graphiql">Loading GraphiQL…</div>
  <script src="${p}/react.js"></script>
  <script src="${p}/react-dom.js"></script>
  <script src="${p}/graphiql.js"></script>
  <script>
    const url = new URL(${JSON.stringify(options.endpointPath)}, location.href);
    const fetcher = GraphiQL.createFetcher({ url: url.href });
    ReactDOM.createRoot(document.getElementById('graphiql')).render(
      React.createElement(GraphiQL, { fetcher, defaultQuery: ${JSON.stringify(EXAMPLE)}, defaultEditorToolsVisibility: true }),
    );
  </script>
</body>
</html>`;
  return { html, asset: (name) => files.get(name) };
}
