// A bounded least-recently-used map: the parsed-secret cache never grows past its configured size.

/**
 * Map with a size bound; reading or writing an entry makes it the most recent. The bound is a
 * number, or a function read on every write for a bound that follows something else (a fleet's
 * size), which may then shrink the map. Not thread-safe (no need in Node).
 */
export class LruCache<K, V> {
  private readonly entries = new Map<K, V>();
  private readonly maxEntries: () => number;

  constructor(maxEntries: number | (() => number)) {
    if (typeof maxEntries === "number") {
      if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError("LruCache size must be a positive integer");
      this.maxEntries = () => maxEntries;
    } else {
      this.maxEntries = maxEntries;
    }
  }

  get size(): number {
    return this.entries.size;
  }

  /** The value, refreshed as most recently used; undefined when absent. */
  get(key: K): V | undefined {
    const value = this.entries.get(key);
    if (value === undefined) return undefined;
    // Map keeps insertion order: re-inserting moves the key to the young end.
    this.entries.delete(key);
    this.entries.set(key, value);
    return value;
  }

  /** The value without touching its recency (background polling must not keep entries alive). */
  peek(key: K): V | undefined {
    return this.entries.get(key);
  }

  has(key: K): boolean {
    return this.entries.has(key);
  }

  /** Stores `value`, evicting the least recently used entries past the bound. */
  set(key: K, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    const max = this.maxEntries();
    while (this.entries.size > max) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
    }
  }

  delete(key: K): boolean {
    return this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  /** Snapshot of the keys, oldest first. */
  keys(): K[] {
    return [...this.entries.keys()];
  }
}
