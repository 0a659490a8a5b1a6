/** The segment arithmetic, checked against brute force (no database). */
import { describe, expect, it } from 'vitest';
import {
  compareKeys,
  gridWidths,
  mergeRanges,
  segmentOffset,
  splitNumeric,
  splitText,
  type Segment,
} from './key-space.ts';

describe('bigint grid', () => {
  it('labels every key with the child that contains it, at every depth', () => {
    const lo = 17n;
    const hi = 100_017n;
    const widths = gridWidths({ lo: String(lo), hi: String(hi), fanout: 7 });
    expect(widths[0]).toBe(100_000n);
    expect(widths.at(-1)).toBe(1n);
    let parents: Segment[] = [{ lo: String(lo), hi: String(hi), depth: 0 }];
    for (let depth = 1; depth < widths.length; depth++) {
      const { level } = splitNumeric({ origin: String(lo), widths, parents });
      const chain = level!.grouping.kind === 'bigint' ? level!.grouping.chain.map(BigInt) : [];
      // Children tile each parent exactly.
      const covered = [...level!.children.values()].reduce((n, c) => n + (BigInt(c.hi!) - BigInt(c.lo!)), 0n);
      expect(covered).toBe(parents.reduce((n, p) => n + (BigInt(p.hi!) - BigInt(p.lo!)), 0n));
      for (const parent of parents) {
        for (let i = 0; i < 50; i++) {
          const key =
            BigInt(parent.lo!) + BigInt(Math.floor(Math.random() * Number(BigInt(parent.hi!) - BigInt(parent.lo!))));
          const child = level!.children.get(String(segmentOffset(key - lo, chain)))!;
          expect(BigInt(child.lo!) <= key && key < BigInt(child.hi!)).toBe(true);
        }
      }
      // Recurse into two children only: the arithmetic must hold for any subset.
      parents = [...level!.children.values()].filter((_, i) => i % 3 === 1).slice(0, 2);
    }
    const last = splitNumeric({ origin: String(lo), widths, parents });
    expect(last.level).toBeUndefined();
    expect(last.unsplittable).toEqual(parents);
  });

  it('merges adjacent ranges only', () => {
    expect(
      mergeRanges('bigint', [
        { lo: '10', hi: '20' },
        { lo: '1', hi: '5' },
        { lo: '5', hi: '10' },
        { lo: '30', hi: '40' },
      ]),
    ).toEqual([
      { lo: '1', hi: '20' },
      { lo: '30', hi: '40' },
    ]);
  });
});

describe('text key space', () => {
  it('orders by UTF-8 bytes, as COLLATE "C" and ClickHouse do', () => {
    const keys = ['b', 'B', '_', '-', 'é', '\uFFFD', '😀', 'a', 'aa', ''];
    const sorted = [...keys].sort((a, b) => compareKeys('text', a, b));
    expect(sorted).toEqual(['', '-', 'B', '_', 'a', 'aa', 'b', 'é', '\uFFFD', '😀']);
  });

  it('labels pieces as width_bucket numbers the bounds, and leaves uncuttable parents whole', () => {
    const parents: Segment[] = [
      { lo: null, hi: 'm', depth: 0 },
      { lo: 'm', hi: 'n', depth: 0 },
      { lo: 'x', hi: null, depth: 0 },
    ];
    const { level, unsplittable } = splitText({ parents, samples: [['c', 'c', 'a', 'zz'], ['m'], ['y']] });
    expect(unsplittable).toEqual([parents[1]]);
    expect(level!.grouping).toEqual({ kind: 'text', bounds: ['a', 'c', 'x', 'y'] });
    const width = (key: string) => ['a', 'c', 'x', 'y'].filter((b) => compareKeys('text', b, key) <= 0).length;
    for (const key of ['', 'a', 'b', 'c', 'lzz', 'x', 'xa', 'y', 'zzz']) {
      const child = level!.children.get(String(width(key)))!;
      expect(child.lo === null || compareKeys('text', child.lo, key) <= 0).toBe(true);
      expect(child.hi === null || compareKeys('text', key, child.hi) < 0).toBe(true);
    }
    expect(level!.ranges).toEqual([
      { lo: null, hi: 'm' },
      { lo: 'x', hi: null },
    ]);
  });
});
