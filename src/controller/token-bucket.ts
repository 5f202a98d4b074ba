// A token bucket that paces work starts: `perSecond` tokens refill continuously, at most `burst` saved up.

export interface TokenBucketSettings {
  perSecond: number;
  /** Tokens that may be spent at once after a quiet period; the bucket starts full. */
  burst: number;
}

/** Time is passed in by the caller (no clock read here), so the bucket is deterministic. */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(private readonly settings: TokenBucketSettings, nowMs: number) {
    if (!(settings.perSecond > 0) || !(settings.burst >= 1)) throw new RangeError("token bucket needs perSecond > 0 and burst >= 1");
    this.tokens = settings.burst;
    this.updatedAt = nowMs;
  }

  /** Takes one token if one is available at `nowMs`; returns whether it did. */
  tryTake(nowMs: number): boolean {
    this.refill(nowMs);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Milliseconds from `nowMs` until a token is available (0 when one is). */
  msUntilToken(nowMs: number): number {
    this.refill(nowMs);
    if (this.tokens >= 1) return 0;
    return Math.ceil(((1 - this.tokens) * 1000) / this.settings.perSecond);
  }

  private refill(nowMs: number): void {
    const elapsedMs = Math.max(0, nowMs - this.updatedAt);
    this.tokens = Math.min(this.settings.burst, this.tokens + (elapsedMs * this.settings.perSecond) / 1000);
    this.updatedAt = nowMs;
  }
}
