// The Kubernetes calls on Upstreams against the emulator: deadlines on hung requests, fieldManager and the server's timeout on writes, the broker's User-Agent.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import pkg from "../../package.json" with { type: "json" };
import { loadKubeConfig } from "../../src/commands/compose.js";
import { buildConfig } from "../../src/config.js";
import { openGet, readJson } from "../../src/runtime/kube/kube-request.js";
import { createKubeUpstreamApi, type PatchAnswer } from "../../src/controller/kube-upstreams.js";
import { PooledKubeConfig } from "../../src/runtime/kube/pooled-kube-config.js";
import { CredbrokerError } from "../../src/model/errors.js";
import { createKubeEmulator, type KubeEmulator } from "../../src/sandbox/kube/index.js";
import { upstream, waitFor } from "./helpers.js";


/** Settles with the promise's outcome, or with "still pending" once `ms` have passed. */
function settledWithin<T>(promise: Promise<T>, ms: number): Promise<{ value: T } | { error: unknown } | "still pending"> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<"still pending">((resolve) => (timer = setTimeout(() => resolve("still pending"), ms)));
  const outcome = promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  return Promise.race([outcome, late]).finally(() => clearTimeout(timer));
}

describe("kubernetes upstream API", () => {
  let kube: KubeEmulator;
  const configs: PooledKubeConfig[] = [];

  beforeAll(async () => {
    kube = await createKubeEmulator();
  });
  afterEach(async () => {
    kube.faults.reset();
    await Promise.all(configs.splice(0).map((kc) => kc.closeConnections()));
  });
  afterAll(async () => {
    await kube?.close();
  });

  function pooled(): PooledKubeConfig {
    const kc = new PooledKubeConfig({ userAgent: "credbroker/test" });
    kc.loadFromString(kube.kubeconfig({ token: kube.adminToken }));
    configs.push(kc);
    return kc;
  }

  /** Makes every upstream PATCH that reaches the server from now on wait 30 s before it is answered. */
  function hangPatches(): void {
    kube.faults.set({ latencyMs: 30_000, operations: ["patch upstreams"] });
  }

  it("rejects a hung PATCH after its deadline with a retryable error naming the call", async () => {
    kube.apply(upstream("default", "hung"));
    const api = createKubeUpstreamApi(pooled(), { requestTimeoutMs: 300 });
    hangPatches();

    const outcome = await settledWithin(api.mergePatch("default", "hung", { metadata: { labels: { touched: "yes" } } }), 10_000);

    expect(outcome).not.toBe("still pending");
    const error = (outcome as { error?: unknown }).error;
    expect(error).toBeInstanceOf(CredbrokerError);
    expect(error).toMatchObject({ retryable: true, message: "kubernetes patch upstream default/hung timed out after 300 ms" });
  });

  it.each([401, 403] as const)("reports a %i on an upstream PATCH as the broker not being authorized: retryable, never a verdict", async (status) => {
    kube.apply(upstream("default", `refused-${status}`));
    const told: string[] = [];
    const refusals = { refused: (r: { operation: string; subject: string }) => told.push(`refused ${r.operation} ${r.subject}`), authorized: (subject: string) => told.push(`authorized ${subject}`) };
    const api = createKubeUpstreamApi(pooled(), { requestTimeoutMs: 5000, refusals });
    kube.faults.set({ denyRate: 1, denyStatus: status, operations: ["patch upstreams"] });

    const error = await api.mergePatch("default", `refused-${status}`, { metadata: { labels: { touched: "yes" } } }).then(
      () => undefined,
      (err: unknown) => err,
    );
    kube.faults.reset();
    await api.mergePatch("default", `refused-${status}`, { metadata: { labels: { touched: "yes" } } });

    // The refusal and the recovery reach the Secret reads' streak: one log line and one count per streak.
    expect(told).toEqual([`refused patch upstream default/refused-${status}`, `authorized default/refused-${status}`]);
    expect(error).toMatchObject({ reason: "BrokerNotAuthorized", retryable: true });
    expect((error as Error).message).toContain(`patch upstream default/refused-${status} failed with HTTP ${status}`);
    expect((error as Error).message).toContain(status === 403 ? "deploy/kustomize/base/rbac.yaml" : "service-account token");
  });

  it("lets another upstream's PATCH through while one hangs", async () => {
    kube.apply(upstream("default", "stuck"));
    kube.apply(upstream("default", "free"));
    const api = createKubeUpstreamApi(pooled(), { requestTimeoutMs: 2_000 });
    // Warm the pool, so the hung request takes the kept-alive connection and the second needs its own.
    await api.get("default", "stuck");
    hangPatches();
    const before = kube.requestCount;
    const stuck = api.mergePatch("default", "stuck", { metadata: { labels: { touched: "yes" } } });
    let stuckSettled = false;
    stuck.then(
      () => (stuckSettled = true),
      () => (stuckSettled = true),
    );
    // Only once the hung PATCH is held by the server do the faults go, so just it hangs.
    await waitFor("the hung PATCH to reach the server", () => kube.requestCount > before);
    kube.faults.reset();

    const free: PatchAnswer = await api.mergePatch("default", "free", { metadata: { labels: { touched: "yes" } } });

    expect(free.kind).toBe("patched");
    expect(stuckSettled).toBe(false);
    await expect(stuck).rejects.toMatchObject({ retryable: true, message: "kubernetes patch upstream default/stuck timed out after 2000 ms" });
  });

  it("says fieldManager=credbroker and the server's timeout on writes, and User-Agent credbroker/<version> on every request", async () => {
    const dir = mkdtempSync(join(tmpdir(), "credbroker-ua-"));
    const kubeconfig = join(dir, "kubeconfig");
    await kube.writeKubeconfig(kubeconfig, { token: kube.adminToken });
    const config = buildConfig({ flags: { "kubernetes.kubeconfig": kubeconfig } });
    const kc = loadKubeConfig(config);
    configs.push(kc);
    const api = createKubeUpstreamApi(kc, { requestTimeoutMs: config.kubernetes.requestTimeoutMs });
    kube.apply(upstream("default", "named"));
    const from = kube.auditEvents().length;

    await api.mergePatch("default", "named", { metadata: { labels: { touched: "yes" } } });
    await api.recordEvent({ namespace: "default", name: "named", type: "Normal", reason: "Verified", message: "verified" });
    await api.namespaceLabels("default");
    // The watch loop's list: a raw GET through kube-request.ts with the same KubeConfig.
    const list = await openGet(kc, "/apis/gloo.solo.io/v1/namespaces/default/upstreams?limit=1", "application/json");
    await readJson(await list.response, "list upstreams");

    const seen = kube.auditEvents().slice(from);
    expect(seen.map((e) => `${e.verb} ${e.objectRef.resource}`)).toEqual(["patch upstreams", "create events", "get namespaces", "list upstreams"]);
    for (const e of seen) expect(e.userAgent).toBe(`credbroker/${pkg.version}`);
    const query = (e: (typeof seen)[number]) => new URL(e.requestURI, "https://api").searchParams;
    for (const write of seen.filter((e) => e.verb === "patch" || e.verb === "create")) {
      expect(query(write).get("fieldManager")).toBe("credbroker");
      expect(query(write).get("timeout")).toBe("10s");
    }
    for (const read of seen.filter((e) => e.verb === "get" || e.verb === "list")) expect(query(read).has("fieldManager")).toBe(false);
  });
});
