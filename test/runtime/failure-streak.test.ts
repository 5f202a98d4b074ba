// FailureStreak: one start and one end per streak, however many failures and keys.
import { describe, expect, it } from "vitest";
import { FailureStreak, type StreakSummary } from "../../src/runtime/failure-streak.js";

function streak(quietMs?: number) {
  let now = 1_000;
  const starts: string[] = [];
  const ends: StreakSummary[] = [];
  const s = new FailureStreak<string>({ now: () => now, onStart: (d) => starts.push(d), onEnd: (e) => ends.push(e), ...(quietMs === undefined ? {} : { quietMs }) });
  return { s, starts, ends, advance: (ms: number) => (now += ms) };
}

describe("FailureStreak", () => {
  it("starts once for many failures and ends once, with the count and the duration", () => {
    const { s, starts, ends, advance } = streak();
    expect(s.failed("a", "first")).toBe(true);
    for (let i = 0; i < 9; i++) {
      advance(100);
      expect(s.failed("a", `again ${i}`)).toBe(false);
    }
    expect(s.active).toBe(true);
    advance(50);
    s.succeeded("a");
    expect(starts).toEqual(["first"]);
    expect(ends).toEqual([{ failures: 10, durationMs: 950, ended: "succeeded" }]);
    expect(s.active).toBe(false);
    s.succeeded("a");
    expect(ends).toHaveLength(1);
  });

  it("is not ended by a success of another key while a failing one still fails", () => {
    const { s, starts, ends } = streak();
    s.failed("ns-a/x", "a");
    s.failed("ns-b/y", "b");
    s.succeeded("ns-c/z");
    s.succeeded("ns-a/x");
    expect(ends).toEqual([]);
    s.failed("ns-b/y", "b again");
    expect(starts).toEqual(["a"]);
    s.succeeded("ns-b/y");
    expect(ends).toEqual([{ failures: 3, durationMs: 0, ended: "succeeded" }]);
  });

  it("opens a new streak after one ended", () => {
    const { s, starts, ends } = streak();
    s.failed("a", "one");
    s.succeeded("a");
    s.failed("a", "two");
    expect(starts).toEqual(["one", "two"]);
    expect(ends).toHaveLength(1);
  });

  it("closes a streak whose keys were never tried again once they have been quiet for quietMs", () => {
    const { s, starts, ends, advance } = streak(60_000);
    s.failed("deleted-upstream", "one");
    advance(59_999);
    s.succeeded("other");
    expect(ends).toEqual([]);
    advance(1);
    s.succeeded("other");
    expect(ends).toEqual([{ failures: 1, durationMs: 60_000, ended: "quiet" }]);
    s.failed("x", "two");
    expect(starts).toEqual(["one", "two"]);
  });

  it("does nothing on successes without a streak", () => {
    const { s, starts, ends } = streak();
    s.succeeded("a");
    expect([starts, ends, s.active]).toEqual([[], [], false]);
  });
});
