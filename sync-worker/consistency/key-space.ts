/**
 * How the diff cuts a table's key space into segments, level by level, without a statement
 * of its own for bigint keys and with one sampling statement per level for text keys.
 *
 * Bigint keys: a grid of equal widths. The root [min, max + 1) has width w0; depth d has width
 * w_d = ceil(w_{d-1} / fanout). A row's segment at depth d starts at offset
 * `off - off % w0 % w1 … % w_d` (off = key - min): each `%` finds the position inside the
 * enclosing segment of the previous depth, so both databases compute the segment of every row
 * with integer arithmetic, no lookup, and children never straddle their parent.
 *
 * Text keys: boundaries are keys sampled from Postgres inside each segment to split
 * (quantiles, so children hold similar row counts); a row's segment is the number of
 * boundaries at or below its key. Keys compare byte by byte in both databases: Postgres
 * `COLLATE "C"` (UTF-8 byte order) and ClickHouse's String order, which is memcmp.
 */
import { AppError } from '../../lib/errors.ts';

/** The two kinds of key the registry has. */
export type KeyKind = 'bigint' | 'text';

/** A half-open range of keys [lo, hi); null is unbounded. Bigint bounds are decimal strings. */
export interface KeyRange {
  readonly lo: string | null;
  readonly hi: string | null;
}

/** A range at some depth of the recursion (the root is depth 0). */
export interface Segment extends KeyRange {
  readonly depth: number;
}

/** How the statements of one level label each row's segment. */
export type Grouping =
  /** label = the segment's start offset from `origin`, by the modulo chain (widths w0…w_d). */
  | { readonly kind: 'bigint'; readonly origin: string; readonly chain: readonly string[] }
  /** label = how many of the sorted `bounds` are <= the key (0: below them all). */
  | { readonly kind: 'text'; readonly bounds: readonly string[] };

/** One level: which ranges the statements read, how they label rows, and the segment of each label. */
export interface Level {
  readonly grouping: Grouping;
  /** The parents being split, merged where adjacent. */
  readonly ranges: readonly KeyRange[];
  readonly children: ReadonlyMap<string, Segment>;
}

const encoder = new TextEncoder();

/** Orders keys as both databases do: numerically for bigint, by UTF-8 bytes for text. */
export function compareKeys(kind: KeyKind, a: string, b: string): number {
  if (kind === 'bigint') {
    const x = BigInt(a);
    const y = BigInt(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  // JS compares UTF-16 code units, which orders some characters differently from UTF-8 bytes.
  return Buffer.compare(encoder.encode(a), encoder.encode(b));
}

/** Sorted, with adjacent ranges merged: fewer predicates for the same rows. */
export function mergeRanges(kind: KeyKind, ranges: readonly KeyRange[]): KeyRange[] {
  const lower = (r: KeyRange) => r.lo;
  const sorted = [...ranges].sort((a, b) => {
    const x = lower(a);
    const y = lower(b);
    if (x === y) return 0;
    if (x === null) return -1;
    if (y === null) return 1;
    return compareKeys(kind, x, y);
  });
  const merged: KeyRange[] = [];
  for (const r of sorted) {
    const last = merged.at(-1);
    if (last && last.hi !== null && r.lo !== null && last.hi === r.lo)
      merged[merged.length - 1] = { lo: last.lo, hi: r.hi };
    else merged.push({ lo: r.lo, hi: r.hi });
  }
  return merged;
}

/** The widths of a bigint grid over [lo, hi): w0 = hi - lo, then each a fanout-th of the last, down to 1. */
export function gridWidths(options: { lo: string; hi: string; fanout: number }): bigint[] {
  const fanout = BigInt(options.fanout);
  const widths = [BigInt(options.hi) - BigInt(options.lo)];
  if (widths[0]! <= 0n)
    throw new AppError({ code: 'INTERNAL', message: `Empty key range [${options.lo}, ${options.hi})` });
  while (widths.at(-1)! > 1n) widths.push((widths.at(-1)! + fanout - 1n) / fanout);
  return widths;
}

/** Offset of the start of `offset`'s segment at the depth whose chain (w0…w_d) is given. */
export function segmentOffset(offset: bigint, chain: readonly bigint[]): bigint {
  let rest = offset;
  for (const w of chain) rest %= w;
  return offset - rest;
}

/**
 * The next level of a bigint grid: every parent (all at the same depth) cut into segments of
 * the next width. Parents already at width 1 cannot be cut; they come back as `unsplittable`.
 */
export function splitNumeric(options: { origin: string; widths: readonly bigint[]; parents: readonly Segment[] }): {
  level: Level | undefined;
  unsplittable: Segment[];
} {
  const { widths, parents } = options;
  const depth = parents[0]?.depth ?? 0;
  if (parents.some((p) => p.depth !== depth)) {
    throw new AppError({ code: 'INTERNAL', message: 'splitNumeric: parents of different depths' });
  }
  if (parents.length === 0 || depth + 1 >= widths.length) return { level: undefined, unsplittable: [...parents] };
  const origin = BigInt(options.origin);
  const width = widths[depth + 1]!;
  const children = new Map<string, Segment>();
  for (const parent of parents) {
    const lo = BigInt(parent.lo!);
    const hi = BigInt(parent.hi!);
    for (let start = lo; start < hi; start += width) {
      const end = start + width < hi ? start + width : hi;
      children.set(String(start - origin), { lo: String(start), hi: String(end), depth: depth + 1 });
    }
  }
  return {
    level: {
      grouping: { kind: 'bigint', origin: options.origin, chain: widths.slice(0, depth + 2).map(String) },
      ranges: mergeRanges('bigint', parents),
      children,
    },
    unsplittable: [],
  };
}

/**
 * The next level of a text key space: each parent cut at its sampled boundaries (keys inside
 * it, in byte order). A parent whose sample gives no boundary strictly inside it (one distinct
 * key, or no Postgres rows) cannot be cut and comes back as `unsplittable`.
 */
export function splitText(options: {
  parents: readonly Segment[];
  /** Sampled keys per parent, same order as `parents`. */
  samples: ReadonlyArray<readonly string[]>;
}): { level: Level | undefined; unsplittable: Segment[] } {
  const unsplittable: Segment[] = [];
  const pieces: Segment[] = [];
  const split: Segment[] = [];
  options.parents.forEach((parent, i) => {
    const inside = [...new Set(options.samples[i] ?? [])]
      .filter(
        (k) =>
          (parent.lo === null || compareKeys('text', k, parent.lo) > 0) &&
          (parent.hi === null || compareKeys('text', k, parent.hi) < 0),
      )
      .sort((a, b) => compareKeys('text', a, b));
    if (inside.length === 0) {
      unsplittable.push(parent);
      return;
    }
    split.push(parent);
    const cuts = [parent.lo, ...inside, parent.hi];
    for (let j = 0; j + 1 < cuts.length; j++) pieces.push({ lo: cuts[j]!, hi: cuts[j + 1]!, depth: parent.depth + 1 });
  });
  if (pieces.length === 0) return { level: undefined, unsplittable };
  // Every piece but a root's first starts at a boundary; the label of a piece is its boundary's
  // 1-based position, which is what width_bucket and the ClickHouse running count return.
  const bounds = pieces
    .map((p) => p.lo)
    .filter((lo): lo is string => lo !== null)
    .sort((a, b) => compareKeys('text', a, b));
  const position = new Map(bounds.map((b, i) => [b, i + 1]));
  const children = new Map<string, Segment>();
  for (const p of pieces) children.set(String(p.lo === null ? 0 : position.get(p.lo)!), p);
  return {
    level: { grouping: { kind: 'text', bounds }, ranges: mergeRanges('text', split), children },
    unsplittable,
  };
}
