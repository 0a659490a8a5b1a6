/**
 * Saturating arithmetic for measures that multiply along fragment spreads and list fields:
 * 24 fragments each spread twice count 2^24 paths, a billion-row page multiplies its whole
 * selection. Past 2^53 a double stops counting in ones, and past 2^1024 it is Infinity; a
 * measure pinned at the ceiling stays comparable with any limit and prints as a number.
 */

/** The largest measure reported: counts and costs stop here instead of losing precision. */
export const MEASURE_CEILING = Number.MAX_SAFE_INTEGER;

/** a + b for non-negative measures, pinned at MEASURE_CEILING. */
export function saturatingAdd(a: number, b: number): number {
  const sum = a + b;
  return sum >= MEASURE_CEILING ? MEASURE_CEILING : sum;
}

/** a x b for non-negative measures, pinned at MEASURE_CEILING; zero times anything (even Infinity) is zero. */
export function saturatingMul(a: number, b: number): number {
  if (a === 0 || b === 0) return 0;
  const product = a * b;
  return product >= MEASURE_CEILING ? MEASURE_CEILING : product;
}
