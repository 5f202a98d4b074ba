// Shard spreading on the sandbox's Kubernetes emulator (the same scenarios run on a real kube-apiserver in test/conformance/), and what a replica does when it may not count the others.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSystemClock } from "../../../src/runtime/clock.js";
import { PooledKubeConfig } from "../../../src/runtime/kube/pooled-kube-config.js";
import { createShardedElector, type ShardedElector } from "../../../src/runtime/leader/shards.js";
import { createKubeEmulator, type KubeEmulator } from "../../../src/sandbox/kube/index.js";
import { waitFor } from "../../controller/helpers.js";
import { describeShardSpreadScenarios } from "../../support/shard-spread-scenarios.js";

describeShardSpreadScenarios("sandbox");

describe("shard spreading without the list verb", () => {
  let kube: KubeEmulator;
  let token: string;

  beforeAll(async () => {
    kube = await createKubeEmulator();
    kube.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: "gloo-system" } });
    // The Role of releases before sharding spread: no list, no delete.
    kube.loadRbac([
      { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: { name: "old-leases", namespace: "gloo-system" }, rules: [{ apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "create", "update"] }] },
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name: "old-leases", namespace: "gloo-system" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "old-leases" },
        subjects: [{ kind: "ServiceAccount", name: "credbroker", namespace: "gloo-system" }],
      },
    ]);
    token = kube.issueServiceAccountToken("gloo-system", "credbroker");
  });
  afterAll(async () => {
    await kube?.close();
  });

  it("still leads every shard, as before, when it may not list the member leases", async () => {
    const running: Array<{ elector: ShardedElector; kc: PooledKubeConfig }> = [];
    const make = (identity: string): ShardedElector => {
      const kc = new PooledKubeConfig();
      kc.loadFromString(kube.kubeconfig({ token }));
      const elector = createShardedElector({
        kubeConfig: kc,
        namespace: "gloo-system",
        name: "old-role",
        identity,
        shards: 4,
        leaseDurationMs: 15_000,
        renewDeadlineMs: 10_000,
        retryPeriodMs: 200,
        clock: createSystemClock(),
        random: Math.random,
      });
      running.push({ elector, kc });
      elector.start();
      return elector;
    };
    try {
      const a = make("replica-a");
      const b = make("replica-b");
      await waitFor("every shard led", () => a.ownedShards().length + b.ownedShards().length === 4, 10_000);
      for (let shard = 0; shard < 4; shard++) expect(Number(a.isLeader(shard)) + Number(b.isLeader(shard))).toBe(1);
    } finally {
      for (const { elector, kc } of running) {
        await elector.release();
        await kc.closeConnections();
      }
    }
  });
});
