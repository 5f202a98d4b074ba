// A real kube-apiserver killed with SIGKILL and restarted over an etcd whose revision moved on and was compacted: the broker survives, relists and keeps working.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readOwnStatus } from "../../src/model/status.js";
import { generateFleet } from "../../src/sandbox/index.js";
import { eventually, startTestBroker, type HarnessBroker } from "../support/broker-harness.js";
import { startRealCluster, type TestCluster } from "../support/cluster.js";
import { reverified, until } from "../support/cluster-scenarios.js";

const FLEET = 30;

describe("a real kube-apiserver restarted under the broker", () => {
  let cluster: TestCluster;
  let broker: HarnessBroker | undefined;
  const crashes: unknown[] = [];
  const record = (err: unknown): void => void crashes.push(err);

  beforeAll(async () => {
    process.on("uncaughtException", record);
    process.on("unhandledRejection", record);
    cluster = await startRealCluster();
    await cluster.seed(generateFleet({ upstreams: FLEET, credentials: 3, functionsPerRegion: 0 }));
  });
  afterAll(async () => {
    await broker?.stop();
    await cluster?.close();
    process.off("uncaughtException", record);
    process.off("unhandledRejection", record);
  });

  it("survives kill -9 of the API server and a compacted etcd: relists, leads again, and a reverify made after the restart lands", async () => {
    broker = await startTestBroker(cluster.brokerConfig({ "controller.globalRatePerSecond": 1000, "log.level": "debug" }));
    const accepted = async (): Promise<boolean> => {
      const fleet = (await cluster.upstreams()).filter((u) => (u.metadata as { namespace: string }).namespace.startsWith("fleet-"));
      return fleet.length === FLEET && fleet.every((u) => readOwnStatus(u, "credbroker")?.state === "Accepted");
    };
    await until("the fleet accepted", accepted);
    const controlPlane = cluster.controlPlane!;

    await controlPlane.killApiServer();
    // While it is down: etcd's revision moves far on and is compacted, so every resourceVersion the
    // broker holds is too old for the new server (410 Gone on resume).
    await controlPlane.etcdPutNoise(500);
    await controlPlane.etcdCompact();
    await controlPlane.startApiServer();

    await eventually("the broker relisted after 410", () => broker!.logs.some((l) => l.includes("resourceVersion expired; relisting")), 60_000);
    await eventually("the broker leads", () => broker!.controller.isLeader(), 60_000);
    await reverified(cluster, "fleet-1", "u-1", "after-restart", 60_000);
    expect(await accepted()).toBe(true);
    expect(crashes).toEqual([]);
  }, 180_000);
});
