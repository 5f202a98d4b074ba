// The global rate limit paces passes that call the clouds: a pass answered wholly from shared results gives its start token back, so a cold start costs what its distinct credentials cost.
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { createProviderRegistry, type UpstreamProvider } from "../../src/cloud/registry.js";
import { controllerSettings } from "../../src/commands/compose.js";
import { configSchema } from "../../src/config/schema.js";
import { Controller } from "../../src/controller/controller.js";
import type { JsonObject } from "../../src/model/fields.js";
import { Metrics } from "../../src/observability/metrics.js";
import { FakeClock } from "../../src/runtime/clock.js";
import { LAMBDA_FIELD, scriptedProvider, scriptedSecrets, THROTTLED, VALID_AWS, type Calls } from "../support/in-memory-ports.js";
import { InMemoryUpstreams } from "../support/in-memory-upstreams.js";
import { seeded } from "../support/seeded-random.js";
import { handDriven, playInitialList } from "./hand-driven.js";

const UPSTREAMS = 200;
/** Upstreams per credential: the first pass of each calls the cloud, the others read its answer. */
const PER_CREDENTIAL = 20;
const RATE = 5;
const VERIFY_MS = 25;

type Reporting = "shares" | "silent";

function upstream(i: number): JsonObject {
  return { apiVersion: "gloo.solo.io/v1", kind: "Upstream", metadata: { namespace: "team", name: `fn-${i}` }, spec: { aws: { region: "us-east-1", secretRef: { name: "keys" } } } };
}

/**
 * A broker over `UPSTREAMS` never-verified upstreams at `RATE` starts a second. `shares`: the
 * provider says an answer was shared for every pass but a credential's first, as SharedProvider
 * does; `silent`: it says nothing. `failing` upstreams' answers are shared but transient.
 */
async function coldStart(reporting: Reporting, failing: ReadonlySet<number> = new Set()) {
  const clock = new FakeClock(Date.parse("2026-12-01T00:00:00.000Z"));
  const api = new InMemoryUpstreams();
  const calls: Calls = { resolves: 0, verifies: [], discovers: 0 };
  const firstVerified = new Map<string, number>();
  const starts: Array<{ at: number; i: number }> = [];
  const computed = new Set<number>();
  const provider: UpstreamProvider = {
    ...scriptedProvider(VALID_AWS, calls, ["aws"], LAMBDA_FIELD),
    verify: async (u, _credentials, policy) => {
      const i = Number(u.meta.name.slice("fn-".length));
      starts.push({ at: clock.now(), i });
      await new Promise<void>((resolve) => clock.setTimeout(resolve, VERIFY_MS));
      const credential = Math.floor(i / PER_CREDENTIAL);
      if (reporting === "shares") policy.onAnswer?.(computed.has(credential));
      computed.add(credential);
      if (failing.has(i)) return THROTTLED;
      if (!firstVerified.has(u.meta.name)) firstVerified.set(u.meta.name, clock.now());
      return VALID_AWS.verify;
    },
  };
  const hand = handDriven();
  const { watches } = hand;
  const controller = new Controller({
    kubeConfig: undefined as never,
    api,
    secrets: scriptedSecrets(VALID_AWS, calls),
    providers: createProviderRegistry([provider], ["aws"]),
    settings: { ...controllerSettings(configSchema.parse({})), ratePerSecond: RATE },
    logger: pino({ level: "silent" }),
    metrics: new Metrics(),
    clock,
    random: seeded(7),
    ...hand.deps,
  });
  const keys = Array.from({ length: UPSTREAMS }, (_, i) => `team/fn-${i}`);
  for (let i = 0; i < UPSTREAMS; i++) api.put(upstream(i));
  const startedAt = clock.now();
  hand.elector().acquire(0);
  controller.start();
  playInitialList(watches, api, keys);
  await clock.advanceAsync(60_000);
  const stopped = controller.stop({ drainTimeoutMs: 0, release: false });
  await clock.advanceAsync(VERIFY_MS * 4);
  await stopped;
  const sinceStart = (t: number) => t - startedAt;
  return { firstVerified, starts: starts.map((s) => ({ at: sinceStart(s.at), i: s.i })), lastVerifiedMs: Math.max(...[...firstVerified.values()].map(sinceStart)) };
}

describe("the global rate limit and shared answers", () => {
  it("verifies a fleet of shared credentials at the pace of its distinct credentials, not one token per upstream", async () => {
    const shared = await coldStart("shares");
    expect(shared.firstVerified.size).toBe(UPSTREAMS);
    // 10 credentials cost 10 tokens: a burst of 5, then one every 200 ms; the 190 shared passes
    // are bounded by the default concurrency (16) alone (200 × 25 ms ÷ 16 ≈ 0.3 s).
    expect(shared.lastVerifiedMs).toBeLessThan(3_000);
  });

  it("keeps one token per pass for a provider that does not say its answers were shared", async () => {
    const silent = await coldStart("silent");
    expect(silent.firstVerified.size).toBe(UPSTREAMS);
    // 200 passes at 5 a second, after a burst of 5.
    expect(silent.lastVerifiedMs).toBeGreaterThanOrEqual(((UPSTREAMS - RATE) / RATE) * 1000 - 1);
  });

  it("keeps retries under the limit even when their answer was shared", async () => {
    const failing = new Set(Array.from({ length: 40 }, (_, i) => 100 + i));
    const run = await coldStart("shares", failing);
    // Each failing upstream retries with backoff; every retry spends a token, so no second of the run
    // starts more of them than the rate plus its burst, though each retry's answer was shared.
    const seen = new Set<number>();
    const retries = run.starts.filter((s) => failing.has(s.i) && (seen.has(s.i) || (seen.add(s.i), false)));
    const perSecond = new Map<number, number>();
    for (const { at } of retries) perSecond.set(Math.floor(at / 1000), (perSecond.get(Math.floor(at / 1000)) ?? 0) + 1);
    expect(retries.length).toBeGreaterThan(2 * failing.size);
    expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(2 * RATE);
    // And the upstreams that do not fail are all verified meanwhile.
    expect(run.firstVerified.size).toBe(UPSTREAMS - failing.size);
  });
});
