/**
 * Client load for resilience tests: a few concurrent loops send requests to a gateway while a
 * tier is broken, and every outcome is tallied by HTTP status and error code, with the time
 * it arrived, so a test can assert which codes clients saw and measure when answers came back.
 */

/** What one request ended with. */
export interface Outcome {
  /** When the answer (or the network failure) arrived, performance.now(). */
  readonly at: number;
  /** HTTP status; 0 for a network failure (no response). */
  readonly status: number;
  /** Error codes of the response (`extensions.code`), or `NETWORK:<cause>` for a network failure. */
  readonly codes: readonly string[];
  /** Whether the answer had data and no error. */
  readonly ok: boolean;
}

/** Counts of a run of outcomes. */
export interface Tally {
  readonly total: number;
  readonly ok: number;
  /** Responses by HTTP status ('0' for network failures). */
  readonly byStatus: Readonly<Record<string, number>>;
  /** Errors by code, each code counted once per response. */
  readonly byCode: Readonly<Record<string, number>>;
}

/** Sends one request and describes its outcome. */
export type Probe = () => Promise<{
  status: number;
  body: { data?: unknown; errors?: Array<{ extensions?: Record<string, unknown> }> };
}>;

/** A running load. */
export interface Load {
  /** Outcomes so far, in arrival order. */
  readonly outcomes: readonly Outcome[];
  /** Stops the loops and waits for their requests in flight. */
  stop(): Promise<Tally>;
}

/** Runs one outcome-recording request. Never throws: a failure is an outcome. */
export async function attempt(probe: Probe): Promise<Outcome> {
  try {
    const { status, body } = await probe();
    const codes = [...new Set((body.errors ?? []).map((e) => String(e.extensions?.['code'] ?? 'NO_CODE')))];
    return { at: performance.now(), status, codes, ok: status === 200 && codes.length === 0 && body.data != null };
  } catch (error) {
    // fetch puts the socket's error in `cause`; node:http throws it as it is.
    const { cause, code: own } = error as { cause?: { code?: string; message?: string }; code?: string };
    const code = cause?.code ?? cause?.message ?? own ?? (error as Error).message;
    return { at: performance.now(), status: 0, codes: [`NETWORK:${code}`], ok: false };
  }
}

/** Starts `concurrency` loops, each sending `probe` and pausing `pauseMs` between requests. */
export function startLoad({
  probe,
  concurrency = 4,
  pauseMs = 5,
}: {
  probe: Probe;
  concurrency?: number;
  pauseMs?: number;
}): Load {
  const outcomes: Outcome[] = [];
  let running = true;
  const loop = async () => {
    while (running) {
      outcomes.push(await attempt(probe));
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  };
  const loops = Array.from({ length: concurrency }, loop);
  return {
    outcomes,
    async stop() {
      running = false;
      await Promise.all(loops);
      return tally(outcomes);
    },
  };
}

/** Counts outcomes by status and code. */
export function tally(outcomes: readonly Outcome[]): Tally {
  const byStatus: Record<string, number> = {};
  const byCode: Record<string, number> = {};
  let ok = 0;
  for (const o of outcomes) {
    byStatus[o.status] = (byStatus[o.status] ?? 0) + 1;
    for (const code of o.codes) byCode[code] = (byCode[code] ?? 0) + 1;
    if (o.ok) ok++;
  }
  return { total: outcomes.length, ok, byStatus, byCode };
}

/** The arrival time of the first successful outcome at or after `since`, if any. */
export function firstOkAfter(outcomes: readonly Outcome[], since: number): number | undefined {
  return outcomes.find((o) => o.at >= since && o.ok)?.at;
}

/** Median and maximum of a list of durations, rounded to 0.1 ms. */
export function summarize(samples: readonly number[]): { n: number; medianMs: number; maxMs: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 10) / 10;
  return {
    n: sorted.length,
    medianMs: round(sorted[Math.floor((sorted.length - 1) / 2)] ?? NaN),
    maxMs: round(sorted.at(-1) ?? NaN),
  };
}

/**
 * Environment for a stack under this load: its loops send many times a client's rate-limit
 * budget from one address. The limits stay on (their Redis calls are part of every request's
 * path, faults included) but never refuse.
 */
export const UNLIMITED_RATE: Readonly<Record<string, string>> = {
  RATE_LIMIT_PER_SUBJECT: '100000000',
  RATE_LIMIT_PER_IP: '100000000',
};
