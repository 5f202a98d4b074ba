import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoreV1Api, CustomObjectsApi, KubeConfig, Watch } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { PooledKubeConfig } from "../../../src/runtime/kube/pooled-kube-config.js";
import { openGet, readJson } from "../../../src/runtime/kube/kube-request.js";
import { createKubeEmulator, type KubeEmulator } from "../../../src/sandbox/kube/index.js";

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

  it("builds one Agent for every request of a cluster and user, and one per request when a plugin may rotate the client certificate", async () => {
    const proto = KubeConfig.prototype as unknown as { createDispatcher: (...args: unknown[]) => unknown };
    const built = vi.spyOn(proto, "createDispatcher");
    try {
      const pooled = new PooledKubeConfig();
      expect(await connectionsFor(pooled, 25)).toBeLessThanOrEqual(2);
      expect(built).toHaveBeenCalledTimes(1);
      await pooled.closeConnections();

      built.mockClear();
      const plugin = new PooledKubeConfig();
      plugin.loadFromString(kube.kubeconfig({ token: kube.adminToken }));
      // An exec plugin that prints the same token: still per request, as client-node would do it.
      plugin.users = [{ name: plugin.getCurrentUser()!.name, exec: { apiVersion: "client.authentication.k8s.io/v1", command: process.execPath, args: ["-e", `console.log(JSON.stringify({ apiVersion: "client.authentication.k8s.io/v1", kind: "ExecCredential", status: { token: ${JSON.stringify(kube.adminToken)} } }))`] } }];
      const api = plugin.makeApiClient(CustomObjectsApi);
      for (let i = 0; i < 3; i++) await api.listNamespacedCustomObject({ group: "gloo.solo.io", version: "v1", plural: "upstreams", namespace: "default" });
      expect(built).toHaveBeenCalledTimes(3);
    } finally {
      built.mockRestore();
    }
  });

  it("sends its User-Agent on generated clients (with and without per-call options), client-node's Watch and raw requests", async () => {
    const pooled = new PooledKubeConfig({ userAgent: "credbroker/9.9.9" });
    pooled.loadFromString(kube.kubeconfig({ token: kube.adminToken }));
    const custom = pooled.makeApiClient(CustomObjectsApi);
    const core = pooled.makeApiClient(CoreV1Api);
    const from = kube.auditEvents().length;
    const list = { group: "gloo.solo.io", version: "v1", plural: "upstreams", namespace: "default" };
    // client-node reverses its static middleware in place on calls without options: several in a row.
    for (let i = 0; i < 3; i++) await custom.listNamespacedCustomObject(list);
    await custom.listNamespacedCustomObject(list, { middleware: [], middlewareMergeStrategy: "append" });
    await core.readNamespace({ name: "default" });
    // The server ends the watch after a second, so it completes (and is audited) like any request.
    await new Promise<void>((resolve) => void new Watch(pooled).watch("/api/v1/namespaces", { timeoutSeconds: 1 }, () => undefined, () => resolve()));
    const raw = await openGet(pooled, "/api/v1/namespaces/default", "application/json");
    await readJson(await raw.response, "get namespace");

    const seen = kube.auditEvents().slice(from);
    expect(seen.map((e) => e.verb)).toEqual(["list", "list", "list", "list", "get", "watch", "get"]);
    expect(new Set(seen.map((e) => e.userAgent))).toEqual(new Set(["credbroker/9.9.9"]));
    await pooled.closeConnections();
  });
});
