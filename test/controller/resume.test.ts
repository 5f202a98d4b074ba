// Startup and takeover with in-memory ports: a verified upstream is resumed from its lastVerified, and what changed while another replica led still runs at once.
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { Controller, type ControllerSettings } from "../../src/controller/controller.js";
import type { JsonObject } from "../../src/model/fields.js";
import { readOwnStatus } from "../../src/model/status.js";
import type { FunctionListField } from "../../src/model/upstream.js";
import { Metrics } from "../../src/observability/metrics.js";
import { FakeClock } from "../../src/runtime/clock.js";
import type { WatchedObject } from "../../src/runtime/kube/watch-loop.js";
import { scriptedProvider, scriptedRegistry, scriptedSecrets, type Calls, type Script } from "../support/in-memory-ports.js";
import { InMemoryUpstreams } from "../support/in-memory-upstreams.js";
import { seeded } from "../support/seeded-random.js";
import { handDriven, playInitialList, watchOn } from "./hand-driven.js";

const FIELD: FunctionListField = { type: "aws", list: "lambdaFunctions", key: "name", fields: ["name"] };
const IDENTITY = { provider: "aws" as const, account: "123456789012", arn: "arn:aws:iam::123456789012:user/gw" };
const VALID: Script = { verify: { status: "valid", identity: IDENTITY }, discover: { status: "listed", functions: [], warnings: [] } };
const INTERVAL_MS = 300_000;

const SETTINGS: ControllerSettings = {
  statusKey: "credbroker",
  heartbeatMs: 600_000,
  maxFunctions: 500,
  discoveryMode: "whitelist",
  secretRefPolicy: "any",
  namespaces: [],
  concurrency: 2,
  ratePerSecond: 50,
  verifyIntervalMs: INTERVAL_MS,
  backoffMinMs: 1000,
  backoffMaxMs: 60_000,
  watchStallMs: 600_000,
  reconcileTimeoutMs: 30_000,
  leader: { enabled: true, namespace: "gloo-system", name: "credbroker", identity: "replica", leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2000, shards: 1 },
  requestTimeoutMs: 10_000,
};

function upstream(namespace: string, name: string): JsonObject {
  return { apiVersion: "gloo.solo.io/v1", kind: "Upstream", metadata: { namespace, name }, spec: { aws: { region: "us-east-1", secretRef: { name: "keys" } } } };
}

/** One replica over the shared in-memory API server and fake clock; `verified` lists the keys its verifications were for, in order. */
function replica(api: InMemoryUpstreams, clock: FakeClock) {
  const calls: Calls = { resolves: 0, verifies: [], discovers: 0 };
  const verified: string[] = [];
  const base = scriptedProvider(VALID, calls, ["aws"], FIELD);
  const hand = handDriven();
  const { watches } = hand;
  const controller = new Controller({
    kubeConfig: undefined as never,
    api,
    secrets: scriptedSecrets(VALID, calls),
    providers: scriptedRegistry({
      ...base,
      verify: (u, c, policy) => {
        verified.push(`${u.meta.namespace}/${u.meta.name}`);
        return base.verify(u, c, policy);
      },
    }),
    settings: SETTINGS,
    logger: pino({ level: "silent" }),
    metrics: new Metrics(),
    clock,
    random: seeded(11),
    ...hand.deps,
  });
  const watch = (resource: "upstreams" | "secrets" | "namespaces") => watchOn(watches, resource);
  const pass = async (ms = 0) => {
    for (let i = 0; i < 10; i++) await clock.advanceAsync(0);
    await clock.advanceAsync(ms);
    for (let i = 0; i < 10; i++) await clock.advanceAsync(0);
  };
  return {
    controller,
    calls,
    verified,
    watch,
    pass,
    /** Starts and plays the initial list of what `api` stores under `keys`. */
    start(keys: readonly string[]) {
      controller.start();
      playInitialList(watches, api, keys);
    },
    acquire: () => hand.elector().acquire(0),
    async stop() {
      const stopped = controller.stop({ drainTimeoutMs: 0, release: false });
      await clock.advanceAsync(10);
      await stopped;
    },
  };
}

const KEYS = ["team/orders", "other/billing"];

/** A fleet that replica `a` verified once; returns the store, the clock and when it was verified. */
async function verifiedFleet() {
  const clock = new FakeClock(Date.parse("2026-12-01T00:00:00.000Z"));
  const api = new InMemoryUpstreams();
  for (const key of KEYS) api.put(upstream(...(key.split("/") as [string, string])));
  const a = replica(api, clock);
  a.acquire();
  a.start(KEYS);
  await a.pass();
  expect([...a.verified].sort()).toEqual([...KEYS].sort());
  const lastVerifiedMs = Date.parse(readOwnStatus(api.stored("team", "orders"), "credbroker")!.details.lastVerified!);
  return { clock, api, a, lastVerifiedMs };
}

describe("Controller resume on startup and takeover", () => {
  const stops: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
  });

  it("resumes a verified upstream one interval after its lastVerified instead of re-verifying it at once", async () => {
    const { clock, api, a, lastVerifiedMs } = await verifiedFleet();
    await a.stop();
    await clock.advanceAsync(100_000);
    const b = replica(api, clock);
    stops.push(() => b.stop());
    b.start(KEYS);
    b.acquire();
    await b.pass(lastVerifiedMs + INTERVAL_MS - clock.now() - 1);
    expect(b.verified).toEqual([]);
    await b.pass(INTERVAL_MS * 0.1 + 1000);
    expect([...b.verified].sort()).toEqual([...KEYS].sort());
    expect(b.calls.verifies.every((p) => !p.fresh)).toBe(true);
  });

  it("leaves the upstreams of a shard it does not lead to the shard's leader, and resumes them once it takes the shard", async () => {
    const { clock, api, a } = await verifiedFleet();
    const b = replica(api, clock);
    stops.push(() => b.stop(), () => a.stop());
    b.start(KEYS);
    await b.pass(2 * INTERVAL_MS);
    expect(b.verified).toEqual([]);
    expect(b.controller.progress().inFlight + b.controller.progress().ready).toBe(0);
    b.acquire();
    await b.pass(0);
    expect(b.verified).toEqual([]);
  });

  it("re-verifies at once on takeover an upstream whose Secret changed while another replica led", async () => {
    const { clock, api, a } = await verifiedFleet();
    const b = replica(api, clock);
    stops.push(() => b.stop());
    b.start(KEYS);
    await b.pass(10_000);
    // Only b's Secret watch sees it: a follower resolves nothing, so no rotation names the upstream.
    b.watch("secrets").options.onEvent("modified", { metadata: { namespace: "team", name: "keys", resourceVersion: "7" } });
    await a.stop();
    b.acquire();
    await b.pass(0);
    expect(b.verified).toEqual(["team/orders"]);
  });

  it("re-verifies at once on takeover the upstreams of a namespace whose labels changed while another replica led", async () => {
    const { clock, api, a } = await verifiedFleet();
    const b = replica(api, clock);
    stops.push(() => b.stop());
    const ns = (name: string, labels: Record<string, string>) => ({ metadata: { name, labels, resourceVersion: "1" } }) as unknown as WatchedObject;
    b.start(KEYS);
    b.watch("namespaces").options.onEvent("added", ns("team", {}));
    b.watch("namespaces").options.onEvent("modified", ns("team", { "discovery.solo.io/function_discovery": "enabled" }));
    await b.pass(10_000);
    await a.stop();
    b.acquire();
    await b.pass(0);
    expect(b.verified).toEqual(["team/orders"]);
  });

  it("runs at once, forced, a reverify asked while nobody led, and first an upstream created or edited meanwhile", async () => {
    const { clock, api, a } = await verifiedFleet();
    await a.stop();
    api.edit("team", "orders", (o) => ((o.metadata as JsonObject).annotations = { "credbroker.io/reverify": "asked-1" }));
    api.edit("other", "billing", (o) => ((o.spec as JsonObject).aws = { region: "eu-west-1", secretRef: { name: "keys" } }));
    api.put(upstream("team", "payments"));
    const b = replica(api, clock);
    stops.push(() => b.stop());
    // It wins the lease before it lists: each upstream is judged as the list delivers it (upstreamKnown).
    b.acquire();
    b.start([...KEYS, "team/payments"]);
    await b.pass(0);
    expect([...b.verified].sort()).toEqual(["other/billing", "team/orders", "team/payments"]);
    expect(b.calls.verifies[b.verified.indexOf("team/orders")]).toEqual({ fresh: true });
  });

  it("never queues an upstream of another type that carries nothing of credbroker's, at startup or on takeover", async () => {
    const clock = new FakeClock(Date.parse("2026-12-01T00:00:00.000Z"));
    const api = new InMemoryUpstreams();
    api.put({ apiVersion: "gloo.solo.io/v1", kind: "Upstream", metadata: { namespace: "team", name: "svc" }, spec: { kube: { serviceName: "svc", serviceNamespace: "team", servicePort: 80 } } });
    // Left over from when it was an AWS upstream: withdrawn, so it must run.
    api.put({ apiVersion: "gloo.solo.io/v1", kind: "Upstream", metadata: { namespace: "team", name: "was-aws" }, spec: { static: { hosts: [{ addr: "10.0.0.1", port: 80 }] } }, status: { statuses: { credbroker: { state: "Accepted", reason: "", reportedBy: "credbroker", details: {} } } } });
    const b = replica(api, clock);
    stops.push(() => b.stop());
    b.acquire();
    b.start(["team/svc", "team/was-aws"]);
    await b.pass(0);
    expect(b.controller.progress().reconciled).toBe(1);
    expect(readOwnStatus(api.stored("team", "was-aws"), "credbroker")).toBeUndefined();
    b.watch("upstreams").options.onEvent("modified", api.stored("team", "was-aws") as WatchedObject);
    // The shard lost and taken again: neither is queued now.
    b.acquire();
    await b.pass(2 * INTERVAL_MS);
    expect(b.controller.progress().reconciled).toBe(1);
  });
});
