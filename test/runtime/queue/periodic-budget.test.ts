// The work queue's two budgets on a fake clock: periodic re-verification paced from the fleet's size ÷ interval, everything else (retries first) by the global limit.
import { describe, expect, it } from "vitest";
import { FakeClock } from "../../../src/runtime/clock.js";
import { WorkQueue, type WorkQueueOptions } from "../../../src/runtime/queue/work-queue.js";
import { busiestWindow, mean } from "../../support/schedule-stats.js";
import { seeded } from "../../support/seeded-random.js";

function setup(overrides: Partial<WorkQueueOptions> = {}) {
  const clock = new FakeClock(0);
  const queue = new WorkQueue({ clock, random: seeded(7), ratePerSecond: 50, ...overrides });
  return { clock, queue };
}

/** Start times per key. */
function starts() {
  const byKey = new Map<string, number[]>();
  return {
    byKey,
    record(key: string, at: number) {
      const list = byKey.get(key) ?? [];
      list.push(at);
      byKey.set(key, list);
    },
    /** Gaps between consecutive starts of `keys`. */
    gaps(keys: Iterable<string>): number[] {
      return [...keys].flatMap((k) => (byKey.get(k) ?? []).slice(1).map((at, i) => at - byKey.get(k)![i]!));
    },
  };
}

describe("WorkQueue periodic budget", () => {
  it("keeps a fleet larger than rate × interval on its interval, from a cold start at the global rate", async () => {
    // 1,000 keys at 60 s need 16.7 starts a second; the global limit allows 5.
    const { clock, queue } = setup({ ratePerSecond: 5 });
    const intervalMs = 60_000;
    const seen = starts();
    queue.run(async (key) => {
      seen.record(key, clock.now());
      await new Promise<void>((resolve) => clock.setTimeout(resolve, 25));
      queue.schedulePeriodic(key, intervalMs);
    }, 8);
    const keys = Array.from({ length: 1000 }, (_, i) => `ns/k${i}`);
    for (const key of keys) queue.add(key, { priority: "new" });
    await clock.advanceAsync(200_000 + 10 * intervalMs);
    const gaps = seen.gaps(keys);
    expect(gaps.length).toBeGreaterThan(8 * keys.length);
    expect(Math.abs(mean(gaps) - intervalMs) / intervalMs).toBeLessThan(0.01);
    // Each gap is the jittered interval (±10%) plus at most a moment's wait for a token or a worker.
    expect(Math.max(...gaps)).toBeLessThan(intervalMs * 1.1 + 1000);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(intervalMs * 0.9);
  });

  it("paces retries by the global limit while the periodic budget carries the routine work", async () => {
    const { clock, queue } = setup({ ratePerSecond: 2, burst: 2, backoff: { minMs: 10, maxMs: 100, jitter: 0 } });
    const intervalMs = 60_000;
    const seen = starts();
    const failing = new Set(Array.from({ length: 100 }, (_, i) => `ns/failing${i}`));
    queue.run((key) => {
      seen.record(key, clock.now());
      if (failing.has(key)) queue.retry(key);
      else queue.schedulePeriodic(key, intervalMs);
      return Promise.resolve();
    }, 8);
    const steady = Array.from({ length: 600 }, (_, i) => `ns/steady${i}`);
    steady.forEach((key, i) => queue.schedulePeriodic(key, intervalMs, { delayMs: i * 100 }));
    for (const key of failing) queue.add(key, { priority: "new" });
    await clock.advanceAsync(5 * intervalMs);
    const retries = [...failing].flatMap((k) => seen.byKey.get(k) ?? []);
    // Two a second (and the burst of two once): the failing keys would retry every 100 ms without it.
    expect(busiestWindow(retries, 1000)).toBeLessThanOrEqual(4);
    expect(retries.length).toBeLessThanOrEqual(2 * 300 + 2);
    expect(retries.length).toBeGreaterThan(2 * 300 * 0.9);
    // 600 keys at 60 s need 10 starts a second, five times the global limit: still on time.
    expect(Math.abs(mean(seen.gaps(steady)) - intervalMs) / intervalMs).toBeLessThan(0.01);
  });

  it("sizes the periodic budget from the keys on a cadence, never below the global rate", () => {
    const { queue } = setup({ ratePerSecond: 50 });
    expect(queue.periodicRatePerSecond).toBe(50);
    for (let i = 0; i < 30_000; i++) queue.schedulePeriodic(`ns/k${i}`, 300_000);
    expect(queue.periodicKeys).toBe(30_000);
    // 2 × 30,000 / 300 s.
    expect(queue.periodicRatePerSecond).toBeCloseTo(200, 6);
    for (let i = 0; i < 18_000; i++) queue.remove(`ns/k${i}`);
    expect(queue.periodicRatePerSecond).toBeCloseTo(80, 6);
    for (let i = 18_000; i < 25_000; i++) queue.remove(`ns/k${i}`);
    // 5,000 keys need 33 a second: the global rate is the floor.
    expect(queue.periodicRatePerSecond).toBe(50);
    for (let i = 25_000; i < 30_000; i++) queue.remove(`ns/k${i}`);
    expect(queue.periodicKeys).toBe(0);
    expect(queue.periodicRatePerSecond).toBe(50);
  });

  it("paces a periodic key under the global limit once a change, a forced run or a retry sets its start", () => {
    const { queue } = setup();
    queue.schedulePeriodic("ns/changed", 300_000, { delayMs: 10_000 });
    queue.add("ns/changed", { priority: "routine" });
    expect(queue.periodicKeys).toBe(0);

    queue.schedulePeriodic("ns/forced", 300_000, { delayMs: 10_000 });
    queue.add("ns/forced", { priority: "forced", delayMs: 20_000 });
    expect(queue.periodicKeys).toBe(0);

    queue.schedulePeriodic("ns/retried", 300_000, { delayMs: 10_000 });
    queue.retry("ns/retried");
    expect(queue.periodicKeys).toBe(0);

    // A change settling later than the periodic run leaves the run periodic, and the reverse.
    queue.schedulePeriodic("ns/soon", 300_000, { delayMs: 10_000 });
    queue.add("ns/soon", { priority: "routine", delayMs: 20_000 });
    queue.add("ns/settling", { priority: "routine", delayMs: 1000 });
    queue.schedulePeriodic("ns/settling", 300_000);
    expect(queue.periodicKeys).toBe(1);
  });

  it("counts a periodic run in the fleet's pace until it ends, and drops it when the run retries", async () => {
    const { clock, queue } = setup();
    let finish: (() => void) | undefined;
    queue.run((key) => {
      queue.retry(key);
      return new Promise<void>((resolve) => (finish = resolve));
    }, 1);
    queue.schedulePeriodic("ns/a", 300_000, { delayMs: 0 });
    await clock.advanceAsync(0);
    expect(queue.inFlight).toBe(1);
    expect(queue.periodicKeys).toBe(1);
    finish?.();
    await clock.advanceAsync(0);
    expect(queue.inFlight).toBe(0);
    expect(queue.periodicKeys).toBe(0);
    expect(queue.depth).toBe(1);
  });

  it("starts a periodic key at the delay it is given, and rejects an interval that is not positive", async () => {
    const { clock, queue } = setup();
    const at: number[] = [];
    queue.run(() => {
      at.push(clock.now());
      return Promise.resolve();
    }, 1);
    queue.schedulePeriodic("ns/a", 300_000, { delayMs: 1234 });
    await clock.advanceAsync(400_000);
    expect(at).toEqual([1234]);
    expect(() => queue.schedulePeriodic("ns/b", 0)).toThrow(RangeError);
  });

  it("lets periodic work start while the global budget is spent, and new work while the periodic one is", async () => {
    const { clock, queue } = setup({ ratePerSecond: 1, burst: 1 });
    const started: string[] = [];
    queue.run((key) => {
      started.push(key);
      return Promise.resolve();
    }, 10);
    for (let i = 0; i < 3; i++) queue.add(`ns/new${i}`, { priority: "new" });
    for (let i = 0; i < 3; i++) queue.schedulePeriodic(`ns/periodic${i}`, 300_000, { delayMs: 0 });
    await clock.advanceAsync(0);
    expect(started.sort()).toEqual(["ns/new0", "ns/periodic0"]);
    await clock.advanceAsync(1000);
    expect(started).toHaveLength(4);
  });
});
