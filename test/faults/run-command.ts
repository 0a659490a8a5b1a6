/**
 * Runs a server-management command (initdb, pg_ctl, scripts/kafka.sh) to completion and
 * turns a failure into an error that carries the command's own output.
 */
import { spawn } from 'node:child_process';

/** Options of {@link runCommand}. */
export interface RunCommandOptions {
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Run as this user and group (only root may switch). */
  readonly uid?: number;
  readonly gid?: number;
  /** Killed (SIGKILL) after this long, so a wedged tool cannot hang a test. */
  readonly timeoutMs?: number;
}

/** What a finished command printed. */
export interface CommandOutput {
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command; resolves with its output on exit code 0, rejects with the output otherwise. */
export function runCommand({
  command,
  args,
  cwd,
  env,
  uid,
  gid,
  timeoutMs = 120_000,
}: RunCommandOptions): Promise<CommandOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, uid, gid, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`${command} could not be run: ${error.message}`));
    });
    // 'close', not 'exit': the output is complete only once both pipes have closed.
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve({ stdout, stderr });
      const why = signal
        ? `killed by ${signal}${signal === 'SIGKILL' ? ` (timeout ${timeoutMs} ms?)` : ''}`
        : `exit ${code}`;
      const output = `${stdout}${stderr}`.trim().split('\n').slice(-30).join('\n');
      reject(new Error(`${command} ${args.join(' ')}: ${why}\n${output}`));
    });
  });
}
