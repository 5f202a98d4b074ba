// In-memory object storage: one global resourceVersion counter, sorted keys for paging, and a bounded change history for watches.
import type { JsonObject } from "../../model/fields.js";

export type ChangeType = "ADDED" | "MODIFIED" | "DELETED";

export interface Change {
  rv: number;
  /** Resource key (`gloo.solo.io/v1/upstreams`). */
  resource: string;
  type: ChangeType;
  /** The object after the change (for DELETED: its last state, carrying the deletion's resourceVersion). */
  object: JsonObject;
  /** The object before the change, so a filtered watch can turn a MODIFIED into ADDED or DELETED. */
  previous: JsonObject | undefined;
}

export type ChangeListener = (change: Change) => void;

class Bucket {
  readonly objects = new Map<string, JsonObject>();
  /** Sorted `namespace/name` keys, rebuilt lazily after inserts or deletes (updates keep it valid). */
  private sorted: string[] | undefined;

  keys(): string[] {
    this.sorted ??= [...this.objects.keys()].sort();
    return this.sorted;
  }

  invalidate(): void {
    this.sorted = undefined;
  }
}

export function objectKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/** First index in sorted `keys` whose value is > `after` (or >= `from` when `inclusive`). */
function lowerBound(keys: readonly string[], target: string, inclusive: boolean): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const k = keys[mid] ?? "";
    if (inclusive ? k < target : k <= target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Stores objects as immutable values: a write replaces the stored object, never edits it, so the
 * history can hold references instead of copies. Callers must not mutate what they read.
 */
export class ObjectStore {
  private rv = 0;
  private readonly buckets = new Map<string, Bucket>();
  private readonly history: Array<Change | undefined>;
  private historyHead = 0;
  private historySize = 0;
  /** The highest resourceVersion whose change fell out of the history window. */
  private compacted = 0;
  private readonly listeners = new Map<string, Set<ChangeListener>>();

  constructor(readonly historyLimit: number) {
    this.history = new Array<Change | undefined>(Math.max(1, historyLimit));
  }

  get resourceVersion(): number {
    return this.rv;
  }

  get compactedRevision(): number {
    return this.compacted;
  }

  private bucket(resource: string): Bucket {
    let b = this.buckets.get(resource);
    if (!b) {
      b = new Bucket();
      this.buckets.set(resource, b);
    }
    return b;
  }

  get(resource: string, namespace: string, name: string): JsonObject | undefined {
    return this.buckets.get(resource)?.objects.get(objectKey(namespace, name));
  }

  count(resource: string): number {
    return this.buckets.get(resource)?.objects.size ?? 0;
  }

  /** Allocates the next resourceVersion; the caller stamps it on the object it then commits. */
  nextResourceVersion(): number {
    return ++this.rv;
  }

  /** Stores `object` (already stamped with `rv`) and records the change; notifies watchers synchronously. */
  commit(resource: string, namespace: string, name: string, type: ChangeType, object: JsonObject, rv: number): void {
    const b = this.bucket(resource);
    const key = objectKey(namespace, name);
    const previous = b.objects.get(key);
    if (type === "DELETED") {
      b.objects.delete(key);
      b.invalidate();
    } else {
      if (previous === undefined) b.invalidate();
      b.objects.set(key, object);
    }
    this.record({ rv, resource, type, object, previous });
  }

  private record(change: Change): void {
    const capacity = this.history.length;
    if (this.historySize === capacity) {
      const dropped = this.history[this.historyHead];
      if (dropped) this.compacted = dropped.rv;
      this.history[this.historyHead] = change;
      this.historyHead = (this.historyHead + 1) % capacity;
    } else {
      this.history[(this.historyHead + this.historySize) % capacity] = change;
      this.historySize++;
    }
    const subscribers = this.listeners.get(change.resource);
    if (subscribers) for (const listener of [...subscribers]) listener(change);
  }

  /** Changes of `resource` after `rv`, oldest first; undefined when `rv` is older than the history window. */
  changesSince(resource: string, rv: number): Change[] | undefined {
    if (rv < this.compacted) return undefined;
    const out: Change[] = [];
    const capacity = this.history.length;
    for (let i = 0; i < this.historySize; i++) {
      const c = this.history[(this.historyHead + i) % capacity];
      if (c && c.rv > rv && c.resource === resource) out.push(c);
    }
    return out;
  }

  subscribe(resource: string, listener: ChangeListener): () => void {
    let set = this.listeners.get(resource);
    if (!set) {
      set = new Set();
      this.listeners.set(resource, set);
    }
    set.add(listener);
    return () => set.delete(listener);
  }

  /**
   * Objects of `resource` in key order, optionally in one namespace, starting after the key `after`.
   * A generator so a paged list stops as soon as its page is full.
   */
  *scan(resource: string, namespace: string | undefined, after: string | undefined): Generator<JsonObject> {
    const b = this.buckets.get(resource);
    if (!b) return;
    const keys = b.keys();
    const prefix = namespace === undefined ? undefined : `${namespace}/`;
    let start = 0;
    if (after !== undefined) start = lowerBound(keys, after, false);
    if (prefix !== undefined) start = Math.max(start, lowerBound(keys, prefix, true));
    for (let i = start; i < keys.length; i++) {
      const key = keys[i] ?? "";
      if (prefix !== undefined && !key.startsWith(prefix)) return;
      const obj = b.objects.get(key);
      if (obj) yield obj;
    }
  }

  /** Every resource key that holds objects, for cascading a namespace deletion. */
  resources(): string[] {
    return [...this.buckets.keys()];
  }
}
