/**
 * Progress of long work, on stderr: a cli-progress bar redrawn in place when stderr is a
 * terminal, else plain lines (one per 10 % step or change of status) that a log or CI keeps
 * readable. stdout is never touched, so `--json` output stays one document.
 */
import { Presets, SingleBar } from 'cli-progress';

/** A running progress display. */
export interface Progress {
  /** Reports `value` of the total, with an optional status word (QUEUED, RUNNING...). */
  update(value: number, status?: string): void;
  /** Ends the display (the bar stays, at its last value). */
  stop(): void;
}

/** Starts a progress display for `total` units of `unit` (100 '%' shows a percentage; or e.g. 5000 'ticks'). */
export function startProgress(options: {
  label: string;
  total: number;
  unit: string;
  stream?: NodeJS.WriteStream;
}): Progress {
  const stream = options.stream ?? process.stderr;
  const total = Math.max(1, options.total);
  const percent = options.unit === '%';
  if (stream.isTTY) {
    const bar = new SingleBar(
      {
        stream,
        // A job's progress is uneven (a validation's steps differ in size): no ETA for percentages.
        format: percent
          ? `${options.label} [{bar}] {percentage} % | {status} | {duration_formatted}`
          : `${options.label} [{bar}] {value}/{total} ${options.unit} | {duration_formatted} ETA {eta_formatted}`,
        hideCursor: true,
        etaBuffer: 20,
      },
      Presets.shades_classic,
    );
    bar.start(total, 0, { status: '' });
    return {
      update: (value, status) => bar.update(Math.min(total, value), { status: status ?? '' }),
      stop: () => bar.stop(),
    };
  }
  let lastStep = -1;
  let lastStatus: string | undefined;
  const started = Date.now();
  return {
    update(value, status) {
      const step = Math.floor((Math.min(total, value) / total) * 10);
      if (step === lastStep && status === lastStatus) return;
      lastStep = step;
      lastStatus = status;
      const amount = percent ? `${Math.min(total, value)} %` : `${Math.min(total, value)}/${total} ${options.unit}`;
      const line = `${options.label}: ${status ? `${status} ` : ''}${amount}`;
      stream.write(`${line} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
    },
    stop() {},
  };
}
