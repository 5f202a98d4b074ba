// A bounded worker pool for mapping over many items: pure plumbing with no I/O of its own, shared by the cloud providers and the secret sources.

/**
 * Maps `items` with at most `limit` calls of `fn` in flight (at least one); results keep the input
 * order. Rejects with the first failure; calls already started still run, but no new one starts
 * (a failed sweep must not keep spending a rate-limited quota). Does no I/O itself.
 */
export async function mapWithConcurrency<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (next < items.length && !failed) {
      const i = next++;
      try {
        results[i] = await fn(items[i] as T);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  return results;
}
