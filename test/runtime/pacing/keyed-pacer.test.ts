// The adaptive pacer with a fake clock: burst, steady pace, halving on throttling, slow recovery, sharing per key.
import { describe, expect, it } from "vitest";
import { AdaptiveTokenBucket, KeyedPacer } from "../../../src/runtime/pacing/keyed-pacer.js";

describe("AdaptiveTokenBucket", () => {
  it("allows a burst of one second's worth, then spaces calls at the rate", () => {
    let now = 0;
    const bucket = new AdaptiveTokenBucket({ maxRatePerSecond: 10 }, { now: () => now });
    const waits = Array.from({ length: 12 }, () => bucket.reserve());
    expect(waits.slice(0, 10)).toEqual(Array(10).fill(0));
    expect(waits[10]).toBe(100);
    expect(waits[11]).toBe(200);
    now += 1_200;
    expect(bucket.reserve()).toBe(0);
  });

  it("halves on throttling, never below the floor, and recovers slowly to the ceiling", () => {
    let now = 0;
    const bucket = new AdaptiveTokenBucket({ maxRatePerSecond: 12, minRatePerSecond: 1, recoveryFractionPerSecond: 0.1 }, { now: () => now });
    bucket.throttled();
    expect(bucket.ratePerSecond).toBe(6);
    bucket.throttled();
    bucket.throttled();
    bucket.throttled();
    expect(bucket.ratePerSecond).toBe(1);
    now += 1_000;
    expect(bucket.ratePerSecond).toBeCloseTo(2.2, 5);
    now += 60_000;
    expect(bucket.ratePerSecond).toBe(12);
  });

  it("drops the burst after throttling, so the next call waits", () => {
    const bucket = new AdaptiveTokenBucket({ maxRatePerSecond: 10 }, { now: () => 0 });
    bucket.throttled();
    expect(bucket.reserve()).toBe(200);
  });
});

describe("KeyedPacer", () => {
  it("shares one bucket per key and keeps keys independent", async () => {
    let now = 0;
    const slept: number[] = [];
    const pacer = new KeyedPacer({ maxRatePerSecond: 2 }, { now: () => now }, (ms) => {
      slept.push(ms);
      now += ms;
      return Promise.resolve();
    });
    await pacer.acquire("111122223333/eu-west-1");
    await pacer.acquire("111122223333/eu-west-1");
    await pacer.acquire("111122223333/us-east-1");
    expect(slept).toEqual([]);
    await pacer.acquire("111122223333/eu-west-1");
    expect(slept).toEqual([500]);
    pacer.throttled("111122223333/eu-west-1");
    expect(pacer.rateOf("111122223333/eu-west-1")).toBe(1);
    expect(pacer.rateOf("111122223333/us-east-1")).toBe(2);
  });
});
