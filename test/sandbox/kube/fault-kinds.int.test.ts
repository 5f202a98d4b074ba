// The Kubernetes emulator's injected refusals, hangs, 409 storms, lost responses, clock offset and validated fault settings, through client-node.
import { ApiException, CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { FaultSettingsError } from "../../../src/sandbox/common/faults.js";
import { createKubeEmulator, UPSTREAMS, type KubeEmulator } from "../../../src/sandbox/kube/index.js";
import { seeded } from "../../support/seeded-random.js";
import { expectStatus, kubeConfigFor, rawRequest, UPSTREAM_API, upstream } from "./helpers.js";

const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
const TWENTY_MINUTES_MS = 20 * 60 * 1000;

describe("Kubernetes emulator: refusals, hangs, write faults, clock offset and validated fault settings", () => {
  let emu: KubeEmulator;
  let custom: CustomObjectsApi;
  let brokerCore: CoreV1Api;
  let brokerToken: string;

  beforeAll(async () => {
    emu = await createKubeEmulator({ random: seeded(12) });
    emu.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: "team-a" } });
    emu.apply(upstream("team-a", "orders"));
    emu.apply({ apiVersion: "v1", kind: "Secret", metadata: { name: "aws-keys", namespace: "team-a" }, data: { k: "dg==" } });
    custom = kubeConfigFor(emu, emu.adminToken).makeApiClient(CustomObjectsApi);
    brokerToken = emu.issueServiceAccountToken("gloo-system", "credbroker");
    brokerCore = kubeConfigFor(emu, brokerToken).makeApiClient(CoreV1Api);
  });
  afterAll(async () => {
    await emu.close();
  });
  afterEach(() => {
    emu.faults.reset();
    emu.counters.reset();
  });

  describe("denyRate", () => {
    it("refuses with the API server's 403 Status, naming the token's user, verb, resource and namespace", async () => {
      emu.faults.set({ denyRate: 1, operations: ["get secrets"] });
      const status = await expectStatus(brokerCore.readNamespacedSecret({ name: "aws-keys", namespace: "team-a" }));
      expect(status).toMatchObject({
        code: 403,
        kind: "Status",
        status: "Failure",
        reason: "Forbidden",
        message: 'secrets "aws-keys" is forbidden: User "system:serviceaccount:gloo-system:credbroker" cannot get resource "secrets" in API group "" in the namespace "team-a"',
        details: { name: "aws-keys", kind: "secrets" },
      });
      expect(emu.counters.get("get secrets", "denied")).toBe(1);
    });

    it("answers 401 Unauthorized as the API server does a token it does not accept", async () => {
      emu.faults.set({ denyRate: 1, denyStatus: 401 });
      // client-node drops the body of a 401 (its generated code throws before reading it), so the wire shows the Status.
      expect(await expectStatus(brokerCore.readNamespacedSecret({ name: "aws-keys", namespace: "team-a" }))).toMatchObject({ code: 401 });
      const res = await rawRequest(emu, "GET", "/api/v1/namespaces/team-a/secrets/aws-keys", { token: brokerToken });
      expect(res.status).toBe(401);
      expect(res.json()).toEqual({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: "Unauthorized", reason: "Unauthorized", code: 401 });
    });

    it("names the anonymous user when the token is not valid, and the path for non-resource requests", async () => {
      emu.faults.set({ denyRate: 1 });
      const resource = await rawRequest(emu, "GET", "/api/v1/namespaces/team-a/secrets", { token: "not-a-token" });
      expect(resource.json()).toMatchObject({ code: 403, message: 'secrets is forbidden: User "system:anonymous" cannot list resource "secrets" in API group "" in the namespace "team-a"' });
      const discovery = await rawRequest(emu, "GET", "/apis", { token: brokerToken });
      expect(discovery.json()).toMatchObject({ code: 403, message: 'forbidden: User "system:serviceaccount:gloo-system:credbroker" cannot get path "/apis"' });
    });
  });

  describe("hang", () => {
    it("accepts and never answers, until the client's deadline ends the call", async () => {
      emu.faults.set({ hang: true, operations: ["get secrets"] });
      const err = await rawRequest(emu, "GET", "/api/v1/namespaces/team-a/secrets/aws-keys", { token: emu.adminToken, signal: AbortSignal.timeout(300) }).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(err?.name).toBe("AbortError");
      expect(emu.counters.get("get secrets", "hung")).toBe(1);
    });

    it("ends hung connections (watches included) when the emulator closes", async () => {
      const other = await createKubeEmulator();
      other.faults.set({ hang: true });
      const pending = [
        rawRequest(other, "GET", "/api/v1/namespaces/default/secrets", { token: other.adminToken }),
        rawRequest(other, "GET", "/api/v1/namespaces/default/secrets?watch=true", { token: other.adminToken }),
      ].map((p) =>
        p.then(
          () => "answered",
          () => "ended",
        ),
      );
      await expect.poll(() => other.counters.get("list secrets", "hung") + other.counters.get("watch secrets", "hung"), { timeout: 5_000 }).toBe(2);
      await Promise.race([other.close(), new Promise((_, reject) => setTimeout(() => reject(new Error("close() waited on a hung request")), 5_000))]);
      expect(await Promise.all(pending)).toEqual(["ended", "ended"]);
    });
  });

  describe("conflictRate", () => {
    it("answers that fraction of upstream patches 409 Conflict in the stale-resourceVersion shape, without applying them", async () => {
      emu.faults.set({ conflictRate: 0.3, operations: ["patch upstreams"] });
      const writes = 100;
      const refused: number[] = [];
      for (let i = 0; i < writes; i++) {
        try {
          await custom.patchNamespacedCustomObject({ ...UPSTREAM_API, namespace: "team-a", name: "orders", body: { metadata: { annotations: { [`storm/p${i}`]: "1" } } } }, mergePatch);
        } catch (err) {
          if (!(err instanceof ApiException)) throw err;
          const status = JSON.parse(err.body as string) as Record<string, unknown>;
          expect(status).toEqual({
            kind: "Status",
            apiVersion: "v1",
            metadata: {},
            status: "Failure",
            message: 'Operation cannot be fulfilled on upstreams.gloo.solo.io "orders": the object has been modified; please apply your changes to the latest version and try again',
            reason: "Conflict",
            details: { name: "orders", group: "gloo.solo.io", kind: "upstreams" },
            code: 409,
          });
          refused.push(i);
        }
      }
      expect(refused.length / writes).toBeGreaterThan(0.15);
      expect(refused.length / writes).toBeLessThan(0.45);
      expect(emu.counters.get("patch upstreams", "conflict")).toBe(refused.length);
      const annotations = Object.keys((emu.get(UPSTREAMS, "team-a", "orders")?.["metadata"] as { annotations: Record<string, string> }).annotations).filter((k) => k.startsWith("storm/"));
      expect(annotations).toHaveLength(writes - refused.length);
      for (const i of refused) expect(annotations).not.toContain(`storm/p${i}`);
    });

    it("leaves other operations alone, and a missing object is still 404", async () => {
      emu.faults.set({ conflictRate: 1 });
      const missing = await expectStatus(custom.patchNamespacedCustomObject({ ...UPSTREAM_API, namespace: "team-a", name: "nope", body: { metadata: { labels: { a: "b" } } } }, mergePatch));
      expect(missing.code).toBe(404);
      const created = await custom.createNamespacedCustomObject({ ...UPSTREAM_API, namespace: "team-a", body: upstream("team-a", "fresh") });
      expect(created.metadata.name).toBe("fresh");
      const conflicted = await expectStatus(custom.replaceNamespacedCustomObject({ ...UPSTREAM_API, namespace: "team-a", name: "fresh", body: created }));
      expect(conflicted).toMatchObject({ code: 409, reason: "Conflict" });
    });
  });

  describe("lostResponseRate", () => {
    it("applies the write, then drops the connection without an answer", async () => {
      emu.faults.set({ lostResponseRate: 1, operations: ["patch upstreams"] });
      const before = emu.get(UPSTREAMS, "team-a", "orders")?.["metadata"] as { resourceVersion: string };
      const err = await custom.patchNamespacedCustomObject({ ...UPSTREAM_API, namespace: "team-a", name: "orders", body: { metadata: { labels: { lost: "applied" } } } }, mergePatch).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(Error);
      expect(err).not.toBeInstanceOf(ApiException);
      const after = emu.get(UPSTREAMS, "team-a", "orders")?.["metadata"] as { resourceVersion: string; labels: Record<string, string> };
      expect(after.labels["lost"]).toBe("applied");
      expect(after.resourceVersion).not.toBe(before.resourceVersion);
      expect(emu.counters.get("patch upstreams", "lost")).toBe(1);
    });
  });

  describe("clockOffsetMs", () => {
    it("runs token expiry, timestamps and the Date header on the offset clock", async () => {
      const shortLived = emu.issueServiceAccountToken("gloo-system", "credbroker", { expirationSeconds: 600 });
      const core = kubeConfigFor(emu, shortLived).makeApiClient(CoreV1Api);
      emu.faults.set({ clockOffsetMs: TWENTY_MINUTES_MS });
      expect(await expectStatus(core.readNamespace({ name: "team-a" }))).toMatchObject({ code: 401 });
      expect(emu.counters.get("get namespaces", "unauthorized")).toBe(1);
      const res = await rawRequest(emu, "GET", "/version");
      expect(Math.abs(Date.parse(String(res.headers["date"])) - (Date.now() + TWENTY_MINUTES_MS))).toBeLessThan(60_000);
      const created = emu.apply({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "stamp", namespace: "team-a" } });
      const stamp = Date.parse(String((created["metadata"] as { creationTimestamp: string }).creationTimestamp));
      expect(Math.abs(stamp - (Date.now() + TWENTY_MINUTES_MS))).toBeLessThan(60_000);
    });
  });

  describe("validated fault settings", () => {
    it("refuses a misspelt operation with 400 listing the valid ones", async () => {
      const res = await rawRequest(emu, "PUT", "/__sandbox/faults", { body: { errorRate: 1, operations: ["patch upstream"] } });
      expect(res.status).toBe(400);
      const body = res.json() as { error: string; field: string; validOperations: string[] };
      expect(body.field).toBe("operations");
      expect(body.error).toContain('"patch upstream"');
      expect(body.validOperations).toContain("patch upstreams");
      expect(body.validOperations).toContain("create tokenreviews");
      expect(emu.faults.current.errorRate).toBe(0);
    });

    it("refuses an out-of-range rate naming the field, in process too", async () => {
      const res = await rawRequest(emu, "PUT", "/__sandbox/faults", { body: { conflictRate: 2 } });
      expect(res.status).toBe(400);
      expect(res.json()).toMatchObject({ field: "conflictRate" });
      expect(() => emu.faults.set({ operations: ["update lease"] })).toThrow(FaultSettingsError);
    });

    it("still takes the settings current callers send", async () => {
      const res = await rawRequest(emu, "PUT", "/__sandbox/faults", { body: { errorRate: 0.5, throttleRate: 0, outage: false, latencyMs: 0, operations: ["list upstreams", "update leases"] } });
      expect(res.status).toBe(200);
      expect(res.json()).toMatchObject({ errorRate: 0.5, operations: ["list upstreams", "update leases"] });
    });
  });
});
