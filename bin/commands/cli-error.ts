/** The CLI's one error type: a message for the operator and the exit code it ends the process with. */

/** Exit codes: 1 for a failure (the gateway refused, a job failed, drift beyond tolerance), 2 for a usage error. */
export type ExitCode = 1 | 2;

/** A failure the CLI reports as one line on stderr, then exits with `exitCode`. */
export class CliError extends Error {
  readonly exitCode: ExitCode;

  constructor(message: string, options: { exitCode?: ExitCode; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'CliError';
    this.exitCode = options.exitCode ?? 1;
  }
}

/** A usage error (exit code 2): the command line itself is wrong. */
export function usageError(message: string): CliError {
  return new CliError(message, { exitCode: 2 });
}

/** An error's message, with its cause's when the message alone says little ("The postgres tier is unavailable"). */
export function messageOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof Error && cause.message && !error.message.includes(cause.message)
    ? `${error.message}: ${cause.message}`
    : error.message;
}
