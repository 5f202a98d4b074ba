// Token buckets keyed by account and region, the shape of Lambda's shared control-plane quota.

export type TakeResult = { ok: true } | { ok: false; retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  updatedMs: number;
}

/**
 * One bucket per key, each holding up to `ratePerSecond` tokens (the burst) and refilling at
 * `ratePerSecond`. Time is passed in by the caller, so a fake clock makes throttling
 * deterministic. In-memory and synchronous.
 */
export class KeyedTokenBuckets {
  private readonly buckets = new Map<string, Bucket>();

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
    for (const bucket of this.buckets.values()) bucket.tokens = Math.min(bucket.tokens, ratePerSecond);
  }

  /** Takes one token for `key` at `nowMs`, or says how long until one is available. */
  take(key: string, nowMs: number): TakeResult {
    const burst = this.ratePerSecond;
    const bucket = this.buckets.get(key) ?? { tokens: burst, updatedMs: nowMs };
    // A clock that steps backwards (a test resetting its fake clock) must not drain the bucket.
    const elapsedMs = Math.max(0, nowMs - bucket.updatedMs);
    bucket.tokens = Math.min(burst, bucket.tokens + (elapsedMs / 1000) * this.ratePerSecond);
    bucket.updatedMs = nowMs;
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { ok: true };
    }
    const waitMs = ((1 - bucket.tokens) / this.ratePerSecond) * 1000;
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
  }

  reset(): void {
    this.buckets.clear();
  }
}
