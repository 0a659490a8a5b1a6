/**
 * Jobs as the CLI reads them from the gateway (schema/sync.graphql: Job and its JobResult
 * union), and their human rendering: a result per kind, a table per replicated table for a
 * validation, a list of jobs.
 */
import { formatTable, when } from './output.ts';

/** The selection of a Job every command asks for (with its typed result). */
export const JOB_FIELDS = `
fragment Keys on KeyDiff { total keys }
fragment JobFields on Job {
  id kind status progress requestedBy createdAt startedAt finishedAt error
  result {
    __typename
    ... on SyncResult { table copied total tombstoned }
    ... on ConsistencyReport {
      isValid tolerancePercent
      tables {
        table replica isValid postgresRows clickhouseRows difference percentageDiff withinTolerance
        missing { ...Keys } extra { ...Keys } different { ...Keys } rowsCompared bytesMoved durationMs
      }
      orphans { relation count sampleKeys }
      hotData { isValid checked absent { ...Keys } stale { ...Keys } }
      vector { isValid postgresEmbeddings indexedPoints missing { ...Keys } stale { ...Keys } extra { ...Keys } }
    }
    ... on ReconcileReport { table dryRun inserted { ...Keys } updated { ...Keys } tombstonedKeys: tombstoned { ...Keys } }
  }
}`;

/**
 * The lighter selection of the jobs list: totals without key lists (a list of 100 full reports
 * is past the gateway's query cost limit, and a list shows one line per job anyway).
 */
export const JOB_SUMMARY_FIELDS = `
fragment JobSummary on Job {
  id kind status progress requestedBy createdAt startedAt finishedAt error
  result {
    __typename
    ... on SyncResult { table copied total tombstoned }
    ... on ConsistencyReport {
      isValid tolerancePercent
      tables { table replica isValid withinTolerance difference percentageDiff missing { total } extra { total } different { total } }
    }
    ... on ReconcileReport { table dryRun inserted { total } updated { total } tombstonedKeys: tombstoned { total } }
  }
}`;

/** Keys of one kind of difference: the first ones and how many in all. */
export interface KeyDiff {
  readonly total: number;
  readonly keys: readonly string[];
}

/** What a backfill (sync) did. */
export interface SyncResult {
  readonly __typename: 'SyncResult';
  readonly table: string;
  readonly copied: number;
  readonly total: number;
  readonly tombstoned: number;
}

/** One replicated table compared with its replica. */
export interface TableConsistency {
  readonly table: string;
  readonly replica: string;
  readonly isValid: boolean;
  readonly postgresRows: number;
  readonly clickhouseRows: number;
  readonly difference: number;
  readonly percentageDiff: number;
  readonly withinTolerance: boolean;
  readonly missing: KeyDiff;
  readonly extra: KeyDiff;
  readonly different: KeyDiff;
  readonly rowsCompared: number;
  readonly bytesMoved: number;
  readonly durationMs: number;
}

/** A validation's outcome. */
export interface ConsistencyReport {
  readonly __typename: 'ConsistencyReport';
  readonly isValid: boolean;
  readonly tolerancePercent: number;
  readonly tables: readonly TableConsistency[];
  readonly orphans: ReadonlyArray<{ relation: string; count: number; sampleKeys: readonly string[] }>;
  readonly hotData: { isValid: boolean; checked: number; absent: KeyDiff; stale: KeyDiff } | null;
  readonly vector: {
    isValid: boolean;
    postgresEmbeddings: number;
    indexedPoints: number;
    missing: KeyDiff;
    stale: KeyDiff;
    extra: KeyDiff;
  } | null;
}

/** What a reconciliation changed, or in a dry run would change. */
export interface ReconcileReport {
  readonly __typename: 'ReconcileReport';
  readonly table: string;
  readonly dryRun: boolean;
  readonly inserted: KeyDiff;
  readonly updated: KeyDiff;
  readonly tombstoned: KeyDiff;
}

/** A finished job's typed result. */
export type JobResult = SyncResult | ConsistencyReport | ReconcileReport;

/** A job as the CLI selects it (JOB_FIELDS; JOB_SUMMARY_FIELDS leaves out the key lists). */
export interface Job {
  readonly id: string;
  readonly kind: 'BACKFILL' | 'VALIDATE' | 'RECONCILE';
  readonly status: 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED';
  readonly progress: number;
  readonly requestedBy: string;
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly error: string | null;
  readonly result: JobResult | null;
}

/**
 * A job as received, with the schema's field names restored: SyncResult.tombstoned (Int) and
 * ReconcileReport.tombstoned (KeyDiff) cannot share a selection set (GraphQL's
 * FieldsOnCorrectType/OverlappingFieldsCanBeMerged rule), so the latter is fetched under an alias.
 */
export function normalizeJob(job: Job): Job {
  const result = job.result as (JobResult & { tombstonedKeys?: KeyDiff }) | null;
  if (result?.__typename !== 'ReconcileReport' || !result.tombstonedKeys) return job;
  const { tombstonedKeys, ...rest } = result;
  return { ...job, result: { ...rest, tombstoned: tombstonedKeys } };
}

/** Whether a job is still to finish. */
export const isPending = (job: Job) => job.status === 'QUEUED' || job.status === 'RUNNING';

/** How much of a result to show: `fullKeys` lists every key the worker reported, else the first few per kind. */
export interface FormatOptions {
  readonly fullKeys?: boolean;
}

/** Keys shown per kind of difference without `fullKeys`. */
const SHOWN_KEYS = 10;

/** A finished job for humans: its outcome line, then its result. */
export function formatJob(job: Job, options: FormatOptions = {}): string {
  const seconds =
    job.startedAt && job.finishedAt
      ? ` in ${((Date.parse(job.finishedAt) - Date.parse(job.startedAt)) / 1000).toFixed(1)} s`
      : '';
  const head = `job ${job.id} (${job.kind}) ${job.status}${seconds}`;
  if (job.status === 'FAILED') return `${head}: ${job.error ?? 'no error recorded'}`;
  if (!job.result) return head;
  return `${head}\n${formatResult(job.result, options)}`;
}

/** A job's result for humans. */
export function formatResult(result: JobResult, options: FormatOptions = {}): string {
  switch (result.__typename) {
    case 'SyncResult':
      return `${result.table}: ${result.copied} of ${result.total} rows copied, ${result.tombstoned} stale replica rows tombstoned`;
    case 'ReconcileReport':
      return formatReconcile(result, options);
    case 'ConsistencyReport':
      return formatConsistency(result, options);
  }
}

function keys(diff: KeyDiff, options: FormatOptions): string {
  if (diff.total === 0) return '';
  const shown = options.fullKeys ? diff.keys : diff.keys.slice(0, SHOWN_KEYS);
  const more =
    diff.total > shown.length ? ` … (${diff.total} in all${options.fullKeys ? '' : '; --full lists more'})` : '';
  return `${shown.join(', ')}${more}`;
}

function formatReconcile(r: ReconcileReport, options: FormatOptions): string {
  const verb = r.dryRun ? 'would be' : 'were';
  const lines = [
    `${r.table}${r.dryRun ? ' (dry run: nothing changed; --apply to repair)' : ''}:`,
    `  ${r.inserted.total} row(s) ${verb} inserted, ${r.updated.total} updated, ${r.tombstoned.total} tombstoned`,
  ];
  for (const [name, diff] of [
    ['inserted', r.inserted],
    ['updated', r.updated],
    ['tombstoned', r.tombstoned],
  ] as const) {
    if (diff.total > 0) lines.push(`  ${name}: ${keys(diff, options)}`);
  }
  return lines.join('\n');
}

function formatConsistency(r: ConsistencyReport, options: FormatOptions): string {
  const lines = [`consistency ${r.isValid ? 'VALID' : 'INVALID'} (row-count tolerance ${r.tolerancePercent} %)`, ''];
  lines.push(
    formatTable(
      [
        { header: 'table' },
        { header: 'replica' },
        { header: 'postgres', align: 'right' },
        { header: 'clickhouse', align: 'right' },
        { header: 'difference', align: 'right' },
        { header: 'diff %', align: 'right' },
        { header: 'counts' },
        { header: 'missing', align: 'right' },
        { header: 'extra', align: 'right' },
        { header: 'different', align: 'right' },
        { header: 'valid' },
      ],
      r.tables.map((t) => [
        t.table,
        t.replica,
        String(t.postgresRows),
        String(t.clickhouseRows),
        String(t.difference),
        t.percentageDiff.toFixed(2),
        t.withinTolerance ? 'within' : 'BEYOND',
        String(t.missing.total),
        String(t.extra.total),
        String(t.different.total),
        t.isValid ? 'yes' : 'NO',
      ]),
    ),
  );
  const samples = r.tables.flatMap((t) =>
    (['missing', 'extra', 'different'] as const)
      .filter((kind) => t[kind].total > 0)
      .map((kind) => `  ${t.table} ${kind}: ${keys(t[kind], options)}`),
  );
  if (samples.length > 0) lines.push('', 'sample keys:', ...samples);
  const orphans = r.orphans.filter((o) => o.count > 0);
  if (orphans.length > 0) {
    lines.push('', 'orphans:');
    for (const o of orphans) lines.push(`  ${o.relation}: ${o.count} (${o.sampleKeys.join(', ')})`);
  }
  if (r.hotData) {
    lines.push(
      '',
      `hot data: ${r.hotData.isValid ? 'valid' : 'INVALID'} (${r.hotData.checked} checked, ${r.hotData.absent.total} absent, ${r.hotData.stale.total} stale)`,
    );
    if (r.hotData.stale.total > 0) lines.push(`  stale: ${keys(r.hotData.stale, options)}`);
  }
  if (r.vector) {
    const v = r.vector;
    lines.push(
      `vector index: ${v.isValid ? 'valid' : 'INVALID'} (${v.indexedPoints} points for ${v.postgresEmbeddings} embeddings; ` +
        `${v.missing.total} missing, ${v.stale.total} stale, ${v.extra.total} extra)`,
    );
    for (const kind of ['missing', 'stale', 'extra'] as const) {
      if (v[kind].total > 0) lines.push(`  ${kind}: ${keys(v[kind], options)}`);
    }
  }
  return lines.join('\n');
}

/** One line of a result, for the jobs list. */
function summary(job: Job): string {
  if (job.status === 'FAILED') return job.error ?? '';
  const r = job.result;
  if (!r) return '';
  switch (r.__typename) {
    case 'SyncResult':
      return `${r.table}: ${r.copied}/${r.total} copied, ${r.tombstoned} tombstoned`;
    case 'ReconcileReport':
      return `${r.table}${r.dryRun ? ' (dry run)' : ''}: +${r.inserted.total} ~${r.updated.total} -${r.tombstoned.total}`;
    case 'ConsistencyReport': {
      const bad = r.tables.filter((t) => !t.isValid).map((t) => t.table);
      return r.isValid ? `valid (${r.tables.length} tables)` : `INVALID${bad.length ? `: ${bad.join(', ')}` : ''}`;
    }
  }
}

/** The jobs list for humans, newest first. */
export function formatJobs(jobs: readonly Job[]): string {
  if (jobs.length === 0) return 'no jobs yet';
  return formatTable(
    [
      { header: 'id', align: 'right' },
      { header: 'kind' },
      { header: 'status' },
      { header: 'progress', align: 'right' },
      { header: 'requested by' },
      { header: 'created' },
      { header: 'finished' },
      { header: 'result' },
    ],
    jobs.map((j) => [
      j.id,
      j.kind,
      j.status,
      `${Math.round(j.progress * 100)} %`,
      j.requestedBy,
      when(j.createdAt),
      when(j.finishedAt),
      summary(j),
    ]),
  );
}
