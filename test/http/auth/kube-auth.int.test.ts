// The kubernetes method against the sandbox's emulator: the scenarios shared with the real kube-apiserver (test/support/kube-auth-scenarios.ts), then sandbox-only faults and cache timing.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthUnavailableError, type ApiAuth, type Caller } from "../../../src/http/auth/api-auth.js";
import { createKubeAuth, REFUSAL_CACHE_MS, type KubeAuthOptions } from "../../../src/http/auth/kube-auth.js";
import { FakeClock } from "../../../src/runtime/clock.js";
import { createKubeEmulator, type KubeEmulator } from "../../../src/sandbox/kube/index.js";
import { binding, describeKubeAuthScenarios, failureOf, fragments, messagesOf, reviewsBy, upstreamRole } from "../../support/kube-auth-scenarios.js";

const ROOT = new URL("../../../", import.meta.url).pathname;

describeKubeAuthScenarios("sandbox");

describe("kubernetes API auth: faults and cache timing on the emulator", () => {
  let kube: KubeEmulator;
  let brokerKc: KubeConfig;
  const kubeConfigFor = (token: string): KubeConfig => {
    const kc = new KubeConfig();
    kc.loadFromString(kube.kubeconfig({ token }));
    return kc;
  };
  const count = (resource: "tokenreviews" | "subjectaccessreviews"): number => reviewsBy(kube.auditEvents(), resource);
  const auth = (clock: FakeClock, options: Partial<KubeAuthOptions> = {}): ApiAuth =>
    createKubeAuth({ kubeConfig: brokerKc, audiences: [], cacheMs: 10_000, clock, requestTimeoutMs: 5_000, ...options });

  beforeAll(async () => {
    kube = await createKubeEmulator();
    kube.loadRbac(await readFile(join(ROOT, "deploy/kustomize/base/rbac.yaml"), "utf8"));
    brokerKc = kubeConfigFor(kube.issueServiceAccountToken("gloo-system", "credbroker"));
    kube.loadRbac([upstreamRole("Role", "upstream-editor", ["get", "list", "update"], "team-a")]);
  });
  afterAll(async () => {
    await kube?.close();
  });
  const caller = async (a: ApiAuth, token: string): Promise<Caller> => {
    const answer = await a.authenticate(token, "10.1.2.3");
    if (!answer.ok) throw new Error(answer.message);
    return answer.caller;
  };

  it("asks again once cacheMs has passed, and asks again about a refused token after REFUSAL_CACHE_MS", async () => {
    const clock = new FakeClock();
    const a = auth(clock);
    const token = kube.issueServiceAccountToken("team-a", "frank");
    const start = count("tokenreviews");
    await caller(a, token);
    await a.authenticate("garbage-token-value", "10.1.2.3");
    clock.advance(REFUSAL_CACHE_MS - 1);
    await caller(a, token);
    await a.authenticate("garbage-token-value", "10.1.2.3");
    expect(count("tokenreviews")).toBe(start + 2);
    clock.advance(1);
    await a.authenticate("garbage-token-value", "10.1.2.3");
    await caller(a, token);
    expect(count("tokenreviews")).toBe(start + 3);
    clock.advance(10_000);
    await caller(a, token);
    expect(count("tokenreviews")).toBe(start + 4);
  });

  it("sees a just-granted permission within REFUSAL_CACHE_MS although allowed answers are kept longer", async () => {
    const clock = new FakeClock();
    const a = auth(clock);
    const grace = await caller(a, kube.issueServiceAccountToken("team-a", "grace"));
    expect(await a.authorize(grace, { verb: "update", namespace: "team-a" })).toMatchObject({ allowed: false });
    kube.loadRbac([binding("RoleBinding", "grace-edits", { kind: "Role", name: "upstream-editor" }, { namespace: "team-a", name: "grace" }, "team-a")]);
    expect(await a.authorize(grace, { verb: "update", namespace: "team-a" })).toMatchObject({ allowed: false });
    clock.advance(REFUSAL_CACHE_MS);
    expect(await a.authorize(grace, { verb: "update", namespace: "team-a" })).toEqual({ allowed: true });
    const reviews = count("subjectaccessreviews");
    clock.advance(5_000);
    expect(await a.authorize({ ...grace }, { verb: "update", namespace: "team-a" })).toEqual({ allowed: true });
    expect(count("subjectaccessreviews")).toBe(reviews);
  });

  it("shares one in-flight review among concurrent identical requests", async () => {
    const a = auth(new FakeClock(), { cacheMs: 0 });
    const token = kube.issueServiceAccountToken("team-a", "heidi");
    const [tokenReviews, accessReviews] = [count("tokenreviews"), count("subjectaccessreviews")];
    const answers = await Promise.all(Array.from({ length: 20 }, () => a.authenticate(token, "10.1.2.3")));
    expect(answers.every((x) => x.ok)).toBe(true);
    expect(count("tokenreviews")).toBe(tokenReviews + 1);
    const heidi = await caller(a, token);
    await Promise.all(Array.from({ length: 20 }, () => a.authorize(heidi, { verb: "get", namespace: "team-a" })));
    expect(count("subjectaccessreviews")).toBe(accessReviews + 1);
  });

  it("keeps accepted answers cached through a flood of random tokens, the refusals bounded on their own", async () => {
    const a = auth(new FakeClock(), { maxCacheEntries: 3 });
    const token = kube.issueServiceAccountToken("team-a", "ivan");
    await caller(a, token);
    const start = count("tokenreviews");
    for (let i = 0; i < 10; i++) await a.authenticate(`random-${i}`, "10.1.2.3");
    expect(count("tokenreviews")).toBe(start + 10);
    await caller(a, token);
    await a.authenticate("random-9", "10.1.2.3");
    expect(count("tokenreviews")).toBe(start + 10);
    await a.authenticate("random-0", "10.1.2.3");
    expect(count("tokenreviews")).toBe(start + 11);
  });

  it("throws AuthUnavailableError, caching nothing, when the API server answers 5xx, hangs past the deadline, or cannot be reached", async () => {
    const clock = new FakeClock();
    const a = auth(clock, { requestTimeoutMs: 300 });
    const token = kube.issueServiceAccountToken("team-a", "judy");
    try {
      kube.faults.set({ errorRate: 1, operations: ["create tokenreviews"] });
      const joined = await Promise.allSettled([a.authenticate(token, "10.1.2.3"), a.authenticate(token, "10.1.2.3")]);
      for (const r of joined) {
        expect(r.status).toBe("rejected");
        const reason = (r as PromiseRejectedResult).reason as Error;
        expect(reason).toBeInstanceOf(AuthUnavailableError);
        expect(reason.message).toMatch(/^TokenReview failed with HTTP 5\d\d$/);
      }
      kube.faults.set({ errorRate: 0, hang: true });
      const hung = await failureOf(a.authenticate(token, "10.1.2.3"));
      expect(hung).toBeInstanceOf(AuthUnavailableError);
      expect((hung as Error).message).toBe("TokenReview timed out after 300 ms");
    } finally {
      kube.faults.set({ errorRate: 0, hang: false, operations: [] });
    }
    expect((await a.authenticate(token, "10.1.2.3")).ok).toBe(true);

    const gone = await createKubeEmulator();
    const kc = new KubeConfig();
    kc.loadFromString(gone.kubeconfig({ token: gone.adminToken }));
    await gone.close();
    const unreachable = await failureOf(createKubeAuth({ kubeConfig: kc, audiences: [], cacheMs: 0, clock, requestTimeoutMs: 2_000 }).authenticate(token, "10.1.2.3"));
    expect(unreachable).toBeInstanceOf(AuthUnavailableError);
    expect((unreachable as Error).message).toBe("TokenReview failed: API server unreachable (ECONNREFUSED)");
    for (const err of [unreachable]) for (const f of fragments(token)) expect(messagesOf(err).join("\n")).not.toContain(f);
  });

  it("refuses to authorize a caller it never authenticated", async () => {
    const a = auth(new FakeClock());
    expect(await a.authorize({ id: "user:mallory", display: "mallory" }, { verb: "get", namespace: "team-a" })).toEqual({
      allowed: false,
      message: "mallory was not authenticated by the kubernetes method",
    });
  });
});
