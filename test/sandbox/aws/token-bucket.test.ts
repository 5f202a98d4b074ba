// The keyed token bucket behind the Lambda quota, driven by explicit times.
import { describe, expect, it } from "vitest";
import { KeyedTokenBuckets } from "../../../src/sandbox/aws/token-bucket.js";

describe("KeyedTokenBuckets", () => {
  it("allows a burst of `rate` calls, then refuses with a Retry-After of at least one second", () => {
    const buckets = new KeyedTokenBuckets(15);
    for (let i = 0; i < 15; i++) expect(buckets.take("a/us-east-1", 1_000)).toEqual({ ok: true });
    expect(buckets.take("a/us-east-1", 1_000)).toEqual({ ok: false, retryAfterSeconds: 1 });
  });

  it("refills at `rate` per second", () => {
    const buckets = new KeyedTokenBuckets(10);
    for (let i = 0; i < 10; i++) buckets.take("k", 0);
    expect(buckets.take("k", 50).ok).toBe(false);
    expect(buckets.take("k", 100).ok).toBe(true);
    expect(buckets.take("k", 100).ok).toBe(false);
  });

  it("keeps keys independent", () => {
    const buckets = new KeyedTokenBuckets(1);
    expect(buckets.take("a", 0).ok).toBe(true);
    expect(buckets.take("a", 0).ok).toBe(false);
    expect(buckets.take("b", 0).ok).toBe(true);
  });

  it("does not drain when the clock steps backwards, and refills fully on reset", () => {
    const buckets = new KeyedTokenBuckets(2);
    buckets.take("k", 10_000);
    expect(buckets.take("k", 0).ok).toBe(true);
    expect(buckets.take("k", 0).ok).toBe(false);
    buckets.reset();
    expect(buckets.take("k", 0).ok).toBe(true);
  });

  it("applies a new rate to existing buckets and refuses a non-positive rate", () => {
    const buckets = new KeyedTokenBuckets(100);
    buckets.setRate(1);
    expect(buckets.take("k", 0).ok).toBe(true);
    expect(buckets.take("k", 0).ok).toBe(false);
    expect(() => buckets.setRate(0)).toThrow();
  });
});
