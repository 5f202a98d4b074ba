// A simulated fleet of 20,000 upstreams on a fake clock with the default settings: refreshed at the configured interval, and resumed from lastVerified after a takeover.
import { pino } from "pino";
import { beforeAll, describe, expect, it } from "vitest";
import type { UpstreamProvider } from "../../src/cloud/registry.js";
import { controllerSettings } from "../../src/commands/compose.js";
import { configSchema } from "../../src/config/schema.js";
import { Controller, type ControllerSettings } from "../../src/controller/controller.js";
import type { JsonObject } from "../../src/model/fields.js";
import { readOwnStatus } from "../../src/model/status.js";
import { Metrics } from "../../src/observability/metrics.js";
import { FakeClock } from "../../src/runtime/clock.js";
import { LAMBDA_FIELD, scriptedProvider, scriptedSecrets, THROTTLED, VALID_AWS, type Calls } from "../support/in-memory-ports.js";
import { InMemoryUpstreams } from "../support/in-memory-upstreams.js";
import { createProviderRegistry } from "../../src/cloud/registry.js";
import { busiestWindow, mean } from "../support/schedule-stats.js";
import { seeded } from "../support/seeded-random.js";
import { handDriven, playInitialList } from "./hand-driven.js";

const FLEET = 20_000;
const NAMESPACES = 50;
/** Fake time one verification takes: the cloud's answer. */
const VERIFY_MS = 25;
/** Keys whose verification keeps failing transiently: their retries go through the global limit. */
const FAILING = 200;


/** The defaults a plain `credbroker run` gets (controller.globalRatePerSecond 100, verifyIntervalMs 300 s, concurrency 16, leader election on, one shard). */
const SETTINGS: ControllerSettings = controllerSettings(configSchema.parse({}));
const INTERVAL_MS = SETTINGS.verifyIntervalMs;

function upstream(i: number): JsonObject {
  const namespace = `team-${i % NAMESPACES}`;
  return { apiVersion: "gloo.solo.io/v1", kind: "Upstream", metadata: { namespace, name: `fn-${i}` }, spec: { aws: { region: "us-east-1", secretRef: { name: "keys" } } } };
}

function keyOf(i: number): string {
  return `team-${i % NAMESPACES}/fn-${i}`;
}

/** One broker replica over the shared in-memory API server: its verifications by key, on the shared fake clock. */
function replica(api: InMemoryUpstreams, clock: FakeClock, failing: ReadonlySet<string>, seed: number) {
  const verifies = new Map<string, number[]>();
  const calls: Calls = { resolves: 0, verifies: [], discovers: 0 };
  const hand = handDriven();
  const { watches } = hand;
  const provider: UpstreamProvider = {
    ...scriptedProvider(VALID_AWS, calls, ["aws"], LAMBDA_FIELD),
    verify: async (u) => {
      const key = `${u.meta.namespace}/${u.meta.name}`;
      const list = verifies.get(key) ?? [];
      list.push(clock.now());
      verifies.set(key, list);
      await new Promise<void>((resolve) => clock.setTimeout(resolve, VERIFY_MS));
      return failing.has(key) ? THROTTLED : VALID_AWS.verify;
    },
  };
  const controller = new Controller({
    kubeConfig: undefined as never,
    api,
    secrets: scriptedSecrets(VALID_AWS, calls),
    providers: createProviderRegistry([provider], ["aws"]),
    settings: SETTINGS,
    logger: pino({ level: "silent" }),
    metrics: new Metrics(),
    clock,
    random: seeded(seed),
    ...hand.deps,
  });
  return {
    controller,
    verifies,
    /** Starts the replica and plays the initial list of every stored upstream, as the watches would. */
    start(keys: readonly string[]) {
      controller.start();
      playInitialList(watches, api, keys);
    },
    acquire: (shard: number) => hand.elector().acquire(shard),
    async stop() {
      const stopped = controller.stop({ drainTimeoutMs: 0, release: false });
      await clock.advanceAsync(VERIFY_MS * 4);
      await stopped;
    },
  };
}

/** Lets `ms` of fake time pass, sampling the broker's due-but-not-started work every `sampleMs`. */
async function run(clock: FakeClock, ms: number, sampleMs: number, sample: () => void): Promise<void> {
  for (let t = 0; t < ms; t += sampleMs) {
    await clock.advanceAsync(Math.min(sampleMs, ms - t));
    sample();
  }
}

function gapsOf(times: readonly number[]): number[] {
  return times.slice(1).map((t, i) => t - times[i]!);
}

describe(`a fleet of ${FLEET} upstreams with the default settings`, () => {
  const clock = new FakeClock(Date.parse("2026-12-01T00:00:00.000Z"));
  const api = new InMemoryUpstreams();
  const keys = Array.from({ length: FLEET }, (_, i) => keyOf(i));
  const failing = new Set(keys.filter((_, i) => i % (FLEET / FAILING) === 7));
  const steady = keys.filter((k) => !failing.has(k));
  const first = replica(api, clock, failing, 1);
  const coldStartAt = clock.now();
  let coldStartMs = 0;
  const backlog: number[] = [];

  beforeAll(async () => {
    expect(SETTINGS.ratePerSecond).toBe(100);
    expect(INTERVAL_MS).toBe(300_000);
    for (let i = 0; i < FLEET; i++) api.put(upstream(i));
    first.acquire(0);
    first.start(keys);
    // Cold start: 20,000 never-verified upstreams at the global limit of 100 a second.
    await run(clock, 420_000, 10_000, () => undefined);
    coldStartMs = Math.max(...keys.map((k) => first.verifies.get(k)![0]!)) - coldStartAt;
    // Three intervals of routine re-verification, the backlog of due work sampled every 10 s.
    await run(clock, 3 * INTERVAL_MS, 10_000, () => backlog.push(first.controller.progress().ready));
  }, 300_000);

  it("verifies the never-verified fleet first at the global limit", () => {
    const coldStarts = keys.map((k) => first.verifies.get(k)![0]!);
    // 100 a second, plus the first second's burst: the limit still guards new work.
    expect(busiestWindow(coldStarts, 1000)).toBeLessThanOrEqual(2 * SETTINGS.ratePerSecond);
    expect(coldStartMs).toBeGreaterThanOrEqual((FLEET / SETTINGS.ratePerSecond - 2) * 1000);
    expect(coldStartMs).toBeLessThanOrEqual((FLEET / SETTINGS.ratePerSecond + 10) * 1000);
  });

  it("re-verifies every upstream at the configured interval (within 5%), with no backlog of due work", () => {
    const gaps = steady.flatMap((k) => gapsOf(first.verifies.get(k)!));
    expect(gaps.length).toBeGreaterThanOrEqual(steady.length * 3);
    expect(Math.abs(mean(gaps) - INTERVAL_MS) / INTERVAL_MS).toBeLessThan(0.05);
    // Each upstream's own gaps: the jittered interval (±10%), never a wait for the global limit on top.
    for (const k of steady) {
      const own = gapsOf(first.verifies.get(k)!);
      expect(Math.abs(mean(own) - INTERVAL_MS) / INTERVAL_MS).toBeLessThan(0.1);
      expect(Math.max(...own)).toBeLessThan(INTERVAL_MS * 1.1 + 2000);
    }
    // Before, with every start under the global limit, about 5,000 keys were always due.
    expect(Math.max(...backlog)).toBeLessThan(100);
  });

  it("keeps retrying the failing upstreams under the global limit, never in a storm", () => {
    const retries = [...failing].flatMap((k) => first.verifies.get(k)!.slice(1));
    for (const k of failing) expect(first.verifies.get(k)!.length).toBeGreaterThan(3);
    // Backoff 1 s → 5 min per key; together never past the global limit.
    expect(busiestWindow(retries, 1000)).toBeLessThanOrEqual(2 * SETTINGS.ratePerSecond);
    expect(retries.length).toBeLessThan(FAILING * 30);
  });

  it("resumes each upstream from its stored lastVerified after a takeover: none early, the overdue ones spread over one interval", async () => {
    await first.stop();
    // The new leader takes the lease once the old one expires; meanwhile one spec changes and one upstream is created.
    await clock.advanceAsync(SETTINGS.leader.leaseDurationMs);
    const changed = steady[123]!;
    const [changedNs, changedName] = changed.split("/") as [string, string];
    api.edit(changedNs, changedName, (o) => ((o.spec as JsonObject).aws = { region: "eu-west-1", secretRef: { name: "keys" } }));
    api.put(upstream(FLEET));
    const created = keyOf(FLEET);
    const all = [...keys, created];

    const takeoverAt = clock.now();
    const dueAt = new Map<string, number>();
    for (const k of steady) {
      if (k === changed) continue;
      const [namespace, name] = k.split("/") as [string, string];
      const lastVerified = readOwnStatus(api.stored(namespace, name), SETTINGS.statusKey)?.details.lastVerified;
      dueAt.set(k, Date.parse(lastVerified!) + INTERVAL_MS);
    }

    const second = replica(api, clock, failing, 2);
    second.start(all);
    second.acquire(0);
    await run(clock, INTERVAL_MS + 60_000, 10_000, () => undefined);
    await second.stop();

    const firstRun = (k: string) => second.verifies.get(k)?.[0] ?? Infinity;
    // Never verified, or changed since its verdict: first.
    expect(firstRun(created) - takeoverAt).toBeLessThan(1000);
    expect(firstRun(changed) - takeoverAt).toBeLessThan(1000);

    const overdue = [...dueAt].filter(([, due]) => due <= takeoverAt).map(([k]) => k);
    const notDue = [...dueAt].filter(([, due]) => due > takeoverAt);
    // The heartbeat (10 min) is longer than the interval, so a stored lastVerified may be one pass old: some are overdue, and a good share (about a fifth here) not.
    expect(overdue.length).toBeGreaterThan(0);
    expect(notDue.length).toBeGreaterThan(FLEET / 10);
    for (const [k, due] of notDue) expect(firstRun(k)).toBeGreaterThanOrEqual(due);
    const overdueRuns = overdue.map(firstRun);
    for (const at of overdueRuns) {
      expect(at).toBeGreaterThanOrEqual(takeoverAt);
      expect(at).toBeLessThanOrEqual(takeoverAt + INTERVAL_MS + 2000);
    }
    // Spread, not a burst: no 10 s holds much more than its share of the keys overdue by more than the
    // jitter (those overdue by less run at their jittered time, just after the takeover).
    const longOverdue = overdue.filter((k) => dueAt.get(k)! + INTERVAL_MS * 0.1 <= takeoverAt);
    expect(longOverdue.length).toBeGreaterThan(FLEET / 4);
    expect(busiestWindow(longOverdue.map(firstRun), 10_000)).toBeLessThanOrEqual((1.3 * longOverdue.length * 10_000) / INTERVAL_MS);
    // And the whole takeover costs what an ordinary interval does: about one run per upstream.
    const steadyRuns = steady.flatMap((k) => (second.verifies.get(k) ?? []).filter((at) => at < takeoverAt + INTERVAL_MS));
    expect(steadyRuns.length).toBeLessThan(steady.length * 1.2);
    expect(busiestWindow(steadyRuns, 10_000)).toBeLessThanOrEqual((2 * FLEET * 10_000) / INTERVAL_MS);
  }, 300_000);

  it("spreads a fleet that is all overdue (the broker was down for an hour) over one interval", async () => {
    await clock.advanceAsync(3_600_000);
    const third = replica(api, clock, failing, 3);
    const restartAt = clock.now();
    third.start(keys);
    third.acquire(0);
    await run(clock, INTERVAL_MS + 10_000, 10_000, () => undefined);
    await third.stop();
    const firstRuns = steady.map((k) => third.verifies.get(k)?.[0] ?? Infinity);
    for (const at of firstRuns) expect(at - restartAt).toBeLessThanOrEqual(INTERVAL_MS + 2000);
    // At the global limit it would take 400 s; at once it would be 20,000 in the first seconds.
    expect(busiestWindow(firstRuns, 10_000)).toBeLessThanOrEqual((2 * steady.length * 10_000) / INTERVAL_MS);
  }, 300_000);
});
