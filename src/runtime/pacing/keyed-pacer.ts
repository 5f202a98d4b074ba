// Pacing below a provider quota: an adaptive token bucket per key (AWS account+region), halving on throttling and recovering slowly.
import type { Clock, Sleep } from "../clock.js";
import { TokenBucket } from "./token-bucket.js";

export interface AdaptiveBucketOptions {
  /** The ceiling, in requests per second (e.g. `aws.lambdaRequestsPerSecond`). */
  maxRatePerSecond: number;
  /** The floor the rate never halves below; default 0.5 rps. */
  minRatePerSecond?: number;
  /** Rate regained per second without throttling, as a fraction of the ceiling; default 0.05 (20 s from floor to ceiling). */
  recoveryFractionPerSecond?: number;
}

/**
 * One bucket: holds up to one second of tokens at the current rate (the burst), refills at the
 * current rate. `reserve` never blocks: it takes a token (possibly in advance) and says how long
 * to wait for it, so concurrent callers queue in arrival order. Time is read from `clock` only;
 * the tokens are a model TokenBucket whose rate this wrapper moves.
 */
export class AdaptiveTokenBucket {
  private rate: number;
  private readonly bucket: TokenBucket;
  private readonly minRate: number;
  private readonly recoveryPerSecond: number;

  constructor(
    private readonly options: AdaptiveBucketOptions,
    private readonly clock: Pick<Clock, "now">,
  ) {
    if (!(options.maxRatePerSecond > 0)) throw new Error("maxRatePerSecond must be positive");
    this.rate = options.maxRatePerSecond;
    this.bucket = new TokenBucket({ perSecond: this.rate, burst: this.rate }, clock.now());
    this.minRate = Math.min(options.minRatePerSecond ?? 0.5, options.maxRatePerSecond);
    this.recoveryPerSecond = (options.recoveryFractionPerSecond ?? 0.05) * options.maxRatePerSecond;
  }

  /** The current rate in requests per second. */
  get ratePerSecond(): number {
    this.refill();
    return this.rate;
  }

  /** Takes one token; returns the milliseconds to wait before using it (0 when available now). */
  reserve(): number {
    return this.bucket.reserve(this.refill());
  }

  /** The provider throttled us: halve the rate and drop the burst, so the next calls spread out. */
  throttled(): void {
    this.refill();
    this.setRate(Math.max(this.minRate, this.rate / 2));
    this.bucket.drain();
  }

  /** Refills at the rate in force until now, then lets the rate recover for the time that passed; returns now. */
  private refill(): number {
    const now = this.clock.now();
    const elapsedSeconds = this.bucket.refill(now) / 1000;
    this.setRate(Math.min(this.options.maxRatePerSecond, this.rate + elapsedSeconds * this.recoveryPerSecond));
    return now;
  }

  private setRate(rate: number): void {
    this.rate = rate;
    this.bucket.setRate({ perSecond: rate, burst: rate });
  }
}

/** Buckets by key, created on first use and shared by every caller of that key (every upstream of one account-region). */
export class KeyedPacer {
  private readonly buckets = new Map<string, AdaptiveTokenBucket>();

  constructor(
    private readonly options: AdaptiveBucketOptions,
    private readonly clock: Pick<Clock, "now">,
    private readonly sleep: Sleep,
  ) {}

  /** Waits until a call for `key` may be made. */
  async acquire(key: string): Promise<void> {
    const waitMs = this.bucket(key).reserve();
    if (waitMs > 0) await this.sleep(waitMs);
  }

  /** Reports that a call for `key` was throttled. */
  throttled(key: string): void {
    this.bucket(key).throttled();
  }

  /** The current rate for `key` (the ceiling for a key never used). */
  rateOf(key: string): number {
    return this.buckets.get(key)?.ratePerSecond ?? this.options.maxRatePerSecond;
  }

  private bucket(key: string): AdaptiveTokenBucket {
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = new AdaptiveTokenBucket(this.options, this.clock);
      this.buckets.set(key, bucket);
    }
    return bucket;
  }
}
