// The end-to-end scenarios written once and run on both backends: the sandbox (npm test) and a real kube-apiserver (npm run test:conformance).
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoordinationV1Api } from "@kubernetes/client-node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { isObject, type JsonObject } from "../../src/model/fields.js";
import { readOwnStatus } from "../../src/model/status.js";
import { generateFleet } from "../../src/sandbox/index.js";
import { eventually, startTestBroker, type HarnessBroker } from "./broker-harness.js";
import { startBrokerProcess } from "./broker-process.js";
import { brokerWrites, startCluster, type Backend, type TestCluster } from "./cluster.js";

const FLEET = 120;
const FAST = { "controller.globalRatePerSecond": 2000, "controller.concurrency": 16, "log.level": "info" };

function meta(o: JsonObject): { namespace: string; name: string; generation: number; resourceVersion: string } {
  return o.metadata as { namespace: string; name: string; generation: number; resourceVersion: string };
}

function details(o: JsonObject): { observedGeneration?: number } | undefined {
  const statuses = isObject(o.status) && isObject(o.status.statuses) ? o.status.statuses : undefined;
  const own = statuses?.credbroker;
  return isObject(own) && isObject(own.details) ? (own.details) : undefined;
}

/** True when every fleet upstream is Accepted and its entry names the generation now stored. */
async function fleetSettled(cluster: TestCluster): Promise<boolean> {
  const fleet = (await cluster.upstreams()).filter((u) => meta(u).namespace.startsWith("fleet-"));
  return fleet.length === FLEET && fleet.every((u) => readOwnStatus(u, "credbroker")?.state === "Accepted" && details(u)?.observedGeneration === meta(u).generation);
}

/** Polls an async probe (each probe awaited before the next) until it holds. */
export async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function drained(broker: HarnessBroker, atLeast: number): boolean {
  const p = broker.controller.progress();
  return broker.controller.ready() && p.ready === 0 && p.inFlight === 0 && p.reconciled >= atLeast;
}

function upstream(namespace: string, name: string, extra: { spec?: JsonObject; status?: JsonObject; annotations?: Record<string, string> } = {}): JsonObject {
  return {
    apiVersion: "gloo.solo.io/v1",
    kind: "Upstream",
    metadata: { namespace, name, ...(extra.annotations ? { annotations: extra.annotations } : {}) },
    spec: extra.spec ?? { aws: { region: "us-east-1", secretRef: { name: "aws-0", namespace: "fleet-0" } } },
    ...(extra.status ? { status: extra.status } : {}),
  };
}

/**
 * Sets the reverify annotation and waits for its answer: a forced verification writes a new
 * lastVerified at once. Resolves with the new value.
 */
export async function reverified(cluster: TestCluster, namespace: string, name: string, token: string, timeoutMs = 30_000): Promise<string> {
  const last = (u: JsonObject): string | undefined => readOwnStatus(u, "credbroker")?.details.lastVerified;
  const before = last(await cluster.upstream(namespace, name));
  await cluster.patchUpstream(namespace, name, { metadata: { annotations: { "credbroker.io/reverify": `${token}-${Date.now()}` } } });
  let now: string | undefined;
  await until(`a re-verification of ${namespace}/${name}`, async () => {
    now = last(await cluster.upstream(namespace, name));
    return now !== undefined && now !== before;
  }, timeoutMs);
  return now ?? "";
}

async function leaseHolder(cluster: TestCluster, name: string): Promise<string | undefined> {
  try {
    const lease = await cluster.admin.makeApiClient(CoordinationV1Api).readNamespacedLease({ namespace: "gloo-system", name });
    return lease.spec?.holderIdentity;
  } catch {
    return undefined;
  }
}

/** Registers the scenarios of this file against one backend. */
export function describeClusterScenarios(backend: Backend): void {
  describe(`credbroker on ${backend === "real" ? "a real kube-apiserver" : "the sandbox's Kubernetes emulator"}`, () => {
    let cluster: TestCluster;
    const brokers: HarnessBroker[] = [];
    const start = async (extra: Record<string, unknown> = {}): Promise<HarnessBroker> => {
      const broker = await startTestBroker(cluster.brokerConfig({ ...FAST, ...extra }));
      brokers.push(broker);
      return broker;
    };
    const stopAll = async (): Promise<void> => {
      await Promise.all(brokers.splice(0).map((b) => b.stop()));
    };

    beforeAll(async () => {
      cluster = await startCluster(backend);
      await cluster.seed(generateFleet({ upstreams: FLEET, credentials: 6, functionsPerRegion: 2, discovery: true }));
    });
    afterEach(stopAll);
    afterAll(async () => {
      await stopAll();
      await cluster?.close();
    });

    it("settles a fleet: four brokers in turn, the first writes, the next three write nothing, observedGeneration == generation", async () => {
      const first = await start({ "leader.identity": "first" });
      await until("the fleet accepted with observedGeneration == generation", () => fleetSettled(cluster));
      await eventually("the first broker drained", () => drained(first, FLEET), 30_000);
      await stopAll();
      expect(brokerWrites(cluster.audit()).length).toBeGreaterThanOrEqual(FLEET);

      for (const identity of ["second", "third", "fourth"]) {
        const before = cluster.audit().length;
        // A restart resumes from lastVerified: a short interval brings the whole fleet round within the test.
        const broker = await start({ "leader.identity": identity, "controller.verifyIntervalMs": "10s" });
        await eventually(`${identity} broker reconciled the fleet`, () => drained(broker, FLEET), 60_000);
        await stopAll();
        const writes = brokerWrites(cluster.audit().slice(before)).map((e) => `${e.verb} ${e.objectRef.resource} ${e.objectRef.namespace ?? ""}/${e.objectRef.name ?? ""}`);
        expect(writes, `writes by the ${identity} broker`).toEqual([]);
      }
      expect(await fleetSettled(cluster)).toBe(true);
    }, 240_000);

    it("keeps Gloo's entry byte-identical and hand-written functions, merges concurrent edits, and a foreign status write costs no write", async () => {
      const glooEntry = { state: 1, reason: "", reportedBy: "gloo", subresourceStatuses: {}, details: { translatedAt: "2026-11-30T10:00:00Z", nested: { b: 2, a: [3, 1] } } };
      const handEntry = { logicalName: "by-hand", lambdaFunctionName: "legacy", qualifier: "7" };
      await cluster.apply([
        upstream("fleet-1", "edited", {
          spec: { aws: { region: "us-east-1", secretRef: { name: "aws-1", namespace: "fleet-0" }, lambdaFunctions: [handEntry] } },
          status: { statuses: { "gloo-system": glooEntry } },
          annotations: { "discovery.solo.io/function_discovery": "enabled" },
        }),
      ]);
      // Byte-identical to what the API server stored (a real one re-encodes JSON with sorted keys).
      const glooStored = (u: JsonObject): string => JSON.stringify((u.status as { statuses: Record<string, unknown> }).statuses["gloo-system"]);
      const glooBefore = glooStored(await cluster.upstream("fleet-1", "edited"));
      const broker = await start();
      const published = (u: JsonObject): string[] => ((u.spec as { aws: { lambdaFunctions?: { logicalName: string }[] } }).aws.lambdaFunctions ?? []).map((f) => f.logicalName);
      await until("functions published beside the hand entry", async () => {
        const u = await cluster.upstream("fleet-1", "edited");
        return readOwnStatus(u, "credbroker")?.state === "Accepted" && published(u).length > 1;
      });
      let now = await cluster.upstream("fleet-1", "edited");
      expect(published(now)).toContain("by-hand");
      expect(glooStored(now)).toBe(glooBefore);
      expect(JSON.parse(glooBefore)).toEqual(glooEntry);

      // A person adds a second hand entry and a label while the broker runs: both survive, and the
      // status comes to describe the new spec.
      const entries = (now.spec as { aws: { lambdaFunctions: JsonObject[] } }).aws.lambdaFunctions;
      await cluster.patchUpstream("fleet-1", "edited", { metadata: { labels: { team: "orders" } }, spec: { aws: { lambdaFunctions: [...entries, { logicalName: "second-hand", lambdaFunctionName: "old", qualifier: "1" }] } } });
      await until("the status observes the edited spec", async () => {
        const u = await cluster.upstream("fleet-1", "edited");
        return details(u)?.observedGeneration === meta(u).generation && published(u).includes("second-hand");
      });
      now = await cluster.upstream("fleet-1", "edited");
      expect(published(now)).toEqual(expect.arrayContaining(["by-hand", "second-hand"]));
      expect((now.metadata as { labels: Record<string, string> }).labels).toEqual({ team: "orders" });
      await eventually("the broker drained", () => drained(broker, 1), 30_000);

      // Gloo's reporter writes its own entry again: the generation moves. A label change after it
      // makes the broker reconcile the upstream (a status change alone queues nothing), and that
      // pass, seeing a generation its entry does not name, must still write nothing.
      const before = cluster.audit().length;
      const bumped = await cluster.patchUpstream("fleet-1", "edited", { status: { statuses: { "gloo-system": { ...glooEntry, reason: "re-translated" } } } });
      expect(meta(bumped).generation).toBe(meta(now).generation + 1);
      const reconciled = broker.controller.progress().reconciled;
      await cluster.patchUpstream("fleet-1", "edited", { metadata: { labels: { team: "orders", pass: "after-gloo" } } });
      await eventually("the broker reconciled the upstream again", () => drained(broker, reconciled + 1), 30_000);
      const writes = brokerWrites(cluster.audit().slice(before)).map((e) => `${e.objectRef.namespace ?? ""}/${e.objectRef.name ?? ""}`);
      expect(writes.filter((w) => w === "fleet-1/edited")).toEqual([]);
      expect(JSON.stringify((await cluster.upstream("fleet-1", "edited")).spec)).toBe(JSON.stringify(now.spec));
    }, 120_000);

    it("a hung PATCH holds up neither the other upstreams nor shutdown, and never lands after the lease is released", async () => {
      const holdMs = 6000;
      await cluster.apply(["hung", "free-1", "free-2", "free-3"].map((name) => upstream("fleet-4", name)));
      const release = await cluster.hangWrites("fleet-4", "hung", holdMs);
      try {
        // One worker: if a hung write could hold it, nothing else would be reconciled.
        const broker = await start({ "kubernetes.requestTimeoutMs": "1s", "controller.concurrency": 1 });
        await until("the other upstreams accepted", async () => {
          const states = await Promise.all(["free-1", "free-2", "free-3"].map(async (n) => readOwnStatus(await cluster.upstream("fleet-4", n), "credbroker")?.state));
          return states.every((s) => s === "Accepted");
        });
        const stopped = broker.stop().then(() => "stopped" as const);
        const late = new Promise<"late">((resolve) => setTimeout(() => resolve("late"), holdMs + 4000).unref());
        expect(await Promise.race([stopped, late])).toBe("stopped");
        brokers.splice(brokers.indexOf(broker), 1);
        const afterStop = cluster.audit().length;
        // Outlast the hold: a write the broker gave up on must not land afterwards.
        await new Promise((resolve) => setTimeout(resolve, holdMs + 500));
        expect(readOwnStatus(await cluster.upstream("fleet-4", "hung"), "credbroker")).toBeUndefined();
        expect(brokerWrites(cluster.audit().slice(afterStop), { leases: true })).toEqual([]);
      } finally {
        await release();
      }
    }, 120_000);

    it("carries out on the leader a reverify sent over HTTP to the follower, which answers it when the leader's status names its request", async () => {
      const dir = await mkdtemp(join(tmpdir(), "credbroker-handoff-"));
      const token = "scenario-api-token-0b7c41d2";
      const tokenFile = join(dir, "tokens");
      await writeFile(tokenFile, `${token}\n`, { mode: 0o600 });
      try {
        const lease = { "leader.name": "reverify-handoff", "http.auth": "token-file", "http.tokenFile": tokenFile };
        const leader = await start({ ...lease, "leader.identity": "leader" });
        await eventually("the leader leads", () => leader.controller.isLeader(), 20_000);
        const follower = await start({ ...lease, "leader.identity": "follower" });
        // Earlier scenarios may have edited other fleet upstreams: only the one asked for must be settled.
        await until("fleet-4/u-4 verified", async () => readOwnStatus(await cluster.upstream("fleet-4", "u-4"), "credbroker")?.state === "Accepted");
        await eventually("both brokers idle", () => drained(leader, 0) && drained(follower, 0), 30_000);
        expect(follower.controller.isLeader()).toBe(false);
        const leaderRuns = leader.controller.progress().reconciled;
        const res = await fetch(`${follower.url}/v1/reverify`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify({ namespace: "fleet-4", name: "u-4", wait: true, timeoutSeconds: 30 }),
        });
        const body = (await res.json()) as { requestId: string; results: { namespace: string; name: string; state: string }[]; failed: unknown[] };
        expect(res.status).toBe(200);
        expect(body.failed).toEqual([]);
        expect(body.results).toEqual([expect.objectContaining({ namespace: "fleet-4", name: "u-4", state: "Accepted" })]);
        const stored = await cluster.upstream("fleet-4", "u-4");
        expect((stored.metadata as { annotations?: Record<string, string> }).annotations?.["credbroker.io/reverify"]).toBe(body.requestId);
        expect(readOwnStatus(stored, "credbroker")?.details.observedReverify).toBe(body.requestId);
        expect(leader.controller.progress().reconciled).toBeGreaterThan(leaderRuns);
        expect(follower.controller.progress().reconciled).toBe(0);
        for (const b of [leader, follower]) expect(b.logs.join("\n")).not.toContain(token);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }, 120_000);

    it("writes only from the leader, and hands over when the leader's process is killed with SIGKILL", async () => {
      const lease = { "leader.name": "handover", "leader.leaseDurationMs": "3s", "leader.renewDeadlineMs": "2s", "leader.retryPeriodMs": "250ms" };
      const a = await startBrokerProcess(cluster.brokerFlags({ ...FAST, ...lease, "leader.identity": "a", "log.level": "warn" }));
      try {
        await until("a holds the lease", async () => (await leaseHolder(cluster, "handover")) === "a", 60_000);
        const b = await start({ ...lease, "leader.identity": "b" });
        await eventually("b synced", () => b.controller.ready(), 20_000);
        const writesBy = async (broker: HarnessBroker): Promise<number> => (await broker.metrics.writes.get()).values.filter((v) => v.labels.result === "made").reduce((n, v) => n + v.value, 0);
        await reverified(cluster, "fleet-2", "u-2", "leader-1");
        expect(b.controller.isLeader()).toBe(false);
        expect(await writesBy(b)).toBe(0);

        // The leader's process dies: no drain, no release; b takes over once the lease expires.
        await a.kill();
        await eventually("b leads", () => b.controller.isLeader(), 15_000);
        expect(await leaseHolder(cluster, "handover")).toBe("b");
        await reverified(cluster, "fleet-3", "u-3", "after-handover");
        expect(await writesBy(b)).toBeGreaterThan(0);
      } finally {
        await a.kill();
      }
    }, 120_000);
  });
}
