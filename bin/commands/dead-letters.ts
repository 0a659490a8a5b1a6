/** `dead-letters`: list the changes that failed every attempt, or put them back in the queue (--redrive). */
import type { Command } from 'commander';
import { usageError } from './cli-error.ts';
import type { GatewayOptions } from './credentials.ts';
import { asUsage } from './gateway-client.ts';
import { formatTable, print, printJson, when } from './output.ts';
import { connect, gatewayOptions, positiveInt } from './shared-options.ts';

interface DeadLetter {
  sequence: string;
  table: string;
  operation: string;
  rowKey: string;
  error: string | null;
  attempts: number;
  at: string;
}

type Options = GatewayOptions & {
  json?: boolean;
  redrive?: boolean;
  table?: string;
  sequence?: string;
  first: number;
};

/** Registers `dead-letters`. */
export function registerDeadLetters(program: Command): void {
  gatewayOptions(
    program
      .command('dead-letters')
      .summary('list dead-lettered changes, or --redrive them')
      .description(
        "list dead-lettered changes, oldest first; with --redrive, queue them again (all, one table's, or one sequence)",
      )
      .option('--redrive', 'put the matching dead-lettered changes back in the queue')
      .option('--table <table>', 'only this captured table')
      .option('--sequence <sequence>', 'only this change sequence')
      .option('--first <n>', 'how many to list (1 to 100)', positiveInt(100), 20),
  ).action(async (options: Options) => {
    if (options.sequence !== undefined && !/^[1-9]\d{0,18}$/.test(options.sequence)) {
      throw usageError(
        `--sequence must be a change sequence (a positive integer), got ${JSON.stringify(options.sequence)}`,
      );
    }
    const client = await connect(options, 'dead-letters');
    if (options.redrive) {
      const data = await asUsage(
        client.request<{ redriveDeadLetters: number }>(
          'mutation($t: String, $s: String) { redriveDeadLetters(table: $t, sequence: $s) }',
          { t: options.table ?? null, s: options.sequence ?? null },
        ),
      );
      const n = data.redriveDeadLetters;
      if (options.json) printJson({ redriven: n, table: options.table ?? null, sequence: options.sequence ?? null });
      else print(`${n} dead-lettered change(s) queued again`);
      return;
    }
    const data = await client.request<{ deadLetters: DeadLetter[] }>(
      'query($n: Int!) { deadLetters(first: $n) { sequence table operation rowKey error attempts at } }',
      { n: options.first },
    );
    // The API lists every table's; the filters narrow what is shown.
    const rows = data.deadLetters.filter(
      (d) =>
        (options.table === undefined || d.table === options.table) &&
        (options.sequence === undefined || d.sequence === options.sequence),
    );
    if (options.json) return printJson({ deadLetters: rows });
    if (rows.length === 0) return print('no dead-lettered changes');
    print(
      formatTable(
        [
          { header: 'sequence', align: 'right' },
          { header: 'table' },
          { header: 'operation' },
          { header: 'row key' },
          { header: 'attempts', align: 'right' },
          { header: 'at' },
          { header: 'error' },
        ],
        rows.map((d) => [d.sequence, d.table, d.operation, d.rowKey, String(d.attempts), when(d.at), d.error ?? '']),
      ),
      '',
      'queue them again with: npx yieldsensei dead-letters --redrive [--table T] [--sequence S]',
    );
  });
}
