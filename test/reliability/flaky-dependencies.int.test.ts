import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readOwnStatus } from "../../src/model/status.js";
import { generateFleet, startSandbox, type Sandbox } from "../../src/sandbox/index.js";
import { UPSTREAMS } from "../../src/sandbox/kube/index.js";
import { eventually, sandboxConfig, startTestBroker, type HarnessBroker } from "../support/broker-harness.js";

describe("a fleet under flaky dependencies", () => {
  let sandbox: Sandbox;
  let broker: HarnessBroker;
  /** Each fleet upstream's state, and whether its 30 functions are published. */
  const fleetStates = () => {
    const states: string[] = [];
    for (const u of sandbox.kube.list(UPSTREAMS)) {
      if (!(u.metadata as { namespace: string }).namespace.startsWith("fleet-")) continue;
      const published = ((u.spec as { aws: { lambdaFunctions?: unknown[] } }).aws.lambdaFunctions ?? []).length === 30;
      states.push(`${readOwnStatus(u, "credbroker")?.state ?? "none"}${published ? "" : " without functions"}`);
    }
    return states;
  };

  beforeAll(async () => {
    sandbox = await startSandbox();
    sandbox.seed(generateFleet({ upstreams: 200, credentials: 5, functionsPerRegion: 30, discovery: true }));
  });
  afterAll(async () => {
    await broker?.stop();
    await sandbox?.close();
  });

  it("ends with every upstream Accepted and never publishes a Rejected caused by a passing fault", async () => {
    // STS and Lambda fail or throttle a third of the time, the API server drops 10% of patches,
    // and Vault answers 500 a fifth of the time (the fleet's secrets are in Kubernetes; the sample's are not).
    sandbox.aws.faults.set({ errorRate: 0.2, throttleRate: 0.15 });
    sandbox.kube.faults.set({ errorRate: 0.1, operations: ["patch upstreams"] });
    sandbox.vault.faults.set({ errorRate: 0.2 });
    const rejectedSeen = new Set<string>();
    const watcher = setInterval(() => {
      for (const u of sandbox.kube.list(UPSTREAMS)) {
        const m = u.metadata as { namespace: string; name: string };
        if (m.namespace.startsWith("fleet-") && readOwnStatus(u, "credbroker")?.state === "Rejected") rejectedSeen.add(`${m.namespace}/${m.name}`);
      }
    }, 50);
    try {
      broker = await startTestBroker(sandboxConfig(sandbox, { "controller.globalRatePerSecond": 2000, "controller.concurrency": 16, "log.level": "warn" }));
      await eventually("all 200 accepted with their functions", () => {
        const states = fleetStates();
        return states.length === 200 && states.every((s) => s === "Accepted");
      }, 120_000);
    } finally {
      clearInterval(watcher);
      sandbox.aws.faults.reset();
      sandbox.kube.faults.reset();
      sandbox.vault.faults.reset();
    }
    expect([...rejectedSeen]).toEqual([]);
    // Faults really happened: AWS answered errors or throttles, the API server refused patches.
    const failedAws = Object.values(sandbox.aws.counters.snapshot()).reduce((n, outcomes) => n + (outcomes.error ?? 0) + (outcomes.throttled ?? 0), 0);
    expect(failedAws).toBeGreaterThan(0);
    expect(sandbox.kube.counters.get("patch upstreams", "error")).toBeGreaterThan(0);
  }, 180_000);
});
