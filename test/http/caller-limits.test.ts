// Per-caller rate limits: burst, refusal with Retry-After, refill, independence of callers and the memory bound.
import { describe, expect, it } from "vitest";
import { CallerLimits, DEFAULT_MAX_CALLERS } from "../../src/http/caller-limits.js";

const T0 = 1_000_000;

/** Takes `count` requests for `key` at `nowMs`; returns how many were allowed. */
function allowed(limits: CallerLimits, key: string, count: number, nowMs: number): number {
  let ok = 0;
  for (let i = 0; i < count; i++) if (limits.take(key, nowMs).ok) ok++;
  return ok;
}

describe("CallerLimits", () => {
  it("allows a burst of a sixth of the per-minute rate, then refuses with the seconds until a token is back", () => {
    const limits = new CallerLimits({ perMinute: 60 });
    expect(allowed(limits, "user:alice", 10, T0)).toBe(10);
    // 60 per minute is one a second: the next token is a second away.
    expect(limits.take("user:alice", T0)).toEqual({ ok: false, retryAfterSeconds: 1 });
  });

  it("answers the remaining whole seconds, rounded up, when a token is partly refilled", () => {
    const limits = new CallerLimits({ perMinute: 6 }); // burst 1, one token per 10 s
    expect(limits.take("user:bob", T0)).toEqual({ ok: true });
    expect(limits.take("user:bob", T0)).toEqual({ ok: false, retryAfterSeconds: 10 });
    expect(limits.take("user:bob", T0 + 4_000)).toEqual({ ok: false, retryAfterSeconds: 6 });
    expect(limits.take("user:bob", T0 + 9_999)).toEqual({ ok: false, retryAfterSeconds: 1 });
  });

  it("never answers less than one second when a token is only milliseconds away", () => {
    const limits = new CallerLimits({ perMinute: 600, burst: 1 }); // a token every 100 ms
    expect(limits.take("k", T0).ok).toBe(true);
    expect(limits.take("k", T0 + 50)).toEqual({ ok: false, retryAfterSeconds: 1 });
  });

  it("allows requests again once the Retry-After has passed", () => {
    const limits = new CallerLimits({ perMinute: 6 });
    expect(limits.take("user:bob", T0).ok).toBe(true);
    const refused = limits.take("user:bob", T0);
    if (refused.ok) throw new Error("expected a refusal");
    expect(limits.take("user:bob", T0 + refused.retryAfterSeconds * 1000)).toEqual({ ok: true });
  });

  it("refills the whole burst after a quiet period, and no more than the burst", () => {
    const limits = new CallerLimits({ perMinute: 60, burst: 5 });
    expect(allowed(limits, "c", 5, T0)).toBe(5);
    expect(limits.take("c", T0).ok).toBe(false);
    expect(allowed(limits, "c", 20, T0 + 3_600_000)).toBe(5);
  });

  it("refills nothing when the time passed in goes backwards", () => {
    const limits = new CallerLimits({ perMinute: 60, burst: 1 });
    expect(limits.take("c", T0).ok).toBe(true);
    expect(limits.take("c", T0 - 60_000).ok).toBe(false);
  });

  it("keeps callers independent when one of them is exhausted", () => {
    const limits = new CallerLimits({ perMinute: 60 });
    expect(allowed(limits, "user:alice", 50, T0)).toBe(10);
    expect(allowed(limits, "user:bob", 10, T0)).toBe(10);
    expect(limits.take("token-file:3", T0)).toEqual({ ok: true });
    expect(limits.take("user:alice", T0).ok).toBe(false);
  });

  it("keeps at most maxCallers buckets when 100,000 distinct callers arrive", () => {
    const limits = new CallerLimits({ perMinute: 60 });
    for (let i = 0; i < 100_000; i++) expect(limits.take(`user:${i}`, T0 + i).ok).toBe(true);
    expect(limits.size).toBe(DEFAULT_MAX_CALLERS);
  });

  it("starts an evicted caller with a full bucket, and keeps a refused caller remembered", () => {
    const limits = new CallerLimits({ perMinute: 6, maxCallers: 2 });
    expect(limits.take("a", T0).ok).toBe(true);
    expect(limits.take("b", T0).ok).toBe(true);
    // "a" is refused, which still makes it the most recent caller, so "c" evicts "b".
    expect(limits.take("a", T0).ok).toBe(false);
    expect(limits.take("c", T0).ok).toBe(true);
    expect(limits.size).toBe(2);
    expect(limits.take("a", T0).ok).toBe(false);
    // "b" was forgotten: it comes back with a full bucket (the accepted cost of the bound).
    expect(limits.take("b", T0).ok).toBe(true);
  });

  it("throws RangeError when the settings cannot limit anything", () => {
    expect(() => new CallerLimits({ perMinute: 0 })).toThrow(RangeError);
    expect(() => new CallerLimits({ perMinute: Number.NaN })).toThrow(RangeError);
    expect(() => new CallerLimits({ perMinute: 60, burst: 0.5 })).toThrow(RangeError);
    expect(() => new CallerLimits({ perMinute: 60, maxCallers: 0 })).toThrow(RangeError);
    expect(() => new CallerLimits({ perMinute: 60, maxCallers: 1.5 })).toThrow(RangeError);
  });

  it("uses a burst of at least one when the per-minute rate is below six", () => {
    const limits = new CallerLimits({ perMinute: 1 });
    expect(limits.take("slow", T0)).toEqual({ ok: true });
    expect(limits.take("slow", T0)).toEqual({ ok: false, retryAfterSeconds: 60 });
  });
});
