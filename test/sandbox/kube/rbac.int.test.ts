// The broker's RBAC from deploy/kustomize/base/rbac.yaml, enforced by the emulator: every permission it needs works, anything more is a 403.
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKubeEmulator, type KubeEmulator } from "../../../src/sandbox/kube/index.js";
import { rawRequest, upstream } from "./helpers.js";

let emu: KubeEmulator;
let token: string;
let clock = Date.now();

beforeAll(async () => {
  emu = await createKubeEmulator({ nowMs: () => clock });
  const stored = emu.loadRbac(await readFile(new URL("../../../deploy/kustomize/base/rbac.yaml", import.meta.url), "utf8"));
  expect(stored.map((o) => o["kind"])).toEqual(["ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"]);
  emu.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: "team-a" } });
  emu.apply(upstream("team-a", "orders"));
  emu.apply({ apiVersion: "v1", kind: "Secret", metadata: { name: "creds", namespace: "team-a" }, stringData: { k: "v" } });
  emu.apply({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cfg", namespace: "team-a" }, data: { k: "v" } });
  token = emu.issueServiceAccountToken("gloo-system", "credbroker");
});

afterAll(async () => {
  await emu.close();
});

const event = (ns: string, name: string) => ({
  apiVersion: "v1",
  kind: "Event",
  metadata: { name, namespace: ns },
  involvedObject: { apiVersion: "gloo.solo.io/v1", kind: "Upstream", name: "orders", namespace: ns },
  reason: "Accepted",
  message: "credentials verified",
  type: "Normal",
});

describe("the credbroker service account", () => {
  const allowed: Array<[string, string, string, unknown?, string?]> = [
    ["get upstreams", "GET", "/apis/gloo.solo.io/v1/namespaces/team-a/upstreams/orders"],
    ["list upstreams cluster-wide", "GET", "/apis/gloo.solo.io/v1/upstreams"],
    ["watch upstreams", "GET", "/apis/gloo.solo.io/v1/upstreams?watch=1&timeoutSeconds=1"],
    ["patch upstreams", "PATCH", "/apis/gloo.solo.io/v1/namespaces/team-a/upstreams/orders", { status: { statuses: { credbroker: { state: "Accepted" } } } }, "application/merge-patch+json"],
    ["list namespaces", "GET", "/api/v1/namespaces"],
    ["get a secret", "GET", "/api/v1/namespaces/team-a/secrets/creds"],
    ["list secrets cluster-wide", "GET", "/api/v1/secrets"],
    ["create core events", "POST", "/api/v1/namespaces/team-a/events", event("team-a", "orders.1")],
    ["create leases in its namespace", "POST", "/apis/coordination.k8s.io/v1/namespaces/gloo-system/leases", { metadata: { name: "credbroker-leader" }, spec: { holderIdentity: "a" } }],
    ["get leases in its namespace", "GET", "/apis/coordination.k8s.io/v1/namespaces/gloo-system/leases/credbroker-leader"],
    ["create tokenreviews", "POST", "/apis/authentication.k8s.io/v1/tokenreviews", { spec: { token: "not-a-token" } }],
    ["create subjectaccessreviews", "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", { spec: { user: "x", resourceAttributes: { verb: "get", resource: "secrets" } } }],
  ];
  it.each(allowed)("may %s", async (_what, method, path, body, contentType) => {
    const res = await rawRequest(emu, method, path, { token, ...(body !== undefined ? { body } : {}), ...(contentType !== undefined ? { contentType } : {}) });
    expect(res.status, res.text).toBeLessThan(300);
  });

  const denied: Array<[string, string, string, string]> = [
    [
      "delete upstreams",
      "DELETE",
      "/apis/gloo.solo.io/v1/namespaces/team-a/upstreams/orders",
      'upstreams.gloo.solo.io "orders" is forbidden: User "system:serviceaccount:gloo-system:credbroker" cannot delete resource "upstreams" in API group "gloo.solo.io" in the namespace "team-a"',
    ],
    ["get configmaps", "GET", "/api/v1/namespaces/team-a/configmaps/cfg", 'configmaps "cfg" is forbidden: User "system:serviceaccount:gloo-system:credbroker" cannot get resource "configmaps" in API group "" in the namespace "team-a"'],
    ["create upstreams", "POST", "/apis/gloo.solo.io/v1/namespaces/team-a/upstreams", 'upstreams.gloo.solo.io is forbidden: User "system:serviceaccount:gloo-system:credbroker" cannot create resource "upstreams" in API group "gloo.solo.io" in the namespace "team-a"'],
    ["list leases cluster-wide", "GET", "/apis/coordination.k8s.io/v1/leases", 'leases.coordination.k8s.io is forbidden: User "system:serviceaccount:gloo-system:credbroker" cannot list resource "leases" in API group "coordination.k8s.io" at the cluster scope'],
    ["create leases elsewhere", "POST", "/apis/coordination.k8s.io/v1/namespaces/team-a/leases", 'leases.coordination.k8s.io is forbidden: User "system:serviceaccount:gloo-system:credbroker" cannot create resource "leases" in API group "coordination.k8s.io" in the namespace "team-a"'],
    ["update secrets", "PUT", "/api/v1/namespaces/team-a/secrets/creds", 'secrets "creds" is forbidden: User "system:serviceaccount:gloo-system:credbroker" cannot update resource "secrets" in API group "" in the namespace "team-a"'],
    // Every write is a merge patch and every Event a new one: update and the events.k8s.io API are not granted.
    ["update upstreams", "PUT", "/apis/gloo.solo.io/v1/namespaces/team-a/upstreams/orders", 'upstreams.gloo.solo.io "orders" is forbidden: User "system:serviceaccount:gloo-system:credbroker" cannot update resource "upstreams" in API group "gloo.solo.io" in the namespace "team-a"'],
    ["patch core events", "PATCH", "/api/v1/namespaces/team-a/events/orders.1", 'events "orders.1" is forbidden: User "system:serviceaccount:gloo-system:credbroker" cannot patch resource "events" in API group "" in the namespace "team-a"'],
    ["create events.k8s.io events", "POST", "/apis/events.k8s.io/v1/namespaces/team-a/events", 'events.events.k8s.io is forbidden: User "system:serviceaccount:gloo-system:credbroker" cannot create resource "events" in API group "events.k8s.io" in the namespace "team-a"'],
  ];
  it.each(denied)("may not %s (403 with the real message)", async (_what, method, path, message) => {
    const res = await rawRequest(emu, method, path, { token, ...(method === "POST" || method === "PUT" ? { body: { metadata: { name: "x" } } } : {}) });
    expect(res.status).toBe(403);
    expect(res.json()).toMatchObject({ kind: "Status", status: "Failure", reason: "Forbidden", code: 403, message });
  });

  it("loses a permission as soon as its binding is deleted, and regains it when re-applied", async () => {
    const path = "/apis/coordination.k8s.io/v1/namespaces/gloo-system/leases/credbroker-leader";
    const binding = emu.get({ group: "rbac.authorization.k8s.io", version: "v1", resource: "rolebindings" }, "gloo-system", "credbroker-leases");
    expect(emu.delete({ group: "rbac.authorization.k8s.io", version: "v1", resource: "rolebindings" }, "gloo-system", "credbroker-leases")).toBe(true);
    expect((await rawRequest(emu, "GET", path, { token })).status).toBe(403);
    emu.apply(binding!);
    expect((await rawRequest(emu, "GET", path, { token })).status).toBe(200);
  });
});

describe("authentication", () => {
  it("answers 401 Unauthorized for a missing, unknown or expired token and for a deleted service account", async () => {
    const path = "/api/v1/namespaces";
    expect((await rawRequest(emu, "GET", path)).status).toBe(401);
    const unknown = await rawRequest(emu, "GET", path, { token: "nope" });
    expect(unknown.json()).toMatchObject({ kind: "Status", reason: "Unauthorized", code: 401 });

    const shortLived = emu.issueServiceAccountToken("team-a", "short", { expirationSeconds: 60 });
    expect((await rawRequest(emu, "GET", "/version", { token: shortLived })).status).toBe(200);
    expect((await rawRequest(emu, "GET", "/api", { token: shortLived })).status).toBe(200);
    clock += 61_000;
    expect((await rawRequest(emu, "GET", "/api", { token: shortLived })).status).toBe(401);

    const doomed = emu.issueServiceAccountToken("team-a", "doomed");
    expect((await rawRequest(emu, "GET", "/api", { token: doomed })).status).toBe(200);
    emu.delete({ group: "", version: "v1", resource: "serviceaccounts" }, "team-a", "doomed");
    expect((await rawRequest(emu, "GET", "/api", { token: doomed })).status).toBe(401);
  });

  it("refuses an API call with a token minted for another audience, while TokenReview for that audience accepts it", async () => {
    const vaultToken = emu.issueServiceAccountToken("gloo-system", "credbroker", { audiences: ["vault"] });
    expect((await rawRequest(emu, "GET", "/api", { token: vaultToken })).status).toBe(401);
    const review = await rawRequest(emu, "POST", "/apis/authentication.k8s.io/v1/tokenreviews", { token, body: { spec: { token: vaultToken, audiences: ["vault"] } } });
    expect(review.status).toBe(201);
    expect(review.json().status).toMatchObject({ authenticated: true, audiences: ["vault"], user: { username: "system:serviceaccount:gloo-system:credbroker" } });
    const tampered = `${vaultToken.slice(0, -4)}AAAA`;
    const bad = await rawRequest(emu, "POST", "/apis/authentication.k8s.io/v1/tokenreviews", { token, body: { spec: { token: tampered, audiences: ["vault"] } } });
    expect(bad.json().status.authenticated).toBeUndefined();
    expect(bad.json().status.error).toContain("invalid bearer token");
  });
});
