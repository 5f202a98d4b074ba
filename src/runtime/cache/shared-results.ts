// A TTL cache with single-flight: identical concurrent requests share one computation, finished results are reused until they expire.
import type { Clock } from "../clock.js";

export type LookupOutcome = "hit" | "miss" | "joined";

interface Entry<T> {
  value: T;
  expiresAtMs: number;
}

export interface SharedResultsOptions<T> {
  clock: Pick<Clock, "now">;
  /** How long a result is reused. */
  ttlMs: number;
  /** How long a result `ttlFor` marks as short-lived is reused (0: not at all). */
  shortTtlMs?: number;
  /** `"normal"` results get `ttlMs`, `"short"` ones `shortTtlMs` (unknown verdicts must not stick). */
  ttlFor?: (value: T) => "normal" | "short";
  /** Entries kept at most; the oldest are dropped first. */
  maxEntries?: number;
}

/**
 * Keys are opaque strings (fingerprints), never secrets. In-memory; `get` never throws unless
 * `compute` does, and then every joined caller sees the same rejection and nothing is cached.
 */
export class SharedResults<T> {
  private readonly entries = new Map<string, Entry<T>>();
  /** In-flight computations; `fresh` marks one started by a forced request (never older than it). */
  private readonly inFlight = new Map<string, { promise: Promise<T>; fresh: boolean }>();

  constructor(private readonly options: SharedResultsOptions<T>) {}

  get size(): number {
    return this.entries.size;
  }

  /**
   * The cached value for `key` (hit), the in-flight computation for it (joined), or a new one
   * (miss). With `fresh` the cache is skipped, and only an in-flight computation that was itself
   * started fresh is joined: a routine one may have begun before whatever change prompted the
   * forced request, so a forced request starts its own, which later requests then join.
   */
  async get(key: string, fresh: boolean, compute: () => Promise<T>): Promise<{ value: T; outcome: LookupOutcome }> {
    const now = this.options.clock.now();
    if (!fresh) {
      const entry = this.entries.get(key);
      if (entry && entry.expiresAtMs > now) return { value: entry.value, outcome: "hit" };
      if (entry) this.entries.delete(key);
    }
    const pending = this.inFlight.get(key);
    if (pending && (pending.fresh || !fresh)) return { value: await pending.promise, outcome: "joined" };
    const promise = this.start(key, compute, fresh);
    return { value: await promise, outcome: "miss" };
  }

  /** Drops every cached result (not in-flight ones). */
  clear(): void {
    this.entries.clear();
  }

  private start(key: string, compute: () => Promise<T>, fresh: boolean): Promise<T> {
    const flight = { promise: Promise.resolve() as Promise<T>, fresh };
    flight.promise = (async () => {
      try {
        const value = await compute();
        // A superseded routine computation must not overwrite what a forced one stored.
        if (this.inFlight.get(key) === flight || !this.entries.has(key)) this.store(key, value);
        return value;
      } finally {
        if (this.inFlight.get(key) === flight) this.inFlight.delete(key);
      }
    })();
    this.inFlight.set(key, flight);
    return flight.promise;
  }

  private store(key: string, value: T): void {
    const kind = this.options.ttlFor?.(value) ?? "normal";
    const ttl = kind === "normal" ? this.options.ttlMs : (this.options.shortTtlMs ?? 0);
    if (ttl <= 0) return;
    const now = this.options.clock.now();
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAtMs: now + ttl });
    const max = this.options.maxEntries ?? 10_000;
    if (this.entries.size > max) {
      for (const [k, e] of this.entries) if (e.expiresAtMs <= now) this.entries.delete(k);
      // Map order is insertion order, so the first keys are the oldest.
      for (const k of this.entries.keys()) {
        if (this.entries.size <= max) break;
        this.entries.delete(k);
      }
    }
  }
}
