// FakeClock semantics the other plumbing tests rely on: ordered timers, timers set while advancing, async advance.
import { describe, expect, it, vi } from "vitest";
import { FakeClock, createSystemClock } from "../../src/runtime/clock.js";

describe("FakeClock", () => {
  it("runs due timers in due-time order, ties in the order they were set, with now() at each due time", () => {
    const clock = new FakeClock(1000);
    const fired: Array<[string, number]> = [];
    clock.setTimeout(() => fired.push(["b", clock.now()]), 20);
    clock.setTimeout(() => fired.push(["a", clock.now()]), 10);
    clock.setTimeout(() => fired.push(["c", clock.now()]), 20);
    clock.setTimeout(() => fired.push(["late", clock.now()]), 31);
    clock.advance(30);
    expect(fired).toEqual([
      ["a", 1010],
      ["b", 1020],
      ["c", 1020],
    ]);
    expect(clock.now()).toBe(1030);
    expect(clock.pendingTimers).toBe(1);
  });

  it("fires timers set by a timer when they fall due within the same advance", () => {
    const clock = new FakeClock(0);
    const fired: number[] = [];
    const tick = () => {
      fired.push(clock.now());
      clock.setTimeout(tick, 100);
    };
    clock.setTimeout(tick, 100);
    clock.advance(350);
    expect(fired).toEqual([100, 200, 300]);
  });

  it("never runs a cleared timer", () => {
    const clock = new FakeClock(0);
    let ran = false;
    const handle = clock.setTimeout(() => (ran = true), 5);
    clock.clearTimeout(handle);
    clock.advance(10);
    expect(ran).toBe(false);
  });

  it("advanceAsync lets promise callbacks woken by a timer set the next timer in time", async () => {
    const clock = new FakeClock(0);
    const wakes: number[] = [];
    const sleep = (ms: number) => new Promise<void>((resolve) => clock.setTimeout(resolve, ms));
    const loop = async () => {
      for (let i = 0; i < 3; i++) {
        await sleep(100);
        wakes.push(clock.now());
      }
    };
    const done = loop();
    await clock.advanceAsync(300);
    await done;
    expect(wakes).toEqual([100, 200, 300]);
  });
});

describe("system clock", () => {
  it("runs a timer and ignores clearing it afterwards", async () => {
    const clock = createSystemClock();
    const ran = await new Promise<boolean>((resolve) => {
      const handle = clock.setTimeout(() => {
        resolve(true);
        clock.clearTimeout(handle);
      }, 1);
    });
    expect(ran).toBe(true);
  });

  it("never runs a timer before monotonicNow() has advanced by its delay, even when Node's timer fires early", async () => {
    const clock = createSystemClock();
    // Node's timer may fire while the time it is measured against still reads short: simulate a 5 ms lag.
    let lagMs = 0;
    const realNow = performance.now.bind(performance);
    const spy = vi.spyOn(performance, "now").mockImplementation(() => realNow() - lagMs);
    try {
      const start = clock.monotonicNow();
      const ranAt = await new Promise<number>((resolve) => {
        clock.setTimeout(() => resolve(clock.monotonicNow()), 20);
        lagMs = 5;
      });
      expect(ranAt).toBeGreaterThanOrEqual(start + 20);
    } finally {
      spy.mockRestore();
    }
  });

  it("waits longer than Node's largest delay in chunks instead of firing at once or spinning", () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
    try {
      const clock = createSystemClock();
      const fortyDays = 40 * 24 * 3600_000;
      let ran = 0;
      clock.setTimeout(() => ran++, fortyDays);
      expect(vi.getTimerCount()).toBe(1);
      vi.advanceTimersByTime(2 ** 31 - 1);
      expect(ran).toBe(0);
      expect(vi.getTimerCount()).toBe(1);
      vi.advanceTimersByTime(fortyDays - (2 ** 31 - 1) - 1);
      expect(ran).toBe(0);
      vi.advanceTimersByTime(1);
      expect(ran).toBe(1);
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it("sleeps longer than Node's largest delay in chunks too", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
    try {
      let woke = false;
      void createSystemClock().sleep?.(30 * 24 * 3600_000).then(() => (woke = true));
      await vi.advanceTimersByTimeAsync(2 ** 31 - 1);
      expect(woke).toBe(false);
      await vi.advanceTimersByTimeAsync(30 * 24 * 3600_000 - (2 ** 31 - 1));
      expect(woke).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it("keeps monotonic time apart from wall time", () => {
    const clock = createSystemClock();
    const spy = vi.spyOn(Date, "now").mockReturnValue(0);
    try {
      expect(clock.now()).toBe(0);
      expect(clock.monotonicNow()).toBeGreaterThan(0);
    } finally {
      spy.mockRestore();
    }
  });

  it("does not keep the process alive while a timer is pending", () => {
    const clock = createSystemClock();
    const refTimers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    const before = refTimers();
    const handle = clock.setTimeout(() => undefined, 60_000);
    expect(refTimers()).toBe(before);
    clock.clearTimeout(handle);
  });
});
