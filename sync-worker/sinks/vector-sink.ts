/**
 * The vector sink keeps the vector index (Qdrant) a projection of `asset_embeddings`: an
 * inserted or updated embedding is upserted, a deleted one removed. Upserts are idempotent and
 * a row's changes arrive in order, so a replayed batch converges.
 */
import { current } from '../../changelog/change.ts';
import { tableSpec } from '../../domain/tables.ts';
import type { VectorIndex } from '../../stores/vector.ts';
import type { Sink } from './sink.ts';

/** Creates the sink projecting embeddings into the vector index. */
export function createVectorSink(options: { vector: VectorIndex }): Sink {
  return {
    name: 'vector',
    async apply(changes) {
      // The last change of each asset in the batch decides (changes are in sequence order).
      const last = new Map<string, { deleted: boolean; vector: readonly number[] | undefined }>();
      for (const c of changes) {
        if (tableSpec(c.table)?.projection !== 'embeddings') continue;
        const embedding = current(c)['embedding'];
        last.set(c.rowKey, {
          deleted: c.operation === 'DELETE',
          vector: Array.isArray(embedding) ? (embedding as readonly number[]) : undefined,
        });
      }
      const upserts = [...last].filter(([, v]) => !v.deleted && v.vector).map(([id, v]) => ({ id, vector: v.vector! }));
      const deletes = [...last].filter(([, v]) => v.deleted).map(([id]) => id);
      if (upserts.length > 0) await options.vector.upsert(upserts);
      if (deletes.length > 0) await options.vector.remove(deletes);
    },
  };
}
