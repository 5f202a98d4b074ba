import { CustomObjectsApi, KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PooledKubeConfig } from "../../src/controller/pooled-kube-config.js";
import { createKubeEmulator, type KubeEmulator } from "../../src/sandbox/kube/index.js";

describe("PooledKubeConfig", () => {
  let kube: KubeEmulator;
  beforeAll(async () => {
    kube = await createKubeEmulator();
  });
  afterAll(async () => {
    await kube?.close();
  });

  async function connectionsFor(kc: KubeConfig, requests: number): Promise<number> {
    kc.loadFromString(kube.kubeconfig({ token: kube.adminToken }));
    const api = kc.makeApiClient(CustomObjectsApi);
    const before = kube.connectionsAccepted;
    for (let i = 0; i < requests; i++) await api.listNamespacedCustomObject({ group: "gloo.solo.io", version: "v1", plural: "upstreams", namespace: "default" });
    return kube.connectionsAccepted - before;
  }

  it("reuses keep-alive connections where the stock KubeConfig opens one per request", async () => {
    const pooled = new PooledKubeConfig();
    expect(await connectionsFor(pooled, 30)).toBeLessThanOrEqual(2);
    await pooled.closeConnections();
    expect(await connectionsFor(new KubeConfig(), 30)).toBeGreaterThanOrEqual(30);
  });
});
