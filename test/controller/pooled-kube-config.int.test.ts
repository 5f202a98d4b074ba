import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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

  it("pools with in-cluster style token-file auth too (the token is a header, not part of the TLS agent)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "credbroker-pool-"));
    const tokenFile = join(dir, "token");
    writeFileSync(tokenFile, kube.adminToken);
    const pooled = new PooledKubeConfig();
    pooled.loadFromString(kube.kubeconfig({ token: kube.adminToken }));
    pooled.users = [{ name: pooled.getCurrentUser()!.name, authProvider: { name: "tokenFile", config: { tokenFile } } }];
    const api = pooled.makeApiClient(CustomObjectsApi);
    const before = kube.connectionsAccepted;
    for (let i = 0; i < 20; i++) await api.listNamespacedCustomObject({ group: "gloo.solo.io", version: "v1", plural: "upstreams", namespace: "default" });
    expect(kube.connectionsAccepted - before).toBeLessThanOrEqual(2);
    await pooled.closeConnections();
  });

  it("reuses keep-alive connections where the stock KubeConfig opens one per request", async () => {
    const pooled = new PooledKubeConfig();
    expect(await connectionsFor(pooled, 30)).toBeLessThanOrEqual(2);
    await pooled.closeConnections();
    expect(await connectionsFor(new KubeConfig(), 30)).toBeGreaterThanOrEqual(30);
  });
});
