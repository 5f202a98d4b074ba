// The emulator's request limits as a real API server has them: a 3 MiB body limit answered as a 413 Status, and a write's `timeout` honoured with a 504 that applies nothing.
import { request as httpsRequest } from "node:https";
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKubeEmulator, UPSTREAMS, type KubeEmulator } from "../../../src/sandbox/kube/index.js";
import { expectStatus, kubeConfigFor, UPSTREAM_API } from "./helpers.js";

describe("request limits", () => {
  let emu: KubeEmulator;
  let custom: CustomObjectsApi;
  beforeAll(async () => {
    emu = await createKubeEmulator();
    custom = kubeConfigFor(emu, emu.adminToken).makeApiClient(CustomObjectsApi);
    emu.apply({ apiVersion: "gloo.solo.io/v1", kind: "Upstream", metadata: { namespace: "default", name: "u" }, spec: { aws: { region: "us-east-1" } } });
  });
  afterAll(async () => {
    await emu?.close();
  });

  it("refuses a body over 3 MiB with the API server's 413 Status", async () => {
    const body = { apiVersion: "gloo.solo.io/v1", kind: "Upstream", metadata: { namespace: "default", name: "huge" }, spec: { aws: { region: "x".repeat(3 * 1024 * 1024) } } };
    const status = await expectStatus(custom.createNamespacedCustomObject({ ...UPSTREAM_API, namespace: "default", body }));
    expect(status).toMatchObject({ code: 413, reason: "RequestEntityTooLarge", message: "Request entity too large: limit is 3145728" });
    expect(emu.get(UPSTREAMS, "default", "huge")).toBeUndefined();
  });

  it("answers a held write 504 at its timeout parameter and applies nothing, then serves it once the hold ends", async () => {
    const release = emu.holdWrites("default", "u", 30_000);
    const patch = { metadata: { labels: { held: "yes" } } };
    const answer = await rawPatch(emu, "/apis/gloo.solo.io/v1/namespaces/default/upstreams/u?timeout=200ms", patch);
    const status = { code: answer.status, ...(JSON.parse(answer.body) as object) };
    expect(status).toMatchObject({ code: 504, reason: "Timeout" });
    expect((emu.get(UPSTREAMS, "default", "u")!.metadata as { labels?: unknown }).labels).toBeUndefined();
    release();
    const patched = await custom.patchNamespacedCustomObject({ ...UPSTREAM_API, namespace: "default", name: "u", body: patch }, setHeaderOptions("Content-Type", PatchStrategy.MergePatch));
    expect(patched.metadata.labels).toEqual({ held: "yes" });
  });
});

/** A merge patch sent as is, so the test sets the API server's `timeout` parameter itself. */
function rawPatch(emu: KubeEmulator, path: string, body: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(`${emu.url}${path}`, { method: "PATCH", ca: emu.caPem, headers: { authorization: `Bearer ${emu.adminToken}`, "content-type": "application/merge-patch+json" } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}
