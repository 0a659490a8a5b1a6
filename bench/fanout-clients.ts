/**
 * Subscribers for the fan-out benchmark, in their own process: N graphql-ws clients run one
 * subscription each and record when each event arrives (epoch ms, sub-millisecond). Reads
 * {url, n, query, variables, expect} as JSON from argv[2]; prints "ready", then one JSON line
 * with the arrival times per event tag once every client has `expect` events (or after 60 s).
 */
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const { url, n, query, variables, expect, tagPath, token } = JSON.parse(process.argv[2]!) as {
  url: string;
  n: number;
  query: string;
  variables: Record<string, unknown>;
  expect: number;
  tagPath: string[];
  token: string;
};
const now = () => performance.timeOrigin + performance.now();
const arrivals: Record<string, number[]> = {};
let complete = 0;
let acked = 0;
const clients = Array.from({ length: n }, () =>
  createClient({
    url,
    webSocketImpl: WebSocket,
    lazy: false,
    retryAttempts: 0,
    onNonLazyError: () => {},
    connectionParams: { authorization: `Bearer ${token}` },
    on: { connected: () => void acked++ },
  }),
);
for (const c of clients) {
  let got = 0;
  c.subscribe(
    { query, variables },
    {
      next: (v) => {
        const tag = String(tagPath.reduce((o: any, k) => o?.[k], v.data));
        (arrivals[tag] ??= []).push(now());
        if (++got === expect) complete++;
      },
      error: () => {},
      complete: () => {},
    },
  );
}
while (acked < n) await new Promise((r) => setTimeout(r, 20));
await new Promise((r) => setTimeout(r, 1_000)); // subscriptions registered at the gateway
process.stdout.write('ready\n');
const deadline = Date.now() + 60_000;
while (complete < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
for (const c of clients) await c.dispose();
// Exit only once the (large) report is flushed to the pipe: process.exit would cut it short.
process.stdout.write(JSON.stringify({ complete, arrivals }) + '\n', () => process.exit(0));
