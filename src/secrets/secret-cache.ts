// The parsed-secret cache both sources share: bounded, keyed by namespace/name, remembering each secret's version.
import type { SecretMaterial, SecretMaterialKind } from "../model/credentials.js";
import type { SecretsTelemetry } from "../runtime/telemetry.js";
import { LruCache } from "../runtime/cache/lru-cache.js";
import type { SecretRef } from "../model/upstream.js";
import { refKey } from "./change-listeners.js";
import type { ResolvedSecret, SecretSourceName } from "./secret-source.js";

/** What the cache knows about one referenced secret. */
export interface CachedSecret {
  ref: SecretRef;
  location: string;
  /** The backend's version; null when the secret was looked up and did not exist (kept so its creation is noticed). */
  version: string | null;
  /** Parsed material by the format asked for (`any` when the caller named none). Empty: known but not parsed (malformed, or invalidated). */
  materials: Map<SecretMaterialKind | "any", SecretMaterial>;
  /** When the backend last answered for it (epoch ms), if the cache was told. */
  readAtMs?: number;
}

/**
 * How many secrets a cache keeps: a fixed count (`secrets.cacheSize`), or a bound read again on
 * every write, such as `fleetSizedCapacity` (`secrets.cacheSize: 0`).
 */
export type SecretCacheCapacity = number | (() => number);

/** The fewest entries a fleet-sized cache keeps, so a fleet that is still being listed does not evict. */
export const MIN_FLEET_CAPACITY = 1_000;

/**
 * A capacity that follows the fleet: a quarter more than the distinct secrets the tracked
 * upstreams use (`trackedRefs`, e.g. SecretResolver.trackedRefCount), never under 1,000. A
 * periodic pass over every upstream touches every such secret once, so any fixed bound below
 * that count misses on every read (least recently used is exactly the one asked next); the
 * quarter is room for secrets of upstreams just deleted or re-pointed. Pure.
 */
export function fleetSizedCapacity(trackedRefs: () => number): () => number {
  return () => Math.max(MIN_FLEET_CAPACITY, Math.ceil(trackedRefs() * 1.25));
}

/**
 * Holds only secrets someone asked for (never a whole namespace), at most `capacity` of them,
 * the least recently used dropped first. `lookup` counts hits and misses into
 * `secretCache{source, result}`. No I/O. Throws RangeError for a fixed capacity under 1.
 */
export class SecretCache {
  private readonly entries: LruCache<string, CachedSecret>;

  constructor(
    capacity: SecretCacheCapacity,
    private readonly source: SecretSourceName,
    private readonly telemetry: SecretsTelemetry,
  ) {
    if (typeof capacity === "number") {
      if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError("SecretCache capacity must be a positive integer");
      this.entries = new LruCache(capacity);
    } else {
      // A broken bound (NaN, negative) must not empty the cache on every write.
      this.entries = new LruCache(() => {
        const bound = capacity();
        return Number.isFinite(bound) && bound >= 1 ? bound : MIN_FLEET_CAPACITY;
      });
    }
  }

  /** The cached answer for `ref` in format `expected`, or undefined (a miss). */
  lookup(ref: SecretRef, expected: SecretMaterialKind | undefined): ResolvedSecret | undefined {
    const entry = this.entries.get(refKey(ref));
    const material = entry?.version != null ? entry.materials.get(expected ?? "any") : undefined;
    this.telemetry.secretCache.inc({ source: this.source, result: material === undefined ? "miss" : "hit" });
    if (entry?.version == null || material === undefined) return undefined;
    return { material, source: this.source, version: entry.version, location: entry.location };
  }

  /** Records a read: the material parsed for `expected` (none when it did not parse). A new version replaces older materials. */
  remember(ref: SecretRef, location: string, version: string, expected: SecretMaterialKind | undefined, material: SecretMaterial | undefined, readAtMs?: number): void {
    const key = refKey(ref);
    const existing = this.entries.peek(key);
    const entry: CachedSecret = existing?.version === version ? existing : { ref, location, version, materials: new Map() };
    if (material !== undefined) entry.materials.set(expected ?? "any", material);
    if (readAtMs !== undefined) entry.readAtMs = readAtMs;
    this.entries.set(key, entry);
  }

  /** Records that `ref` was looked up and does not exist. */
  rememberAbsent(ref: SecretRef, location: string): void {
    this.entries.set(refKey(ref), { ref, location, version: null, materials: new Map() });
  }

  /** Keeps tracking `ref` at `version` but drops its parsed material, so the next resolve reads the backend. */
  markStale(ref: SecretRef, version: string | null): void {
    const entry = this.entries.peek(refKey(ref));
    if (entry) this.entries.set(refKey(ref), { ...entry, version, materials: new Map() });
  }

  /** What is known about `ref`, without refreshing its recency. */
  peek(ref: SecretRef): CachedSecret | undefined {
    return this.entries.peek(refKey(ref));
  }

  /** Forgets `ref`; true when it was tracked. */
  drop(ref: SecretRef): boolean {
    return this.entries.delete(refKey(ref));
  }

  /** Every tracked entry, oldest first (a snapshot: safe to mutate the cache while iterating). */
  snapshot(): CachedSecret[] {
    return this.entries.keys().flatMap((k) => {
      const entry = this.entries.peek(k);
      return entry === undefined ? [] : [entry];
    });
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
