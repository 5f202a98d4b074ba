// Shard spreading written once for both backends: three replicas as the broker's service account settle at their fair share of six shard leases, and a dead replica's shards move to the survivors.
import { CoordinationV1Api } from "@kubernetes/client-node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createSystemClock } from "../../src/runtime/clock.js";
import { PooledKubeConfig } from "../../src/runtime/kube/pooled-kube-config.js";
import { LeaseApi, microTime } from "../../src/runtime/leader/lease-api.js";
import { MEMBER_LABEL, memberGroupLabel, memberLeaseName } from "../../src/runtime/leader/membership.js";
import { createShardedElector, shardLeaseName, type ShardedElector, type ShardedElectorOptions } from "../../src/runtime/leader/shards.js";
import { startCluster, type Backend, type TestCluster } from "./cluster.js";
import { until } from "./cluster-scenarios.js";

const NAMESPACE = "gloo-system";
const SHARDS = 6;
/** Short times, so expiry and handover happen within a test; the renew deadline leaves a stalled event loop 1.5 s. */
const TIMES = { leaseDurationMs: 2000, renewDeadlineMs: 1500, retryPeriodMs: 200 };
/** Generous on a loaded 2-core machine: a dead replica's shards should move within one lease duration and a few retry periods. */
const MOVE_MS = TIMES.leaseDurationMs + 20 * TIMES.retryPeriodMs + 4000;

interface Replica {
  identity: string;
  elector: ShardedElector;
  kc: PooledKubeConfig;
  stopped: boolean;
}

export function describeShardSpreadScenarios(backend: Backend): void {
  describe(`shard spreading on ${backend === "real" ? "a real kube-apiserver" : "the sandbox's Kubernetes emulator"}`, () => {
    let cluster: TestCluster;
    let kubeconfigPath: string;
    const replicas: Replica[] = [];

    beforeAll(async () => {
      cluster = await startCluster(backend);
      const path = cluster.brokerConfig().kubernetes.kubeconfig;
      if (path === undefined) throw new Error("the cluster gives the broker no kubeconfig");
      kubeconfigPath = path;
    });
    afterEach(async () => {
      await Promise.all(replicas.splice(0).map(async (r) => {
        await r.elector.stop();
        await r.kc.closeConnections();
      }));
    });
    afterAll(async () => {
      await cluster?.close();
    });

    /** A replica as the broker's service account, so deploy/kustomize/base/rbac.yaml is what lets it work. */
    function replica(group: string, identity: string, extra: Partial<ShardedElectorOptions> = {}): Replica {
      const kc = new PooledKubeConfig({ userAgent: "credbroker/test" });
      kc.loadFromFile(kubeconfigPath);
      const elector = createShardedElector({
        kubeConfig: kc,
        namespace: NAMESPACE,
        name: group,
        identity,
        shards: SHARDS,
        ...TIMES,
        clock: createSystemClock(),
        random: Math.random,
        ...extra,
      });
      const r = { identity, elector, kc, stopped: false };
      replicas.push(r);
      elector.start();
      return r;
    }

    const counts = (rs: readonly Replica[]): number[] => rs.map((r) => r.elector.ownedShards().length);

    /** Every shard led by exactly one of `rs`, as they see it and as the shard leases say. */
    async function eachShardOnce(group: string, rs: readonly Replica[]): Promise<boolean> {
      const owners = Array.from({ length: SHARDS }, (_, i) => rs.filter((r) => r.elector.isLeader(i)));
      if (!owners.every((o) => o.length === 1)) return false;
      const holders = await leaseHolders(group);
      return owners.every((o, i) => holders[i] === o[0]?.identity);
    }

    async function leaseHolders(group: string): Promise<Array<string | undefined>> {
      const api = cluster.admin.makeApiClient(CoordinationV1Api);
      const list = await api.listNamespacedLease({ namespace: NAMESPACE });
      const byName = new Map(list.items.map((l) => [l.metadata?.name ?? "", l.spec?.holderIdentity]));
      return Array.from({ length: SHARDS }, (_, i) => byName.get(shardLeaseName(group, i, SHARDS)));
    }

    async function transitions(group: string): Promise<number[]> {
      const api = cluster.admin.makeApiClient(CoordinationV1Api);
      const list = await api.listNamespacedLease({ namespace: NAMESPACE });
      const byName = new Map(list.items.map((l) => [l.metadata?.name ?? "", l.spec?.leaseTransitions ?? 0]));
      return Array.from({ length: SHARDS }, (_, i) => byName.get(shardLeaseName(group, i, SHARDS)) ?? -1);
    }

    async function settledAt(group: string, rs: readonly Replica[], each: number, timeoutMs = 20_000): Promise<void> {
      await until(`${rs.length} replicas at ${each} shards each`, async () => counts(rs).every((n) => n === each) && (await eachShardOnce(group, rs)), timeoutMs);
    }

    /** Nothing moves for a while once settled: no lease changes hands and every replica keeps its shards. */
    async function staysPut(group: string, rs: readonly Replica[]): Promise<void> {
      const before = await transitions(group);
      const owned = rs.map((r) => r.elector.ownedShards());
      await new Promise((resolve) => setTimeout(resolve, 10 * TIMES.retryPeriodMs));
      expect(await transitions(group)).toEqual(before);
      expect(rs.map((r) => r.elector.ownedShards())).toEqual(owned);
    }

    it("lets the broker's service account list and delete leases in its namespace (deploy/kustomize/base/rbac.yaml), as counting replicas needs", async () => {
      const kc = new PooledKubeConfig();
      kc.loadFromFile(kubeconfigPath);
      const api = new LeaseApi({ kubeConfig: kc, namespace: NAMESPACE, clock: createSystemClock(), requestTimeoutMs: 10_000, fieldManager: "credbroker" });
      try {
        await expect(api.list(`${MEMBER_LABEL}=${memberGroupLabel("spread-rbac")}`)).resolves.toEqual([]);
        // 404, not 403: the verb is granted.
        await expect(api.delete(memberLeaseName("spread-rbac", "nobody"))).resolves.toBe(false);
      } finally {
        await kc.closeConnections();
      }
    });

    it("takes every shard when it is the only replica", async () => {
      const only = replica("spread-alone", "only");
      await settledAt("spread-alone", [only], SHARDS);
    });

    it("settles at two shards each when three replicas start one after another, the first having taken all six", async () => {
      const a = replica("spread-seq", "replica-a");
      await settledAt("spread-seq", [a], SHARDS);
      const b = replica("spread-seq", "replica-b");
      await settledAt("spread-seq", [a, b], 3);
      const c = replica("spread-seq", "replica-c");
      await settledAt("spread-seq", [a, b, c], 2);
      // The first replica gave up its highest-numbered shards each time.
      expect(a.elector.ownedShards()).toEqual([0, 1]);
      await staysPut("spread-seq", [a, b, c]);
    });

    it("settles at two shards each when three replicas start at once", async () => {
      const rs = ["replica-a", "replica-b", "replica-c"].map((id) => replica("spread-together", id));
      await settledAt("spread-together", rs, 2);
      await staysPut("spread-together", rs);
    });

    it("moves a dead replica's shards to the two survivors, three each, within the lease duration and a few retries", async () => {
      const rs = ["replica-a", "replica-b", "replica-c"].map((id) => replica("spread-dead", id));
      await settledAt("spread-dead", rs, 2);
      const [a, b, dead] = rs as [Replica, Replica, Replica];
      // A crash, as far as the others can tell: nothing released, its leases expire.
      await dead.elector.stop();
      await settledAt("spread-dead", [a, b], 3, MOVE_MS);
      await staysPut("spread-dead", [a, b]);
    });

    it("hands a released replica's shards to the others without waiting for expiry", async () => {
      const rs = ["replica-a", "replica-b", "replica-c"].map((id) => replica("spread-release", id, { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, handoverDelayMs: 500 }));
      await settledAt("spread-release", rs, 2);
      const [a, b, leaving] = rs as [Replica, Replica, Replica];
      await leaving.elector.release();
      // Far sooner than the 15 s lease: the member lease is gone and the shard leases are free.
      await settledAt("spread-release", [a, b], 3, 8000);
      expect((await memberLeases("spread-release")).sort()).toEqual([memberLeaseName("spread-release", "replica-a"), memberLeaseName("spread-release", "replica-b")].sort());
    });

    it("does not count a member lease nobody renews, and deletes it once it has been stale for long", async () => {
      const ghost = memberLeaseName("spread-ghost", "ghost");
      // Typed, with a V1MicroTime: client-node would send a plain timestamp with three fractional digits, which the API server rejects.
      await cluster.admin.makeApiClient(CoordinationV1Api).createNamespacedLease({
        namespace: NAMESPACE,
        body: {
          metadata: { namespace: NAMESPACE, name: ghost, labels: { [MEMBER_LABEL]: memberGroupLabel("spread-ghost") } },
          spec: { holderIdentity: "ghost", leaseDurationSeconds: 2, renewTime: microTime(Date.now()) },
        },
      });
      const rs = ["replica-a", "replica-b"].map((id) => replica("spread-ghost", id, { forgetMembersAfterMs: 4000 }));
      // While the ghost counts, each takes ceil(6 / 3) = 2; once it has expired, 3 each.
      await settledAt("spread-ghost", rs, 3, MOVE_MS + 4000);
      await until("the ghost's member lease deleted", async () => !(await memberLeases("spread-ghost")).includes(ghost), 15_000);
    });

    async function memberLeases(group: string): Promise<string[]> {
      const api = cluster.admin.makeApiClient(CoordinationV1Api);
      const list = await api.listNamespacedLease({ namespace: NAMESPACE, labelSelector: `${MEMBER_LABEL}=${memberGroupLabel(group)}` });
      return list.items.map((l) => l.metadata?.name ?? "");
    }
  });
}
