import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { readOwnStatus } from "../../src/model/status.js";
import { generateFleet, startSandbox, type Sandbox } from "../../src/sandbox/index.js";
import { UPSTREAMS } from "../../src/sandbox/kube/index.js";
import { eventually, eventuallyAsync, sandboxConfig, startTestBroker, type HarnessBroker } from "../support/broker-harness.js";

async function counter(broker: HarnessBroker, name: "writes" | "reconciles", labels: Record<string, string>): Promise<number> {
  const metric = await broker.metrics[name].get();
  return metric.values.filter((v) => Object.entries(labels).every(([k, want]) => (v.labels as Record<string, unknown>)[k] === want)).reduce((sum, v) => sum + v.value, 0);
}

function fleetStates(sandbox: Sandbox): Map<string, string | undefined> {
  const out = new Map<string, string | undefined>();
  for (const u of sandbox.kube.list(UPSTREAMS)) {
    const m = u.metadata as { namespace: string; name: string };
    if (m.namespace.startsWith("fleet-")) out.set(`${m.namespace}/${m.name}`, readOwnStatus(u, "credbroker")?.state);
  }
  return out;
}

function resourceVersions(sandbox: Sandbox): Map<string, string> {
  const out = new Map<string, string>();
  for (const u of sandbox.kube.list(UPSTREAMS)) {
    const m = u.metadata as { namespace: string; name: string; resourceVersion: string };
    if (m.namespace.startsWith("fleet-")) out.set(`${m.namespace}/${m.name}`, m.resourceVersion);
  }
  return out;
}

const FAST = { "controller.globalRatePerSecond": 5000, "controller.concurrency": 32 };

describe("a fleet of 1,000 upstreams", () => {
  let sandbox: Sandbox;
  const brokers: HarnessBroker[] = [];
  beforeAll(async () => {
    sandbox = await startSandbox();
    sandbox.seed(generateFleet({ upstreams: 1000, credentials: 10, functionsPerRegion: 0 }));
  });
  afterEach(async () => {
    await Promise.all(brokers.splice(0).map((b) => b.stop()));
  });
  afterAll(async () => {
    await sandbox?.close();
  });

  it("is verified with one STS call per credential and region, and a resync of the unchanged fleet writes nothing", async () => {
    const fleetSts = () => ["us-east-1", "eu-west-1"].reduce((n, region) => n + sandbox.aws.counters.callsFor("sts:GetCallerIdentity", "210987654321", region), 0);
    const first = await startTestBroker(sandboxConfig(sandbox, { ...FAST, "leader.identity": "first" }));
    brokers.push(first);
    await eventually("all 1,000 accepted", () => [...fleetStates(sandbox).values()].every((s) => s === "Accepted") && fleetStates(sandbox).size === 1000, 120_000);
    // 10 credentials x 2 regions: one call each, however many upstreams share them.
    expect(fleetSts()).toBe(20);
    await first.stop();
    brokers.splice(0);

    const patchesBefore = sandbox.kube.counters.get("patch upstreams");
    const second = await startTestBroker(sandboxConfig(sandbox, { ...FAST, "leader.identity": "second", "controller.verifyIntervalMs": "10s" }));
    brokers.push(second);
    await eventually("1,000 reconciles by the second broker", () => second.controller.keys().length >= 1000 && settled(second), 120_000);
    const reconciled = await counter(second, "reconciles", {});
    expect(reconciled).toBeGreaterThanOrEqual(1000);
    expect(await counter(second, "writes", { result: "made" })).toBe(0);
    expect(sandbox.kube.counters.get("patch upstreams")).toBe(patchesBefore);
  }, 240_000);
});

/** True once the broker's queue has nothing due and nothing running. */
function settled(broker: HarnessBroker): boolean {
  const view = broker.controller.progress();
  return view.ready === 0 && view.inFlight === 0 && view.reconciled >= 1000;
}

describe("two replicas", () => {
  let sandbox: Sandbox;
  let a: HarnessBroker;
  let b: HarnessBroker;
  beforeAll(async () => {
    sandbox = await startSandbox();
    sandbox.seed(generateFleet({ upstreams: 200, credentials: 5, functionsPerRegion: 0 }));
  });
  afterAll(async () => {
    await Promise.allSettled([a?.stop(), b?.stop()]);
    await sandbox?.close();
  });

  it("write through one leader only; a killed leader is replaced within the lease and nothing is written twice", async () => {
    a = await startTestBroker(sandboxConfig(sandbox, { ...FAST, "leader.identity": "replica-a" }));
    await eventually("replica-a leads", () => a.controller.isLeader(), 10_000);
    b = await startTestBroker(sandboxConfig(sandbox, { ...FAST, "leader.identity": "replica-b" }));
    await eventually("the fleet accepted", () => fleetStates(sandbox).size === 200 && [...fleetStates(sandbox).values()].every((s) => s === "Accepted"), 60_000);
    await eventually("replica-b synced", () => b.controller.ready(), 10_000);

    expect(b.controller.isLeader()).toBe(false);
    expect(await counter(a, "writes", { result: "made" })).toBeGreaterThanOrEqual(200);
    expect(await counter(b, "writes", { result: "made" })).toBe(0);
    expect(b.controller.progress().reconciled).toBe(0);

    // Kill the leader: no release, the lease must expire.
    await a.stop({ release: false });
    const versionsBefore = resourceVersions(sandbox);
    const killedAt = Date.now();
    // While nobody leads, credential aws-3 (used by 40 of the 200) goes bad.
    const secret = structuredClone(sandbox.kube.get({ group: "", version: "v1", resource: "secrets" }, "fleet-0", "aws-3")!);
    (secret.data as Record<string, string>).aws_secret_access_key = Buffer.from("rotated/but/wrong/0000000000000000000000").toString("base64");
    sandbox.kube.apply(secret);

    await eventually("replica-b leads", () => b.controller.isLeader(), 10_000);
    const handoverMs = Date.now() - killedAt;
    expect(handoverMs).toBeLessThan(3000 + 2000); // lease duration + retry period and scheduling slack
    const users = [...fleetStates(sandbox).keys()].filter((k) => Number(k.split("/u-")[1]) % 5 === 3);
    await eventually("the 40 upstreams of aws-3 rejected", () => users.every((k) => fleetStates(sandbox).get(k) === "Rejected"), 60_000);
    await eventually("replica-b settled", () => b.controller.progress().ready === 0 && b.controller.progress().inFlight === 0 && b.controller.progress().reconciled >= 40, 60_000);
    // The takeover resumes the 160 unchanged upstreams from their lastVerified: only aws-3's 40 run at once.
    expect(b.controller.progress().reconciled).toBeLessThan(200);
    expect(users).toHaveLength(40);
    // The new leader rewrote nothing a had written: only the 40 upstreams of aws-3 changed. On a
    // loaded machine a transient fault may add a "keeping the last verdict" status write on the way
    // (hence at least 40), and a lapse of leadership may cost an Event (best effort, never written
    // by a stale leader), but no transition is ever announced twice.
    const versionsAfter = resourceVersions(sandbox);
    const changed = [...versionsAfter.keys()].filter((k) => versionsAfter.get(k) !== versionsBefore.get(k));
    expect(changed.sort()).toEqual([...users].sort());
    expect(await counter(b, "writes", { kind: "event", result: "made" })).toBeLessThanOrEqual(40);
    await eventuallyAsync("40 status writes by replica-b", async () => (await counter(b, "writes", { kind: "status", result: "made" })) >= 40);
    expect([...fleetStates(sandbox).values()].filter((s) => s === "Accepted")).toHaveLength(160);
  }, 180_000);
});
