// The resume arithmetic: one interval after the last run (jitter only later), overdue keys spread over one interval, a stable fraction per key.
import { describe, expect, it } from "vitest";
import { keyFraction, resumeDelayMs } from "../../../src/runtime/pacing/resume.js";

const INTERVAL_MS = 300_000;
const NOW = 1_700_000_000_000;

describe("resumeDelayMs", () => {
  it("schedules one interval after the last run, the jitter only adding to it", () => {
    const lastMs = NOW - 100_000;
    expect(resumeDelayMs({ lastMs, nowMs: NOW, intervalMs: INTERVAL_MS, jitter: 0.1, fraction: 0 })).toBe(200_000);
    expect(resumeDelayMs({ lastMs, nowMs: NOW, intervalMs: INTERVAL_MS, jitter: 0.1, fraction: 0.5 })).toBe(215_000);
    expect(resumeDelayMs({ lastMs, nowMs: NOW, intervalMs: INTERVAL_MS, jitter: 0.1, fraction: 0.999 })).toBeLessThan(230_000);
  });

  it("spreads an overdue key over one interval from now by its fraction", () => {
    const lastMs = NOW - 3_600_000;
    expect(resumeDelayMs({ lastMs, nowMs: NOW, intervalMs: INTERVAL_MS, jitter: 0.1, fraction: 0 })).toBe(0);
    expect(resumeDelayMs({ lastMs, nowMs: NOW, intervalMs: INTERVAL_MS, jitter: 0.1, fraction: 0.25 })).toBe(75_000);
    expect(resumeDelayMs({ lastMs, nowMs: NOW, intervalMs: INTERVAL_MS, jitter: 0.1, fraction: 0.999 })).toBeLessThan(INTERVAL_MS);
  });

  it("treats a last run in the future as now, so a skewed time cannot silence a key", () => {
    const delay = resumeDelayMs({ lastMs: NOW + 86_400_000, nowMs: NOW, intervalMs: INTERVAL_MS, jitter: 0.1, fraction: 0.5 });
    expect(delay).toBe(315_000);
  });
});

describe("keyFraction", () => {
  it("gives each key the same fraction every time, in [0, 1)", () => {
    expect(keyFraction("team/orders")).toBe(keyFraction("team/orders"));
    expect(keyFraction("team/orders")).not.toBe(keyFraction("team/billing"));
    for (let i = 0; i < 1000; i++) {
      const f = keyFraction(`ns-${i % 50}/upstream-${i}`);
      expect(f).toBeGreaterThanOrEqual(0);
      expect(f).toBeLessThan(1);
    }
  });

  it("spreads a fleet's keys evenly: each tenth of the range holds close to a tenth of them", () => {
    const tenths = new Array<number>(10).fill(0);
    for (let i = 0; i < 20_000; i++) tenths[Math.floor(keyFraction(`ns-${i % 50}/upstream-${i}`) * 10)]!++;
    for (const n of tenths) expect(Math.abs(n - 2000)).toBeLessThan(200);
  });
});
