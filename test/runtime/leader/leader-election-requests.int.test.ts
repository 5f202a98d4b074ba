// The Lease requests of leader election against the emulator: who writes (fieldManager, User-Agent), the server's timeout, and a hung renewal cut off at the renew deadline.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createLeaderElector, type LeaderElector, type LeaderElectorOptions } from "../../../src/runtime/leader/leader-election.js";
import { PooledKubeConfig } from "../../../src/runtime/kube/pooled-kube-config.js";
import { createSystemClock } from "../../../src/runtime/clock.js";
import { createKubeEmulator, type KubeEmulator } from "../../../src/sandbox/kube/index.js";
import { waitFor } from "../../controller/helpers.js";

/** A Go duration as the `timeout` query parameter carries it, in milliseconds. */
function durationMs(text: string | null): number {
  const m = /^(\d+)(ms|s)$/.exec(text ?? "");
  if (m === null) throw new Error(`not a duration: ${String(text)}`);
  return Number(m[1]) * (m[2] === "s" ? 1000 : 1);
}

describe("leader election requests", () => {
  let kube: KubeEmulator;
  const running: Array<{ elector: LeaderElector; kc: PooledKubeConfig }> = [];

  beforeAll(async () => {
    kube = await createKubeEmulator();
    kube.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: "gloo-system" } });
  });
  afterEach(async () => {
    kube.faults.reset();
    for (const { elector, kc } of running.splice(0)) {
      await elector.stop();
      await kc.closeConnections();
    }
  });
  afterAll(async () => {
    await kube?.close();
  });

  function elector(name: string, overrides: Partial<LeaderElectorOptions> = {}): LeaderElector {
    const kc = new PooledKubeConfig({ userAgent: "credbroker/test" });
    kc.loadFromString(kube.kubeconfig({ token: kube.adminToken }));
    const elector = createLeaderElector({
      kubeConfig: kc,
      namespace: "gloo-system",
      name,
      identity: `${name}-replica`,
      leaseDurationMs: 3000,
      renewDeadlineMs: 1000,
      retryPeriodMs: 200,
      clock: createSystemClock(),
      random: Math.random,
      ...overrides,
    });
    running.push({ elector, kc });
    elector.start();
    return elector;
  }

  it("writes the Lease as fieldManager credbroker, with a server timeout within the renew deadline and the broker's User-Agent", async () => {
    const from = kube.auditEvents().length;
    const e = elector("named");
    await waitFor("leading", () => e.isLeader());
    await waitFor("a renewal", () => kube.auditEvents().slice(from).some((a) => a.verb === "update" && a.objectRef.name === "named"));

    // A create names no object (as on a real server): the path says which lease.
    const leaseCalls = kube.auditEvents().slice(from).filter((a) => a.objectRef.resource === "leases" && a.objectRef.namespace === "gloo-system");
    expect(new Set(leaseCalls.map((a) => a.verb))).toEqual(new Set(["get", "create", "update"]));
    for (const call of leaseCalls) {
      expect(call.userAgent).toBe("credbroker/test");
      const query = new URL(call.requestURI, "https://api").searchParams;
      if (call.verb === "get") continue;
      expect(query.get("fieldManager")).toBe("credbroker");
      expect(durationMs(query.get("timeout"))).toBeGreaterThan(0);
      expect(durationMs(query.get("timeout"))).toBeLessThanOrEqual(1000);
    }
  });

  it("cuts a hung renewal off at the renew deadline however long the request timeout, and leads again once the server answers", async () => {
    // Without the renew-deadline cap, the hung update would hold the elector for 20 s.
    const e = elector("hung", { requestTimeoutMs: 20_000 });
    await waitFor("leading", () => e.isLeader());
    kube.faults.set({ latencyMs: 30_000, operations: ["update leases"] });
    await waitFor("the leader to step down at its renew deadline", () => !e.isLeader(), 5000);
    kube.faults.reset();
    await waitFor("leading again", () => e.isLeader(), 5000);
  });
});
