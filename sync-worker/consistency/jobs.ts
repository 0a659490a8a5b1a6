/**
 * The consistency jobs a sync worker runs (sync-worker/jobs.ts): VALIDATE compares every
 * derived tier with Postgres (each replicated table row by row, orphans in the source, the
 * vector index, the hot prices in Redis) and stores a typed report; RECONCILE repairs exactly
 * the differing rows of one table's replica (or of the vector index, for asset_embeddings),
 * as a dry run unless asked otherwise.
 */
import { replicatedTables, tableSpec } from '../../domain/tables.ts';
import { badInput } from '../../lib/errors.ts';
import type { JobHandlers } from '../jobs.ts';
import { diffTable, type TableDiff } from './diff-table.ts';
import { findOrphans } from './find-orphans.ts';
import { reconcileTable } from './reconcile-table.ts';
import { validateHotData } from './validate-hot-data.ts';
import { validateVector } from './validate-vector.ts';

/** Keys reported per kind of difference (the totals count all). */
const MAX_KEYS = 100;

/** A list of keys as the API reports it: the first ones and how many in all. */
const keyDiff = (keys: readonly string[], total = keys.length) => ({ total, keys: keys.slice(0, MAX_KEYS) });

/** One table's verdict from its diff: the counts against the tolerance, and no row-level drift. */
export function tableVerdict(diff: TableDiff, tolerancePercent: number) {
  const difference = diff.clickhouseRows - diff.postgresRows;
  const percentageDiff =
    diff.postgresRows === 0 ? (diff.clickhouseRows === 0 ? 0 : 100) : (Math.abs(difference) / diff.postgresRows) * 100;
  const withinTolerance = percentageDiff <= tolerancePercent;
  // Row-level drift left after the in-flight re-check is real, so it is never tolerated.
  const drift = diff.missingTotal + diff.extraTotal + diff.differentTotal;
  return {
    table: diff.table,
    replica: diff.replica,
    isValid: withinTolerance && drift === 0,
    postgresRows: diff.postgresRows,
    clickhouseRows: diff.clickhouseRows,
    difference,
    percentageDiff: Math.round(percentageDiff * 1e6) / 1e6,
    withinTolerance,
    missing: keyDiff(diff.missing, diff.missingTotal),
    extra: keyDiff(diff.extra, diff.extraTotal),
    different: keyDiff(diff.different, diff.differentTotal),
    rowsCompared: diff.rowsCompared,
    bytesMoved: diff.bytesMoved,
    durationMs: Math.round(diff.durationMs),
  };
}

/** The VALIDATE and RECONCILE handlers; `onVerdict` hears each validation (metrics). */
export function createConsistencyHandlers(
  options: {
    onVerdict?: (report: { isValid: boolean; tables: Array<{ table: string; isValid: boolean }> }) => void;
  } = {},
): Pick<JobHandlers, 'VALIDATE' | 'RECONCILE'> {
  return {
    async VALIDATE(job, ctx) {
      const { postgres, clickhouse, hot, vector } = ctx.tiers;
      const wanted = job.params['tables'] as string[] | undefined;
      const tables = replicatedTables(ctx.tables).filter((t) => !wanted || wanted.includes(t.name));
      const tolerancePercent = ctx.config.worker.tolerancePercent;
      const steps = tables.length + 3;
      const results = [];
      for (const [i, table] of tables.entries()) {
        ctx.signal.throwIfAborted();
        const diff = await diffTable({
          postgres,
          clickhouse,
          table,
          onProgress: (f) => ctx.progress((i + f) / steps),
        });
        results.push(tableVerdict(diff, tolerancePercent));
      }
      const orphans = await findOrphans({ postgres });
      ctx.progress((tables.length + 1) / steps);
      const embeddings = ctx.tables.some((t) => t.projection === 'embeddings')
        ? await validateVector({ postgres, vector })
        : null;
      ctx.progress((tables.length + 2) / steps);
      const hotData = await validateHotData({ postgres, clickhouse, hot });
      const report = {
        isValid:
          results.every((r) => r.isValid) && orphans.total === 0 && (embeddings?.isValid ?? true) && hotData.isValid,
        tolerancePercent,
        tables: results,
        orphans: orphans.relations.map((o) => ({
          relation: `${o.relation.table}.${o.relation.column} -> ${o.relation.references.table}`,
          count: o.count,
          sampleKeys: o.sampleKeys,
        })),
        hotData: {
          isValid: hotData.isValid,
          checked: hotData.checked,
          absent: keyDiff(hotData.absent),
          stale: keyDiff(hotData.stale),
        },
        vector: embeddings && {
          isValid: embeddings.isValid,
          postgresEmbeddings: embeddings.postgresEmbeddings,
          indexedPoints: embeddings.indexedPoints,
          missing: keyDiff(embeddings.missing),
          stale: keyDiff(embeddings.stale),
          extra: keyDiff(embeddings.extra),
        },
      };
      options.onVerdict?.(report);
      if (!report.isValid)
        ctx.logger.warn('consistency validation found drift', {
          tables: results.filter((r) => !r.isValid).map((r) => r.table),
        });
      return report;
    },

    async RECONCILE(job, ctx) {
      const name = String(job.params['table']);
      const dryRun = job.params['dryRun'] !== false;
      const spec = tableSpec(name);
      if (spec?.projection === 'embeddings') {
        // The vector index is asset_embeddings' projection: repaired from Postgres key by key.
        const check = await validateVector({ postgres: ctx.tiers.postgres, vector: ctx.tiers.vector, repair: !dryRun });
        return {
          table: name,
          dryRun,
          inserted: keyDiff(check.missing),
          updated: keyDiff(check.stale),
          tombstoned: keyDiff(check.extra),
        };
      }
      if (!spec?.replica)
        throw badInput('INVALID_ARGUMENT', `No replica to reconcile for table ${JSON.stringify(name)}`, {
          field: 'table',
        });
      const report = await reconcileTable({
        postgres: ctx.tiers.postgres,
        clickhouse: ctx.tiers.clickhouse,
        table: spec,
        dryRun,
        diff: { onProgress: (f) => ctx.progress(f * 0.9) },
      });
      return {
        table: name,
        dryRun,
        inserted: keyDiff(report.keys.inserted, report.inserted),
        updated: keyDiff(report.keys.updated, report.updated),
        tombstoned: keyDiff(report.keys.tombstoned, report.tombstoned),
      };
    },
  };
}
