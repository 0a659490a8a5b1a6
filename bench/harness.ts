/** What every benchmark shares: its flags, the machine it ran on, quantiles, the results file. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const resultsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');

/** `--name 42` on the command line, else `fallback`. */
export function numberArg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

/** The machine a figure comes from: every results file records it. */
export const machine = {
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model,
  memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  node: process.version,
  platform: `${os.type()} ${os.release()}`,
};

export const machineLine = `${machine.cpus} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB, Node ${machine.node}`;

/** The q-quantile of ascending `sorted`, NaN when empty. */
export function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

/** Writes bench/results/<name>.json with the date and the machine. */
export function saveResults(name: string, fields: Record<string, unknown>): void {
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(
    path.join(resultsDir, `${name}.json`),
    JSON.stringify({ benchmark: name, date: new Date().toISOString(), machine, ...fields }, null, 2) + '\n',
  );
}

/**
 * For a server a benchmark starts in its own process: prints `{url, whaleId}` as one JSON line
 * (bench/portfolio.ts reads it), then runs `stop` and exits on SIGTERM, once: the `node`
 * package's launcher may forward the signal the process also receives.
 */
export function serveUntilSigterm(
  ready: { url: string; whaleId: string; token?: string },
  stop: () => Promise<void>,
): void {
  process.stdout.write(JSON.stringify(ready) + '\n');
  let stopping = false;
  process.on('SIGTERM', async () => {
    if (stopping) return;
    stopping = true;
    await stop();
    process.exit(0);
  });
}

/** What a benchmark server prints when it is ready (see serveUntilSigterm). */
export interface BenchServer {
  readonly child: ChildProcess;
  readonly url: string;
  readonly whaleId: string;
  readonly token?: string;
}

/** Starts `script` (a server calling serveUntilSigterm) in its own process; resolves once it is ready. */
export function startBenchServer(script: string, env: Record<string, string>): Promise<BenchServer> {
  const child = spawn(process.execPath, [script], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let buffer = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const line = buffer.split('\n')[0];
      if (buffer.includes('\n') && line) resolve({ child, ...(JSON.parse(line) as Omit<BenchServer, 'child'>) });
    });
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
  });
}

/** Stops a server started by startBenchServer and waits for its exit. */
export async function stopBenchServer(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}
