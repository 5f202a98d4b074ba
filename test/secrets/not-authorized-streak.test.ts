// NotAuthorizedStreak: one warning and one recovery line per dependency and streak, however many refusals and subjects.
import { describe, expect, it } from "vitest";
import { Metrics } from "../../src/observability/metrics.js";
import { NotAuthorizedStreak } from "../../src/secrets/not-authorized-streak.js";
import { captureLog } from "./log-capture.js";

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
