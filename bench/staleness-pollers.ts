/**
 * Clients for the staleness benchmark, in their own process: for each trial read from stdin
 * ({query, variables, path, expect}), `pollers` loops ask the gateway back to back. Once an
 * old answer has been served from the cache, "ready" is printed (the parent then commits);
 * polling goes on until the answer at `path` equals `expect`. Reported per trial (epoch ms):
 * when the last request that still got the old answer was sent, and when the first new
 * answer arrived.
 */
import { createInterface } from 'node:readline';

const { url, pollers, token } = JSON.parse(process.argv[2]!) as { url: string; pollers: number; token: string };
const now = () => performance.timeOrigin + performance.now();

interface Trial {
  query: string;
  variables: Record<string, unknown>;
  path: string[];
  expect: string;
}

async function run(trial: Trial): Promise<void> {
  const body = JSON.stringify({ query: trial.query, variables: trial.variables });
  let lastOldSent = 0;
  let firstNewAt = 0;
  let requests = 0;
  let ready = false;
  await Promise.all(
    Array.from({ length: pollers }, async () => {
      const deadline = now() + 30_000;
      while (!firstNewAt) {
        if (now() > deadline) throw new Error(`no answer with ${trial.expect} after 30 s`);
        const sent = now();
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body,
        });
        const json = (await res.json()) as { data: unknown };
        const at = now();
        requests++;
        const value = String(trial.path.reduce((o: any, k) => o?.[k], json.data));
        if (value === trial.expect) {
          firstNewAt ||= at;
        } else {
          lastOldSent = Math.max(lastOldSent, sent);
          if (!ready && res.headers.get('x-cache') === 'HIT') {
            ready = true;
            process.stdout.write('ready\n');
          }
        }
      }
    }),
  );
  process.stdout.write(JSON.stringify({ lastOldSent, firstNewAt, requests }) + '\n');
}

for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim()) await run(JSON.parse(line) as Trial);
}
