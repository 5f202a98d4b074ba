// Smoke test of the conformance harness: a real kube-apiserver and etcd answer, authenticate, authorise, audit, restart and expire.
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startControlPlane, type ApiResponse, type ControlPlane } from "./servers/control-plane.js";

const NS = "team-a";
const SA = "credbroker";
const AGENT = "credbroker-conformance-smoke/1.0";

let cp: ControlPlane;
let token: string;

beforeAll(async () => {
  // Throws "run `bash test/conformance/servers/build.sh`" when the binaries are missing: this tier fails, never skips.
  cp = await startControlPlane();
  token = await cp.serviceAccountToken(NS, SA);
}, 120_000);

afterAll(async () => {
  await cp?.stop();
});

function expectCreated(res: ApiResponse): void {
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}

/** Polls the audit log briefly: blocking mode writes the event before the response ends, but give it slack. */
async function auditEvent(match: (e: ReturnType<ControlPlane["readAudit"]>[number]) => boolean): Promise<ReturnType<ControlPlane["readAudit"]>[number]> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const found = cp.readAudit().find(match);
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error("no matching audit event within 5 s");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("real control plane", () => {
  it("serves client-node with the admin kubeconfig file", async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(cp.adminKubeconfig);
    const list = await kc.makeApiClient(CoreV1Api).listNamespace();
    expect(list.items.map((n) => n.metadata?.name)).toEqual(expect.arrayContaining(["default", "kube-system", NS]));
    expect(cp.server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it("authenticates a service-account token in a TokenReview, for the API audience and for an extra one", async () => {
    const review = async (t: string, audiences?: string[]): Promise<{ authenticated?: boolean; user?: { username?: string }; audiences?: string[] }> => {
      const res = await cp.request({
        method: "POST",
        path: "/apis/authentication.k8s.io/v1/tokenreviews",
        body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token: t, ...(audiences ? { audiences } : {}) } },
      });
      expectCreated(res);
      return (res.body as { status: object }).status;
    };
    expect(await review(token)).toMatchObject({ authenticated: true, user: { username: `system:serviceaccount:${NS}:${SA}` } });

    const vaultToken = await cp.serviceAccountToken(NS, SA, { audiences: ["vault"], expirationSeconds: 600 });
    expect(await review(vaultToken, ["vault"])).toMatchObject({ authenticated: true, audiences: ["vault"] });
    // Not an API audience: the apiserver itself refuses it.
    expect((await cp.request({ method: "GET", path: "/api/v1/namespaces", token: vaultToken })).status).toBe(401);
  });

  it("authorises per RBAC: 403 without a binding, allowed with one, and audits the write with its user agent", async () => {
    const forbidden = await cp.request({ method: "GET", path: `/api/v1/namespaces/${NS}/secrets`, token });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body).toMatchObject({ kind: "Status", reason: "Forbidden", code: 403 });

    expectCreated(await cp.request({
      method: "POST",
      path: `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/roles`,
      body: { metadata: { name: "configmaps" }, rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "create"] }] },
    }));
    expectCreated(await cp.request({
      method: "POST",
      path: `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/rolebindings`,
      body: {
        metadata: { name: "configmaps" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "configmaps" },
        subjects: [{ kind: "ServiceAccount", name: SA, namespace: NS }],
      },
    }));
    expectCreated(await cp.request({ method: "POST", path: `/api/v1/namespaces/${NS}/configmaps`, token, userAgent: AGENT, body: { metadata: { name: "by-sa" } } }));

    // The token kubeconfig works with client-node too.
    const kc = new KubeConfig();
    kc.loadFromString(cp.kubeconfigForToken(token, NS));
    expect((await kc.makeApiClient(CoreV1Api).listNamespacedConfigMap({ namespace: NS })).items.map((c) => c.metadata?.name)).toContain("by-sa");

    const write = await auditEvent((e) => e.verb === "create" && e.objectRef?.resource === "configmaps" && e.objectRef.name === "by-sa");
    expect(write).toMatchObject({
      stage: "ResponseComplete",
      userAgent: AGENT,
      user: { username: `system:serviceaccount:${NS}:${SA}` },
      objectRef: { namespace: NS },
      responseStatus: { code: 201 },
    });
    const denied = await auditEvent((e) => e.verb === "list" && e.objectRef?.resource === "secrets" && e.user.username.endsWith(`:${SA}`));
    expect(denied.responseStatus?.code).toBe(403);
  });

  it("comes back at the same URL after a kill, and answers 410 to a watch from before the compaction", async () => {
    const created = await cp.request({ method: "POST", path: `/api/v1/namespaces/${NS}/configmaps`, body: { metadata: { name: "before-compaction" } } });
    expectCreated(created);
    const oldRv = (created.body as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
    const server = cp.server;

    await cp.killApiServer();
    await expect(cp.request({ method: "GET", path: "/readyz", timeoutMs: 2_000 })).rejects.toThrow();
    await cp.etcdPutNoise(5);
    const compactedAt = await cp.etcdCompact();
    expect(compactedAt).toBeGreaterThan(Number(oldRv));
    await cp.startApiServer();
    expect(cp.server).toBe(server);

    // The admin kubeconfig written at start still works: same URL, same certificates.
    const kc = new KubeConfig();
    kc.loadFromFile(cp.adminKubeconfig);
    const core = kc.makeApiClient(CoreV1Api);
    expect((await core.readNamespacedConfigMap({ namespace: NS, name: "before-compaction" })).metadata?.resourceVersion).toBe(oldRv);

    const watch = await cp.request({ method: "GET", path: `/api/v1/namespaces/${NS}/configmaps?watch=true&resourceVersion=${oldRv}`, timeoutMs: 10_000 });
    // The real server frames it as HTTP 200 with one ERROR event carrying a 410 Status, then ends the stream.
    const code = watch.status === 410 ? 410 : (watch.body as { type?: string; object?: { code?: number } }).object?.code;
    expect(code, JSON.stringify(watch)).toBe(410);
    expect(watch).toMatchObject({ status: 200, body: { type: "ERROR", object: { kind: "Status", reason: "Expired", code: 410 } } });
  });
});
