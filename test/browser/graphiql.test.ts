/**
 * The GraphiQL page in a real browser: headless Chromium (Debian's `chromium` package, driven
 * by playwright-core, no browser download). The page loads only from the gateway, runs its
 * preloaded queries over HTTP and its preloaded subscription over graphql-ws on the same path,
 * signed in as the demo user by the header editor's authorization, which travels in
 * graphql-ws's ConnectionInit payload; the subscription shows a holding changed with plain SQL.
 * A screenshot of the live event goes to test-output/.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page, type Request, type WebSocket } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { exampleOperations, loadGraphiql, type GraphiqlOptions } from '../../gateway/graphiql.ts';
import { normalizeDecimal } from '../../lib/decimal.ts';
import { startStack, until, type Stack } from '../stack.ts';

const OUTPUT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test-output');
/** Per browser action or wait: a loaded 2-core machine runs the whole stack beside Chromium. */
const WAIT_MS = 60_000;
/**
 * This machine's network is closed: without these, Chromium's background services (updates,
 * sync, QUIC probes) fail noisily. Playwright adds a fresh --user-data-dir of its own per
 * launch, in the temporary directory, and removes it on close (it refuses one given here).
 */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let stack: Stack;
let browser: Browser;
let demoUserId: string;
/** `Bearer <the demo user's token>`: the portfolio and its updates are the signed-in owner's only. */
let demoAuthorization: string;
/** Where the gateway serves the page's assets, read from its own page. */
let assetPrefix: string;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  stack = await startStack({ worker: true });
  demoUserId = await stack.userId('demo');
  demoAuthorization = `Bearer ${await stack.token('demo')}`;
  const html = await (await fetch(stack.url, { headers: { accept: 'text/html' } })).text();
  assetPrefix = /href="([^"]*)\/graphiql\.css"/.exec(html)![1]!;
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS, timeout: WAIT_MS });
});
// Closing a context closes its sockets: no test's subscription outlives it.
afterEach(async () => {
  for (const context of contexts.splice(0)) await context.close();
});
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

/**
 * The page as the gateway renders it with `defaultHeaders` (in embedded mode it prefills the
 * demo user's token, signed with the development key, which test stacks do not use): the
 * navigation is answered with this rendering, and everything else (assets, HTTP, WebSocket)
 * still goes to the gateway.
 */
function pageWith(options: Omit<GraphiqlOptions, 'endpointPath' | 'assetPrefix'>): string {
  return loadGraphiql({ endpointPath: new URL(stack.url).pathname, assetPrefix, ...options }).html;
}

interface Session {
  readonly page: Page;
  /** Every request the page made (WebSockets aside), in order. */
  readonly requests: Request[];
  readonly sockets: WebSocket[];
  /** Text frames each socket sent, by socket. */
  readonly sent: Map<WebSocket, string[]>;
  readonly errors: string[];
}

/**
 * A fresh browser context (its own storage: GraphiQL keeps tabs there) on the GraphQL path,
 * showing the gateway's page, or `html` in its place.
 */
async function openGraphiql(html?: string): Promise<Session> {
  const context = await browser.newContext({
    viewport: { width: 1440, height: 1000 },
    // A document answered by the test rather than the network has no address, so Chromium's
    // Local Network Access checks take it for a public page and refuse its WebSocket to
    // 127.0.0.1. The gateway's own page is on the loopback address it connects to, and needs none.
    permissions: html === undefined ? [] : ['local-network-access'],
  });
  contexts.push(context);
  context.setDefaultTimeout(WAIT_MS);
  if (html !== undefined) {
    await context.route(
      (url) => url.href === stack.url,
      (route) =>
        route.request().isNavigationRequest()
          ? route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: html })
          : route.fallback(),
    );
  }
  const page = await context.newPage();
  const session: Session = { page, requests: [], sockets: [], sent: new Map(), errors: [] };
  page.on('request', (request) => session.requests.push(request));
  page.on('pageerror', (error) => session.errors.push(String(error)));
  page.on('websocket', (socket) => {
    const frames: string[] = [];
    session.sockets.push(socket);
    session.sent.set(socket, frames);
    socket.on('framesent', ({ payload }) => frames.push(payload.toString()));
  });
  await page.goto(stack.url);
  await page.locator('.graphiql-execute-button').waitFor();
  return session;
}

function tab(page: Page, title: string) {
  return page.locator('.graphiql-tab', { hasText: title });
}

/**
 * Switches to the tab and waits until GraphiQL has parsed its operation: it does so 100 ms
 * after the editor changes, and a run before that sends the previous tab's operation name.
 */
async function openTab(page: Page, title: string): Promise<void> {
  await tab(page, title).locator('.graphiql-tab-button').click();
  await page.locator('.graphiql-tab.graphiql-tab-active', { hasText: title }).waitFor();
  await page.waitForFunction(
    (name) =>
      (globalThis as any).document.querySelector('section[aria-label="Query Editor"] .CodeMirror')?.CodeMirror
        ?.operationName === name,
    title,
    { timeout: WAIT_MS },
  );
}

/**
 * Waits until the result pane holds every needle and returns its text. CodeMirror renders only
 * the lines in view; its API has them all.
 */
async function resultContaining(page: Page, needles: string[]): Promise<string> {
  try {
    const text = await page.waitForFunction(
      (wanted) => {
        const el = (globalThis as any).document.querySelector('.result-window .CodeMirror');
        const value: string = el?.CodeMirror?.getValue() ?? '';
        return wanted.every((n) => value.includes(n)) && value;
      },
      needles,
      { timeout: WAIT_MS },
    );
    return (await text.jsonValue()) as string;
  } catch (error) {
    const shown = await page
      .locator('.result-window .CodeMirror')
      .evaluate((el) => (el as any).CodeMirror.getValue() as string)
      .catch(() => '(no result pane)');
    throw new Error(`the result pane never showed ${needles.join(' and ')}; it shows:\n${shown}`, { cause: error });
  }
}

/** The CodeMirror editor of the variables or the headers, shown. */
async function toolEditor(page: Page, name: 'variables' | 'headers') {
  await page.locator(`.graphiql-editor-tools button[data-name="${name}"]`).click();
  const editor = page.locator('.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror');
  return {
    text: () => editor.evaluate((el) => (el as any).CodeMirror.getValue() as string),
    // Through CodeMirror's API, as a paste would: typed keys would meet its auto-closing brackets.
    set: (value: unknown) =>
      editor.evaluate((el, text) => (el as any).CodeMirror.setValue(text), JSON.stringify(value, null, 2)),
  };
}

/** The payload of the first socket's ConnectionInit message, once the page sent it. */
async function connectionParams(session: Session): Promise<unknown> {
  const { sockets, sent } = session;
  const frame = await until(
    'the ConnectionInit message',
    () => sockets.length > 0 && sent.get(sockets[0]!)![0],
    WAIT_MS,
  );
  const message = JSON.parse(frame) as { type: string; payload?: unknown };
  expect(message.type).toBe('connection_init');
  return message.payload;
}

function expectSameOrigin(requests: Request[]): void {
  const origin = new URL(stack.url).origin;
  const urls = requests.map((r) => r.url()).filter((u) => !u.startsWith('data:'));
  for (const url of urls) expect(new URL(url).origin, url).toBe(origin);
}

/** Waits until the gateway has exactly `n` subscriptions open (its /health counts them). */
async function subscriptionsOpen(n: number): Promise<void> {
  const health = new URL('/health', stack.url).href;
  await until(
    `${n} open subscriptions`,
    async () => ((await (await fetch(health)).json()) as { subscriptions: number }).subscriptions === n,
    WAIT_MS,
  );
}

/** Runs the active tab's operation. */
async function run(page: Page): Promise<void> {
  await page.locator('.graphiql-execute-button').click();
}

/** Changes a holding of the demo user with plain SQL; returns it as GraphQL will show it. */
async function changeHolding(): Promise<{ id: string; quantity: string; symbol: string }> {
  const [row] = await stack.tiers.postgres.query<{ id: string; quantity: string; asset_id: string }>(
    `UPDATE portfolio_holdings SET quantity = quantity + 1
      WHERE id = (SELECT id FROM portfolio_holdings WHERE user_id = $1 ORDER BY id LIMIT 1)
      RETURNING id::text AS id, quantity::text AS quantity, asset_id`,
    [demoUserId],
  );
  return { id: row!.id, quantity: normalizeDecimal(row!.quantity), symbol: row!.asset_id };
}

describe('GraphiQL in Chromium', () => {
  it("opens the gateway's page with the example tabs, for the demo user, loading nothing from another origin", async () => {
    const { page, requests, errors } = await openGraphiql();
    for (const title of ['DemoPortfolio', 'MarketData', 'PortfolioUpdated']) await tab(page, title).waitFor();
    await openTab(page, 'PortfolioUpdated');
    expect(JSON.parse(await (await toolEditor(page, 'variables')).text())).toEqual({ userId: demoUserId });
    expectSameOrigin(requests);
    expect(errors).toEqual([]);
  });

  it('runs the example queries, then the example subscription, which shows a holding changed with plain SQL', async () => {
    const session = await openGraphiql();
    const { page, requests, sockets, errors } = session;

    // The first tab is the demo portfolio; it goes over HTTP, with the header editor's authorization.
    await page.locator('.graphiql-tab.graphiql-tab-active', { hasText: 'DemoPortfolio' }).waitFor();
    await (await toolEditor(page, 'headers')).set({ authorization: demoAuthorization });
    await run(page);
    const portfolio = JSON.parse(await resultContaining(page, ['"totalValueUsd"']));
    expect(portfolio.data.user.id).toBe(demoUserId);
    expect(portfolio.data.user.portfolio.holdings.length).toBeGreaterThan(20);

    // Market data is public.
    await openTab(page, 'MarketData');
    await run(page);
    const market = JSON.parse(await resultContaining(page, ['"marketData"', '"latestPrice"']));
    expect(market.errors).toBeUndefined();
    expect(market.data.marketData.length).toBeGreaterThan(0);

    // The subscription goes over graphql-ws on the same path, signed in by ConnectionInit's
    // authorization, whatever the case of the header's name in the editor.
    await openTab(page, 'PortfolioUpdated');
    await (await toolEditor(page, 'headers')).set({ Authorization: demoAuthorization, 'X-Other': 'not sent' });
    await run(page);
    await subscriptionsOpen(1);
    expect(sockets.map((s) => s.url())).toEqual([stack.url.replace(/^http/, 'ws')]);
    expect(await connectionParams(session)).toEqual({ authorization: demoAuthorization });

    const changed = await changeHolding();
    const event = JSON.parse(await resultContaining(page, ['"portfolioUpdated"', `"quantity": "${changed.quantity}"`]));
    expect(event.data.portfolioUpdated.holdingId).toBe(changed.id);
    expect(event.data.portfolioUpdated.holding.asset.symbol).toBe(changed.symbol);
    expect(event.data.portfolioUpdated.portfolio.totalValueUsd).toMatch(/^\d+(\.\d+)?$/);

    await mkdir(OUTPUT_DIR, { recursive: true });
    await page.screenshot({ path: path.join(OUTPUT_DIR, 'graphiql-subscription.png') });

    // Stopping it in the page ends it on the gateway.
    await run(page);
    await subscriptionsOpen(0);
    expectSameOrigin(requests);
    expect(errors).toEqual([]);
  });

  it('prefills defaultHeaders in the header editor, and sends them even once the editor is cleared', async () => {
    const session = await openGraphiql(
      pageWith({ examples: exampleOperations({ demoUserId }), defaultHeaders: { Authorization: demoAuthorization } }),
    );
    const { page, requests, errors } = session;
    // GraphiQL's schema introspection, over HTTP.
    const post = await until('a POST', () => requests.find((r) => r.method() === 'POST'), WAIT_MS);
    expect(post.headers()['authorization']).toBe(demoAuthorization);
    await run(page);
    await resultContaining(page, ['"totalValueUsd"']);

    await openTab(page, 'PortfolioUpdated');
    const headers = await toolEditor(page, 'headers');
    expect(JSON.parse(await headers.text())).toEqual({ authorization: demoAuthorization });
    // As after a reload: GraphiQL restores its tabs without their headers.
    await headers.set({});
    await run(page);
    await subscriptionsOpen(1);
    expect(await connectionParams(session)).toEqual({ authorization: demoAuthorization });
    expect(errors).toEqual([]);
  });
});
