/** Helpers for DataLoader batch functions: results in key order, null for a missing key. */

/** Rows in the order of `keys`, null where a key has no row. */
export function orderByKeys<K, R>(keys: readonly K[], rows: readonly R[], keyOf: (row: R) => K): Array<R | null> {
  const byKey = new Map<K, R>();
  for (const row of rows) byKey.set(keyOf(row), row);
  return keys.map((key) => byKey.get(key) ?? null);
}

/** Told the size of every batch a loader sends (the gateway's `loader_batch_size` histogram). */
export type BatchObserver = (loader: string, keys: number) => void;

/** `load` with each batch's size told to `onBatch`, when one is given. */
export function observed<K, V>(
  loader: string,
  onBatch: BatchObserver | undefined,
  load: (keys: readonly K[]) => PromiseLike<ArrayLike<V | Error>>,
): (keys: readonly K[]) => PromiseLike<ArrayLike<V | Error>> {
  if (!onBatch) return load;
  return (keys) => {
    onBatch(loader, keys.length);
    return load(keys);
  };
}
