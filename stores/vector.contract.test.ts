/**
 * The vector index's contract. Only the embedded index runs here: no Qdrant server can run on
 * this machine (and a mock of it would prove nothing). The Qdrant implementation
 * (createQdrantVectorIndex) is written against the same contract and must pass this suite
 * where QDRANT_URL points at a server (add it to `indexes` there).
 */
import { describe, expect, it } from 'vitest';
import { noopObserver } from './observer.ts';
import { createEmbeddedVectorIndex, type VectorIndex } from './vector.ts';

const indexes: Array<[string, () => Promise<VectorIndex>]> = [
  ['embedded', async () => createEmbeddedVectorIndex({ dimensions: 3, observer: noopObserver })],
];

describe.each(indexes)('vector index (%s)', (_, open) => {
  it('finds nearest points by id (leaving the point out) and by vector; removes; fetches unit vectors; lists ids', async () => {
    const index = await open();
    try {
      await index.upsert([
        { id: 'a', vector: [1, 0, 0] },
        { id: 'b', vector: [0.9, 0.1, 0] },
        { id: 'c', vector: [0, 1, 0] },
      ]);
      const [byId, byVector, unknown] = await index.searchBatch([
        { id: 'a', limit: 2 },
        { vector: [0, 2, 0], limit: 1 },
        { id: 'zz', limit: 2 },
      ]);
      expect(byId!.map((m) => m.id)).toEqual(['b', 'c']);
      expect(byVector!.map((m) => m.id)).toEqual(['c']);
      expect(byVector![0]!.score).toBeCloseTo(1, 9);
      expect(unknown).toEqual([]);
      const fetched = await index.fetch(['b', 'zz']);
      expect([...fetched.keys()]).toEqual(['b']);
      const [x, y] = fetched.get('b')!;
      expect(Math.hypot(x!, y!)).toBeCloseTo(1, 9);
      await index.remove(['b']);
      expect((await index.ids()).sort()).toEqual(['a', 'c']);
      expect(await index.count()).toBe(2);
      await expect(index.upsert([{ id: 'bad', vector: [0, 0, 0] }])).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
      await index.ping();
    } finally {
      await index.close();
    }
  });
});
