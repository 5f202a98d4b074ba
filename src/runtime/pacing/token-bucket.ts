// A token bucket with time passed in: `perSecond` tokens refill continuously, at most `burst` saved up; the one behind every pacer and quota.

export interface TokenBucketSettings {
  /** Refill rate, tokens per second; positive. */
  perSecond: number;
  /** Tokens that may be spent at once after a quiet period; positive (below 1 means no token is ever whole). The bucket starts full. */
  burst: number;
}

function checked(settings: TokenBucketSettings): TokenBucketSettings {
  if (!(settings.perSecond > 0) || !(settings.burst > 0)) throw new RangeError("token bucket needs perSecond > 0 and burst > 0");
  return { perSecond: settings.perSecond, burst: settings.burst };
}

/**
 * Time is passed in by the caller (no clock read here), so the bucket is deterministic and pure
 * apart from its own state. A time earlier than the last one seen (a fake clock stepping back)
 * refills nothing and never drains the bucket. Throws RangeError for non-positive settings.
 */
export class TokenBucket {
  private settings: TokenBucketSettings;
  private tokens: number;
  private updatedMs: number;

  constructor(settings: TokenBucketSettings, nowMs: number) {
    this.settings = checked(settings);
    this.tokens = this.settings.burst;
    this.updatedMs = nowMs;
  }

  get perSecond(): number {
    return this.settings.perSecond;
  }

  /**
   * Changes rate and burst from now on; saved tokens are capped at the new burst, never raised.
   * Does not refill first: call `refill` before when time up to now should count at the old rate.
   */
  setRate(settings: TokenBucketSettings): void {
    this.settings = checked(settings);
    this.tokens = Math.min(this.tokens, this.settings.burst);
  }

  /** Adds the tokens earned since the last update at the current rate; returns the milliseconds that counted. */
  refill(nowMs: number): number {
    const elapsedMs = Math.max(0, nowMs - this.updatedMs);
    this.tokens = Math.min(this.settings.burst, this.tokens + (elapsedMs * this.settings.perSecond) / 1000);
    this.updatedMs = nowMs;
    return elapsedMs;
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

  /**
   * Takes one token even if it is not there yet (the bucket goes into debt) and returns the
   * milliseconds to wait before using it (0 when available now), so callers queue in order.
   */
  reserve(nowMs: number): number {
    const waitMs = this.msUntilToken(nowMs);
    this.tokens -= 1;
    return waitMs;
  }

  /** Gives back one token taken for work that turned out to cost nothing; never above the burst. */
  giveBack(): void {
    this.tokens = Math.min(this.settings.burst, this.tokens + 1);
  }

  /** Drops any saved burst (keeps a debt), so the next calls wait for fresh tokens. */
  drain(): void {
    this.tokens = Math.min(this.tokens, 0);
  }
}
