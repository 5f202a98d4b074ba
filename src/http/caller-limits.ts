// Per-caller rate limits for the HTTP API: a token bucket per caller id, in a bounded LRU so many callers cannot grow memory.
import { LruCache } from "../runtime/cache/lru-cache.js";
import { TokenBucket } from "../runtime/pacing/token-bucket.js";

export interface CallerLimitsSettings {
  /** Requests per caller per minute, refilled continuously; positive. */
  perMinute: number;
  /** Requests a quiet caller may send at once; at least 1. Default: a sixth of `perMinute`, at least 1. */
  burst?: number | undefined;
  /** Callers remembered at most; a positive integer. Default 10,000. */
  maxCallers?: number | undefined;
}

export type CallerTake = { ok: true } | { ok: false; retryAfterSeconds: number };

export const DEFAULT_MAX_CALLERS = 10_000;

/**
 * Counts requests per caller key (a `Caller.id`, never a token). Time is passed in and nothing
 * runs in the background, so it needs no timers and nothing to stop. Throws RangeError for bad
 * settings. Not shared between replicas: each replica limits what it serves.
 */
export class CallerLimits {
  private readonly buckets: LruCache<string, TokenBucket>;
  private readonly perSecond: number;
  private readonly burst: number;

  constructor(settings: CallerLimitsSettings) {
    const { perMinute } = settings;
    if (!Number.isFinite(perMinute) || perMinute <= 0) throw new RangeError("caller limits need perMinute > 0");
    const burst = settings.burst ?? Math.max(1, Math.ceil(perMinute / 6));
    // A burst below 1 would never hold a whole token: every request would be refused.
    if (!Number.isFinite(burst) || burst < 1) throw new RangeError("caller limits need burst >= 1");
    this.perSecond = perMinute / 60;
    this.burst = burst;
    // LruCache rejects a size that is not a positive integer.
    this.buckets = new LruCache(settings.maxCallers ?? DEFAULT_MAX_CALLERS);
  }

  /** Callers currently remembered (at most `maxCallers`). */
  get size(): number {
    return this.buckets.size;
  }

  /**
   * Spends one request of `key` at `nowMs`, which should come from `Clock.monotonicNow()`: a time
   * earlier than the last refills nothing, but the bucket then counts from that earlier time.
   * Refused: the whole seconds, at least 1, until a request is allowed again.
   */
  take(key: string, nowMs: number): CallerTake {
    // `get` marks the caller recent even when refused, so a caller hammering the API stays
    // remembered (and limited) while quiet ones are the ones evicted.
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      // A caller evicted by the bound comes back with a full bucket. Acceptable: resetting one's
      // own limit that way takes more than `maxCallers` distinct authenticated identities, and the
      // global cap on queued forced work bounds what they could ask for anyway.
      bucket = new TokenBucket({ perSecond: this.perSecond, burst: this.burst }, nowMs);
      this.buckets.set(key, bucket);
    }
    if (bucket.tryTake(nowMs)) return { ok: true };
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(bucket.msUntilToken(nowMs) / 1000)) };
  }
}
