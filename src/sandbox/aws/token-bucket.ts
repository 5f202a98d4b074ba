// Token buckets keyed by account and region, the shape of Lambda's shared control-plane quota.
import { TokenBucket } from "../../runtime/pacing/token-bucket.js";

export type TakeResult = { ok: true } | { ok: false; retryAfterSeconds: number };

/**
 * One model TokenBucket per key, each holding up to `ratePerSecond` tokens (the burst) and
 * refilling at `ratePerSecond`. Time is passed in by the caller, so a fake clock makes throttling
 * deterministic. In-memory and synchronous.
 */
export class KeyedTokenBuckets {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(private ratePerSecond: number) {
    this.setRate(ratePerSecond);
  }

  get rate(): number {
    return this.ratePerSecond;
  }

  /** Changes rate and burst for every key; existing buckets keep their tokens, capped at the new burst. */
  setRate(ratePerSecond: number): void {
    if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond)) throw new Error("rate must be a positive number of requests per second");
    this.ratePerSecond = ratePerSecond;
    for (const bucket of this.buckets.values()) bucket.setRate(this.settings());
  }

  /** Takes one token for `key` at `nowMs`, or says how long until one is available. */
  take(key: string, nowMs: number): TakeResult {
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      bucket = new TokenBucket(this.settings(), nowMs);
      this.buckets.set(key, bucket);
    }
    // A clock that steps backwards (a test resetting its fake clock) must not drain the bucket; the model bucket sees to it.
    if (bucket.tryTake(nowMs)) return { ok: true };
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(bucket.msUntilToken(nowMs) / 1000)) };
  }

  reset(): void {
    this.buckets.clear();
  }

  private settings(): { perSecond: number; burst: number } {
    return { perSecond: this.ratePerSecond, burst: this.ratePerSecond };
  }
}
