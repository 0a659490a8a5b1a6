/**
 * What commands print. stdout carries the result only: with `--json` one JSON document, else
 * human text; notes, warnings and progress go to stderr, so `$(yieldsensei token demo)` and
 * `yieldsensei jobs --json | jq` see nothing else.
 */

/** Writes `value` as the one JSON document of stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Writes human output lines to stdout. */
export function print(...lines: string[]): void {
  process.stdout.write(lines.map((l) => `${l}\n`).join(''));
}

/** A note for the operator on stderr (never part of the result). */
export function note(text: string): void {
  process.stderr.write(`${text}\n`);
}

/** A column of `formatTable`: its header and whether numbers are right-aligned. */
export interface Column {
  readonly header: string;
  readonly align?: 'left' | 'right';
}

/** Plain aligned columns (no borders: easy to read, grep and paste). */
export function formatTable(columns: readonly Column[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = columns.map((c, i) => Math.max(c.header.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    columns
      .map((c, i) => {
        const cell = cells[i] ?? '';
        return c.align === 'right' ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!);
      })
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...rows.map(line)].join('\n');
}

/** A date for humans: ISO without milliseconds, or '-'. */
export function when(value: string | null | undefined): string {
  return value ? value.replace(/\.\d{3}Z$/, 'Z') : '-';
}
