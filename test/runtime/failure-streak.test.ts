// FailureStreak and NotAuthorizedStreak: one start and one end per streak, however many failures, keys and dependencies.
import { describe, expect, it } from "vitest";
import { FailureStreak, NotAuthorizedStreak, type StreakSummary } from "../../src/runtime/failure-streak.js";
import { Metrics } from "../../src/observability/metrics.js";
import { captureLog } from "../secrets/log-capture.js";

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

describe("NotAuthorizedStreak", () => {
  const counted = async (metrics: Metrics, dependency: string) =>
    Number(new RegExp(`credbroker_broker_not_authorized_streaks_total\\{dependency="${dependency}"\\} (\\d+)`).exec(await metrics.render())?.[1] ?? "0");

  it("logs one warning naming the call, subject and fix, one recovery line, and counts the streak once", async () => {
    const log = captureLog();
    const metrics = new Metrics();
    let now = 0;
    const refusals = new NotAuthorizedStreak({ dependency: "kubernetes", logger: log.logger, counter: metrics.notAuthorizedStreaks, now: () => now, fix: "restore the RBAC rule" });
    for (let i = 0; i < 7; i++) {
      refusals.refused({ operation: "get secret", subject: "team-a/creds", status: 403, why: "reading Kubernetes Secret team-a/creds: HTTP 403" });
      now += 1000;
    }
    refusals.authorized("team-a/creds");
    const parsed = log.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const warns = parsed.filter((l) => l["level"] === "warn");
    const infos = parsed.filter((l) => l["level"] === "info");
    expect(warns).toHaveLength(1);
    expect(warns[0]).toMatchObject({ dependency: "kubernetes", operation: "get secret", subject: "team-a/creds", status: 403, fix: "restore the RBAC rule" });
    expect(infos).toHaveLength(1);
    expect(infos[0]).toMatchObject({ dependency: "kubernetes", refusals: 7, notAuthorizedForMs: 7000, ended: "succeeded" });
    expect(String(infos[0]!["msg"])).toContain("authorizes the broker again");
    expect(await counted(metrics, "kubernetes")).toBe(1);
    expect(await counted(metrics, "vault")).toBe(0);

    refusals.refused({ operation: "get secret", subject: "team-a/creds", status: 401, why: "again" });
    expect(await counted(metrics, "kubernetes")).toBe(2);
  });

  it("keeps one streak per dependency: refusals of many subjects are one line", async () => {
    const log = captureLog();
    const metrics = new Metrics();
    const refusals = new NotAuthorizedStreak({ dependency: "vault", logger: log.logger, counter: metrics.notAuthorizedStreaks, now: () => 0, fix: "grant read" });
    for (let i = 0; i < 50; i++) refusals.refused({ operation: "read", subject: `secret/data/gloo/ns/s${i}`, status: 403, why: "permission denied" });
    expect(log.lines.filter((l) => l.includes('"level":"warn"'))).toHaveLength(1);
    expect(await counted(metrics, "vault")).toBe(1);
  });
});
