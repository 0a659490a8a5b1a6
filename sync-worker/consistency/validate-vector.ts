/**
 * The vector index checked against `asset_embeddings` (the source of truth of embeddings):
 * assets missing from the index, points with no source row, and points whose stored direction
 * differs from the source embedding (indexes store unit vectors: compared after normalizing,
 * within a tolerance for float rounding). Keys with a captured change still in flight are
 * left out (the worker is about to apply it). `repair` upserts missing and stale points and
 * removes extra ones.
 */
import { tableSpec } from '../../domain/tables.ts';
import type { Queryable } from '../../stores/postgres.ts';
import { normalize, type VectorIndex } from '../../stores/vector.ts';

/** What the check found. */
export interface VectorCheck {
  readonly isValid: boolean;
  readonly postgresEmbeddings: number;
  readonly indexedPoints: number;
  readonly missing: readonly string[];
  readonly stale: readonly string[];
  readonly extra: readonly string[];
  readonly repaired: number;
}

const TOLERANCE = 1e-9;
const BATCH = 500;

/** Checks (and with `repair`, fixes) the index. */
export async function validateVector(deps: {
  postgres: Queryable;
  vector: VectorIndex;
  repair?: boolean;
}): Promise<VectorCheck> {
  const table = tableSpec('asset_embeddings')!.name;
  const inFlight = new Set(
    (
      await deps.postgres.query<{ row_key: string }>(
        `SELECT DISTINCT row_key FROM cdc.change_log WHERE table_name = $1 AND NOT processed`,
        [table],
      )
    ).map((r) => r.row_key),
  );
  const source = await deps.postgres.query<{ asset_id: string; embedding: number[] }>(
    `SELECT asset_id, embedding FROM ${table} ORDER BY asset_id`,
  );
  const indexed = new Set(await deps.vector.ids());
  const missing: string[] = [];
  const stale: string[] = [];
  for (let i = 0; i < source.length; i += BATCH) {
    const batch = source.slice(i, i + BATCH);
    const stored = await deps.vector.fetch(batch.map((r) => r.asset_id));
    for (const row of batch) {
      if (inFlight.has(row.asset_id)) continue;
      const point = stored.get(row.asset_id);
      if (!point) {
        missing.push(row.asset_id);
        continue;
      }
      const expected = normalize(row.embedding);
      if (point.length !== expected.length || point.some((x, k) => Math.abs(x - expected[k]!) > TOLERANCE))
        stale.push(row.asset_id);
    }
  }
  const known = new Set(source.map((r) => r.asset_id));
  const extra = [...indexed].filter((id) => !known.has(id) && !inFlight.has(id)).sort();
  let repaired = 0;
  if (deps.repair) {
    const upserts = source.filter((r) => missing.includes(r.asset_id) || stale.includes(r.asset_id));
    if (upserts.length > 0) await deps.vector.upsert(upserts.map((r) => ({ id: r.asset_id, vector: r.embedding })));
    if (extra.length > 0) await deps.vector.remove(extra);
    repaired = upserts.length + extra.length;
  }
  return {
    isValid: missing.length + stale.length + extra.length === 0,
    postgresEmbeddings: source.length,
    indexedPoints: indexed.size,
    missing,
    stale,
    extra,
    repaired,
  };
}
