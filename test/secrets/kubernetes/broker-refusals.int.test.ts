// A Kubernetes-secret upstream through the whole broker while the API server refuses the broker's own Secret reads (its RBAC rule removed: 403; its token not accepted: 401): the verdict stands, one log line per streak, recovery by itself.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JsonObject } from "../../../src/model/fields.js";
import { startSandbox, type Sandbox } from "../../../src/sandbox/index.js";
import { eventually, sandboxConfig, startTestBroker, type HarnessBroker } from "../../support/broker-harness.js";
import { upstreamProbe } from "../../support/upstream-probe.js";

const NS = "team-orders";
const NAME = "orders-legacy";
const CLUSTER_ROLES = { group: "rbac.authorization.k8s.io", version: "v1", resource: "clusterroles" };

describe("a Kubernetes-secret upstream while the broker's Secret reads are refused", () => {
  let sandbox: Sandbox;
  let broker: HarnessBroker;
  let role: JsonObject;
  const probe = upstreamProbe(() => sandbox, NS, NAME);
  const { entry, reverify } = probe;
  const secretResolved = () => probe.condition("SecretResolved");
  /** Every state and SecretResolved status seen over `ms`. */
  const sample = (ms: number) => probe.sample(ms, "SecretResolved");
  const streaks = async () => Number(/credbroker_broker_not_authorized_streaks_total\{dependency="kubernetes"\} (\d+)/.exec(await broker.metrics.render())?.[1] ?? "0");
  const starts = (lines: string[]) => lines.filter((l) => l.includes("Kubernetes refuses the broker's own identity"));
  const ends = (lines: string[]) => lines.filter((l) => l.includes("Kubernetes authorizes the broker again"));

  beforeAll(async () => {
    sandbox = await startSandbox();
    broker = await startTestBroker(sandboxConfig(sandbox, { "log.level": "info" }));
    await eventually("the Kubernetes-secret upstream Accepted", () => entry()?.state === "Accepted");
    role = structuredClone(sandbox.kube.get(CLUSTER_ROLES, "", "credbroker")!);
  });
  afterAll(async () => {
    await broker?.stop();
    await sandbox?.close();
  });

  it("stays Accepted with SecretResolved Unknown BrokerNotAuthorized while its RBAC rule for reading Secrets is removed (a real 403)", async () => {
    const logsBefore = broker.logs.length;
    const streaks0 = await streaks();
    const rules = (role["rules"] as JsonObject[]).map((r) => ((r["resources"] as string[]).includes("secrets") ? { ...r, verbs: ["list", "watch"] } : r));
    sandbox.kube.apply({ ...role, rules });
    try {
      reverify("rbac-removed-1");
      await eventually("SecretResolved Unknown", () => secretResolved()?.status === "Unknown");
      expect(secretResolved()?.reason).toBe("BrokerNotAuthorized");
      expect(secretResolved()?.message).toContain("RBAC");
      // Retries (backoff 100 ms to 2 s) keep meeting the 403: never the cached copy, never Rejected.
      expect(await sample(4000)).toEqual(["Accepted/Unknown/BrokerNotAuthorized"]);
    } finally {
      sandbox.kube.apply(role);
    }
    await eventually("SecretResolved True again", () => secretResolved()?.status === "True", 10_000);
    expect(entry()?.state).toBe("Accepted");
    const lines = broker.logs.slice(logsBefore);
    expect(starts(lines)).toHaveLength(1);
    expect(JSON.parse(starts(lines)[0]!)).toMatchObject({ level: "warn", dependency: "kubernetes", operation: "get secret", subject: `${NS}/aws-legacy`, status: 403 });
    expect(ends(lines)).toHaveLength(1);
    const end = JSON.parse(ends(lines)[0]!) as { refusals: number; notAuthorizedForMs: number };
    expect(end.refusals).toBeGreaterThan(1);
    expect((await streaks()) - streaks0).toBe(1);
  }, 30_000);

  it("stays Accepted with SecretResolved Unknown BrokerNotAuthorized while the API server answers its Secret reads 401", async () => {
    const logsBefore = broker.logs.length;
    const streaks0 = await streaks();
    sandbox.kube.faults.set({ denyRate: 1, denyStatus: 401, operations: ["get secrets"] });
    try {
      reverify("unauthenticated-1");
      await eventually("SecretResolved Unknown", () => secretResolved()?.status === "Unknown");
      expect(secretResolved()?.reason).toBe("BrokerNotAuthorized");
      expect(await sample(3000)).toEqual(["Accepted/Unknown/BrokerNotAuthorized"]);
    } finally {
      sandbox.kube.faults.reset();
    }
    await eventually("SecretResolved True again", () => secretResolved()?.status === "True", 10_000);
    const lines = broker.logs.slice(logsBefore);
    expect(starts(lines)).toHaveLength(1);
    expect(JSON.parse(starts(lines)[0]!)).toMatchObject({ status: 401 });
    expect(ends(lines)).toHaveLength(1);
    expect((await streaks()) - streaks0).toBe(1);
  }, 30_000);
});
