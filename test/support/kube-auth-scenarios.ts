// The kubernetes API auth scenarios written once and run on both backends: the sandbox (test/http/auth/kube-auth.int.test.ts) and a real kube-apiserver (test/conformance/http-auth.conf.test.ts).
import { createSign } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthUnavailableError, type ApiAuth, type Authentication, type Caller } from "../../src/http/auth/api-auth.js";
import { createKubeAuth, type KubeAuthOptions } from "../../src/http/auth/kube-auth.js";
import type { JsonObject } from "../../src/model/fields.js";
import { createSystemClock, FakeClock } from "../../src/runtime/clock.js";
import type { AuditEvent } from "../../src/sandbox/kube/index.js";
import { realServersAvailable } from "../conformance/servers/control-plane.js";
import { BROKER_USER, startCluster, type Backend, type TestCluster } from "./cluster.js";

const RBAC_V1 = "rbac.authorization.k8s.io/v1";
const ISSUER = "https://kubernetes.default.svc.cluster.local";

export function upstreamRole(kind: "Role" | "ClusterRole", name: string, verbs: string[], namespace?: string): JsonObject {
  return { apiVersion: RBAC_V1, kind, metadata: { name, ...(namespace !== undefined ? { namespace } : {}) }, rules: [{ apiGroups: ["gloo.solo.io"], resources: ["upstreams"], verbs }] };
}

export function binding(kind: "RoleBinding" | "ClusterRoleBinding", name: string, role: { kind: "Role" | "ClusterRole"; name: string }, sa: { namespace: string; name: string }, namespace?: string): JsonObject {
  return {
    apiVersion: RBAC_V1,
    kind,
    metadata: { name, ...(namespace !== undefined ? { namespace } : {}) },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", ...role },
    subjects: [{ kind: "ServiceAccount", ...sa }],
  };
}

/** Token fragments long enough to be telling: a message holding any of them leaks the token. */
export function fragments(token: string): string[] {
  const parts = token.split(".").filter((p) => p.length >= 12);
  return [token, token.slice(0, 16), token.slice(-16), ...parts];
}

export function messagesOf(value: unknown, depth = 0): string[] {
  if (value instanceof Error && depth < 5) return [value.message, value.stack ?? "", ...messagesOf(value.cause, depth + 1)];
  return value === undefined ? [] : [JSON.stringify(value)];
}

export async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error("expected a rejection");
}

/** Retries `probe` (each answer awaited) until it holds: the real API server's RBAC and ServiceAccount caches catch up a moment after a write. */
async function settles<T, S extends T = T>(what: string, probe: () => Promise<T>, holds: ((value: T) => value is S) | ((value: T) => boolean), timeoutMs = 15_000): Promise<S> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (holds(value)) return value as S;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value)} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** How one backend mints what the scenarios need. */
interface AuthBackend {
  cluster: TestCluster;
  /** A service-account token, the account (and namespace) created when missing. */
  token(namespace: string, name: string, options?: { audiences?: string[] }): Promise<string>;
  /** A correctly signed token for the account that expired an hour ago. */
  expiredToken(namespace: string, name: string): Promise<string>;
  kubeConfigFor(token: string): KubeConfig;
  brokerKubeConfig(): Promise<KubeConfig>;
}

/** Signs an RS256 service-account JWT with the real API server's own key (the control plane keeps sa.key in its temp dir). */
function signJwt(keyPem: string, claims: JsonObject): string {
  const b64 = (v: JsonObject): string => Buffer.from(JSON.stringify(v)).toString("base64url");
  // No `kid`: the API server then tries every service-account key it has.
  const input = `${b64({ alg: "RS256", typ: "JWT" })}.${b64(claims)}`;
  return `${input}.${createSign("sha256").update(input).sign(keyPem).toString("base64url")}`;
}

function authBackend(cluster: TestCluster): AuthBackend {
  const brokerKubeConfig = async (): Promise<KubeConfig> => {
    const kc = new KubeConfig();
    kc.loadFromString(await readFile(String(cluster.brokerFlags()["kubernetes.kubeconfig"]), "utf8"));
    return kc;
  };
  const fromYaml = (yaml: string): KubeConfig => {
    const kc = new KubeConfig();
    kc.loadFromString(yaml);
    return kc;
  };
  const plane = cluster.controlPlane;
  if (plane === undefined) {
    const kube = cluster.sandbox.kube;
    return {
      cluster,
      token: (namespace, name, options = {}) => Promise.resolve(kube.issueServiceAccountToken(namespace, name, options)),
      expiredToken: (namespace, name) => Promise.resolve(kube.issueServiceAccountToken(namespace, name, { expirationSeconds: -3600 })),
      kubeConfigFor: (token) => fromYaml(kube.kubeconfig({ token })),
      brokerKubeConfig,
    };
  }
  return {
    cluster,
    token: (namespace, name, options = {}) => plane.serviceAccountToken(namespace, name, options),
    expiredToken: async (namespace, name) => {
      await plane.serviceAccountToken(namespace, name);
      const sa = await plane.request({ method: "GET", path: `/api/v1/namespaces/${namespace}/serviceaccounts/${name}` });
      const uid = (sa.body as { metadata?: { uid?: string } }).metadata?.uid ?? "";
      const now = Math.floor(Date.now() / 1000);
      return signJwt(await readFile(join(plane.logDir, "sa.key"), "utf8"), {
        aud: [ISSUER],
        exp: now - 3600,
        iat: now - 7200,
        nbf: now - 7200,
        iss: ISSUER,
        "kubernetes.io": { namespace, serviceaccount: { name, uid } },
        sub: `system:serviceaccount:${namespace}:${name}`,
      });
    },
    kubeConfigFor: (token) => fromYaml(plane.kubeconfigForToken(token)),
    brokerKubeConfig,
  };
}

export function reviewsBy(events: readonly AuditEvent[], resource: "tokenreviews" | "subjectaccessreviews", username = BROKER_USER): number {
  return events.filter((e) => e.objectRef.resource === resource && e.verb === "create" && e.user.username === username).length;
}

/**
 * The kubernetes method's scenarios, written once: run on the sandbox here and on a real
 * kube-apiserver by test/conformance/http-auth.conf.test.ts, so any difference shows as a failure.
 */
export function describeKubeAuthScenarios(backend: Backend): void {
  const unavailable = backend === "real" && !realServersAvailable();
  describe.skipIf(unavailable)(`kubernetes API auth on ${backend === "real" ? "a real kube-apiserver" : "the sandbox's Kubernetes emulator"}`, () => {
    let b: AuthBackend;
    let brokerKc: KubeConfig;
    const minted: string[] = [];
    const said: unknown[] = [];
    const auth = (options: Partial<KubeAuthOptions> = {}): ApiAuth => {
      const inner = createKubeAuth({ kubeConfig: brokerKc, audiences: [], cacheMs: 0, clock: createSystemClock(), requestTimeoutMs: 10_000, ...options });
      // Every answer and error is kept, for the last check: no token text anywhere.
      const keep = async <T>(answer: Promise<T>): Promise<T> => {
        try {
          const value = await answer;
          said.push(value);
          return value;
        } catch (err) {
          said.push(err);
          throw err;
        }
      };
      return { authenticate: (token, peer) => keep(inner.authenticate(token, peer)), authorize: (caller, access) => keep(inner.authorize(caller, access)) };
    };
    const mint = async (namespace: string, name: string, options?: { audiences?: string[] }): Promise<string> => {
      const token = await b.token(namespace, name, options);
      minted.push(token);
      return token;
    };
    const accepted = async (a: ApiAuth, token: string): Promise<Caller> => {
      // A just-bound broker may still be refused (403) for a moment on the real server: retried too.
      const answer = await settles(
        "a TokenReview of a new account's token",
        () => a.authenticate(token, "10.1.2.3").catch((err: unknown) => err),
        (x): x is Authentication & { ok: true } => !(x instanceof Error) && (x as Authentication).ok,
      );
      return answer.caller;
    };

    beforeAll(async () => {
      const cluster = await startCluster(backend);
      b = authBackend(cluster);
      brokerKc = await b.brokerKubeConfig();
    });
    afterAll(async () => {
      await b?.cluster.close();
    });

    it("authenticates a valid service-account token as its username", async () => {
      const token = await mint("team-a", "alice");
      const caller = await accepted(auth(), token);
      expect(caller).toEqual({ id: "user:system:serviceaccount:team-a:alice", display: "system:serviceaccount:team-a:alice" });
    });

    it("accepts a token carrying the configured audience and refuses one that does not", async () => {
      const a = auth({ audiences: ["credbroker"] });
      const right = await mint("team-a", "aud-right", { audiences: ["credbroker"] });
      expect((await accepted(a, right)).id).toBe("user:system:serviceaccount:team-a:aud-right");
      const wrong = await mint("team-a", "aud-wrong");
      expect(await a.authenticate(wrong, "10.1.2.3")).toEqual({ ok: false, message: "the token is not valid for this API" });
      // And the API's own audience still works for a method configured without one.
      expect((await accepted(auth(), wrong)).id).toBe("user:system:serviceaccount:team-a:aud-wrong");
    });

    it("refuses a missing, a garbage and a tampered token without saying why", async () => {
      const a = auth();
      expect(await a.authenticate(undefined, "10.1.2.3")).toEqual({ ok: false, message: "a bearer token is required" });
      const refused = { ok: false, message: "the token is not valid for this API" };
      const garbage = "not-a-jwt-Zm9vYmFyYmF6cXV4cXV1eA";
      minted.push(garbage);
      expect(await a.authenticate(garbage, "10.1.2.3")).toEqual(refused);
      const token = await mint("team-a", "tampered");
      const tampered = `${token.slice(0, -10)}AAAAAAAAAA`;
      minted.push(tampered);
      expect(await a.authenticate(tampered, "10.1.2.3")).toEqual(refused);
    });

    it("refuses an expired token", async () => {
      const expired = await b.expiredToken("team-a", "expired");
      minted.push(expired);
      expect(await auth().authenticate(expired, "10.1.2.3")).toEqual({ ok: false, message: "the token is not valid for this API" });
    });

    it("allows what a RoleBinding grants in its namespace and denies it elsewhere and cluster-wide", async () => {
      await b.cluster.apply([
        { apiVersion: "v1", kind: "Namespace", metadata: { name: "team-b" } },
        upstreamRole("Role", "upstream-editor", ["get", "list", "update"], "team-a"),
        binding("RoleBinding", "bob-edits", { kind: "Role", name: "upstream-editor" }, { namespace: "team-a", name: "bob" }, "team-a"),
      ]);
      const a = auth();
      const bob = await accepted(a, await mint("team-a", "bob"));
      await settles("the RoleBinding seen by RBAC", () => a.authorize(bob, { verb: "update", namespace: "team-a" }), (x) => x.allowed);
      expect(await a.authorize(bob, { verb: "get", namespace: "team-a" })).toEqual({ allowed: true });
      expect(await a.authorize(bob, { verb: "update", namespace: "team-b" })).toEqual({
        allowed: false,
        message: 'user "system:serviceaccount:team-a:bob" may not update upstreams.gloo.solo.io in namespace "team-b"',
      });
      expect(await a.authorize(bob, { verb: "list" })).toEqual({ allowed: false, message: 'user "system:serviceaccount:team-a:bob" may not list upstreams.gloo.solo.io cluster-wide' });
    });

    it("allows a cluster-wide request only through a ClusterRoleBinding", async () => {
      const a = auth();
      const carol = await accepted(a, await mint("team-a", "carol"));
      await b.cluster.apply([
        upstreamRole("ClusterRole", "upstream-reader", ["get", "list"]),
        // A RoleBinding to a ClusterRole grants it in one namespace only: still not cluster-wide.
        binding("RoleBinding", "carol-reads-team-b", { kind: "ClusterRole", name: "upstream-reader" }, { namespace: "team-a", name: "carol" }, "team-b"),
      ]);
      await settles("the RoleBinding seen by RBAC", () => a.authorize(carol, { verb: "list", namespace: "team-b" }), (x) => x.allowed);
      expect(await a.authorize(carol, { verb: "list" })).toMatchObject({ allowed: false });
      await b.cluster.apply([binding("ClusterRoleBinding", "carol-reads-all", { kind: "ClusterRole", name: "upstream-reader" }, { namespace: "team-a", name: "carol" })]);
      await settles("the ClusterRoleBinding seen by RBAC", () => a.authorize(carol, { verb: "list" }), (x) => x.allowed);
      expect(await a.authorize(carol, { verb: "list", namespace: "team-c" })).toEqual({ allowed: true });
      expect(await a.authorize(carol, { verb: "update" })).toMatchObject({ allowed: false });
    });

    it("reuses a TokenReview and a SubjectAccessReview within cacheMs, and asks again without a cache", async () => {
      const token = await mint("team-a", "dave");
      // A fake clock for the cache: the refusals below stay cached however slow the server.
      const cached = auth({ cacheMs: 60_000, clock: new FakeClock() });
      const dave = await accepted(cached, token);
      const before = b.cluster.audit();
      const [tokenReviews, accessReviews] = [reviewsBy(before, "tokenreviews"), reviewsBy(before, "subjectaccessreviews")];
      for (let i = 0; i < 3; i++) {
        expect((await cached.authenticate(token, "10.1.2.3")).ok).toBe(true);
        await cached.authorize(dave, { verb: "get", namespace: "team-a" });
      }
      const after = b.cluster.audit();
      expect(reviewsBy(after, "tokenreviews")).toBe(tokenReviews);
      expect(reviewsBy(after, "subjectaccessreviews")).toBe(accessReviews + 1);

      const uncached = auth({ cacheMs: 0 });
      for (let i = 0; i < 2; i++) await uncached.authorize(await accepted(uncached, token), { verb: "get", namespace: "team-a" });
      const last = b.cluster.audit();
      expect(reviewsBy(last, "tokenreviews")).toBe(tokenReviews + 2);
      expect(reviewsBy(last, "subjectaccessreviews")).toBe(accessReviews + 3);
    });

    it("throws AuthUnavailableError naming the call and the RBAC fix when the broker may not create TokenReviews or SubjectAccessReviews", async () => {
      const only = (name: string, group: string, resource: string): JsonObject[] => [
        { apiVersion: RBAC_V1, kind: "ClusterRole", metadata: { name }, rules: [{ apiGroups: [group], resources: [resource], verbs: ["create"] }] },
        binding("ClusterRoleBinding", name, { kind: "ClusterRole", name }, { namespace: "gloo-system", name }),
      ];
      await b.cluster.apply([...only("no-tokenreviews", "authorization.k8s.io", "subjectaccessreviews"), ...only("no-accessreviews", "authentication.k8s.io", "tokenreviews")]);
      const user = await mint("team-a", "erin");

      const noTokenReviews = auth({ kubeConfig: b.kubeConfigFor(await mint("gloo-system", "no-tokenreviews")) });
      const err = await failureOf(noTokenReviews.authenticate(user, "10.1.2.3"));
      said.push(err);
      expect(err).toBeInstanceOf(AuthUnavailableError);
      expect((err as Error).message).toMatch(/^TokenReview failed with HTTP 403: the broker's RBAC does not allow this call: .*\(create on tokenreviews\.authentication\.k8s\.io\)$/);

      const noAccessReviews = auth({ kubeConfig: b.kubeConfigFor(await mint("gloo-system", "no-accessreviews")) });
      const erin = await accepted(noAccessReviews, user);
      const sarErr = await failureOf(noAccessReviews.authorize(erin, { verb: "get", namespace: "team-a" }));
      said.push(sarErr);
      expect(sarErr).toBeInstanceOf(AuthUnavailableError);
      expect((sarErr as Error).message).toMatch(/^SubjectAccessReview failed with HTTP 403: .*\(create on subjectaccessreviews\.authorization\.k8s\.io\)$/);
    });

    it("never puts token text in an answer or an error", () => {
      expect(said.length).toBeGreaterThan(10);
      const text = said.flatMap((s) => messagesOf(s)).join("\n");
      for (const token of minted) for (const fragment of fragments(token)) expect(text).not.toContain(fragment);
    });
  });
}
