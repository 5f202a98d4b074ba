// KubernetesSecretSource against the Kubernetes emulator with the real client-node: the contract, errors, watch-driven rotation, cache bounds.
import { ApiException, KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrokerNotAuthorizedError, CredbrokerError, SecretNotFoundError, SecretSourceUnavailableError } from "../../../src/model/errors.js";
import type { SecretRef } from "../../../src/model/upstream.js";
import { Metrics } from "../../../src/observability/metrics.js";
import { createKubeEmulator, SECRETS, type KubeEmulator } from "../../../src/sandbox/kube/index.js";
import { createKubernetesSecretSource, type KubernetesSecretSource } from "../../../src/secrets/kubernetes/kubernetes-secret-source.js";
import { classifyKubernetesError } from "../../../src/secrets/kubernetes/secret-reader.js";
import { awsFlat, ISSUED_VALUES, toKubernetesSecret } from "../fixtures.js";
import { captureLog, expectNoValues, failureOf } from "../log-capture.js";
import { secretSourceContract } from "../secret-source.contract.js";
import { watchSecretMetadata, type MetadataWatch } from "./metadata-watch.js";

function kubeConfigFor(kube: KubeEmulator, token: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(kube.kubeconfig({ token }));
  return kc;
}

const log = captureLog();

secretSourceContract("kubernetes", async () => {
  const kube = await createKubeEmulator();
  const source = createKubernetesSecretSource(kubeConfigFor(kube, kube.adminToken), { cacheSize: 100 }, { logger: log.logger, telemetry: new Metrics() });
  const watch = await watchSecretMetadata(kube.kubeconfig({ token: kube.adminToken }), source, kube.resourceVersion);
  return {
    source,
    put: (ref, fixture) => Promise.resolve(void kube.apply(toKubernetesSecret(ref, fixture))),
    remove: (ref) => Promise.resolve(void kube.delete(SECRETS, ref.namespace, ref.name)),
    oneChangeInterval: () => Promise.resolve(),
    another: () => Promise.resolve(createKubernetesSecretSource(kubeConfigFor(kube, kube.adminToken), { cacheSize: 10 }, { logger: log.logger, telemetry: new Metrics() })),
    close: async () => {
      watch.stop();
      await kube.close();
    },
  };
});

describe("KubernetesSecretSource", () => {
  let kube: KubeEmulator;
  let metrics: Metrics;
  let source: KubernetesSecretSource;
  let watch: MetadataWatch;
  const ref: SecretRef = { namespace: "team-a", name: "aws-creds" };

  beforeAll(async () => {
    kube = await createKubeEmulator();
    metrics = new Metrics();
    source = createKubernetesSecretSource(kubeConfigFor(kube, kube.adminToken), { cacheSize: 2, requestTimeoutMs: 2000 }, { logger: log.logger, telemetry: metrics });
    watch = await watchSecretMetadata(kube.kubeconfig({ token: kube.adminToken }), source, kube.resourceVersion);
  });
  afterAll(async () => {
    watch.stop();
    await source.stop();
    await kube.close();
    expectNoValues(log, ISSUED_VALUES);
  });

  it("picks up a rotated Secret from the first watch event about it", async () => {
    const first = awsFlat();
    kube.apply(toKubernetesSecret(ref, first));
    await source.resolve({ ref });
    const notified: SecretRef[] = [];
    source.onChange((r) => notified.push(r));
    const eventsBefore = watch.events.length;

    const rotated = awsFlat();
    kube.apply(toKubernetesSecret(ref, rotated));
    await expect.poll(() => notified.length, { timeout: 5000, interval: 10 }).toBe(1);
    const about = watch.events.slice(eventsBefore).filter((e) => (e.object.metadata as { name?: string }).name === ref.name);
    expect(about.map((e) => e.type)).toEqual(["MODIFIED"]);
    expect(notified[0]).toEqual(ref);
    const after = await source.resolve({ ref });
    expect(after.material).toMatchObject({ secretAccessKey: rotated.format === "awsFlat" ? rotated.secretAccessKey : "" });
  });

  it("receives metadata only from the watch: no Secret data crosses the wire", () => {
    expect(watch.events.length).toBeGreaterThan(0);
    for (const e of watch.events) {
      expect(e.object.kind).toBe("PartialObjectMetadata");
      expect(e.object).not.toHaveProperty("data");
    }
  });

  it("ignores events about Secrets nobody resolved", () => {
    expect(source.handleSecretEvent("MODIFIED", { namespace: "elsewhere", name: "unrelated", resourceVersion: "99" })).toBe(false);
    expect(source.handleSecretEvent("BOOKMARK", { resourceVersion: "100" })).toBe(false);
  });

  it("notifies when a Secret looked up while absent is created", async () => {
    const missing: SecretRef = { namespace: "team-a", name: "created-later" };
    await expect(source.resolve({ ref: missing })).rejects.toBeInstanceOf(SecretNotFoundError);
    const notified: SecretRef[] = [];
    const off = source.onChange((r) => notified.push(r));
    kube.apply(toKubernetesSecret(missing, awsFlat()));
    await expect.poll(() => notified.some((r) => r.name === missing.name), { timeout: 5000, interval: 10 }).toBe(true);
    off();
    await expect(source.resolve({ ref: missing })).resolves.toMatchObject({ source: "kubernetes" });
  });

  it("keeps at most cacheSize Secrets, evicting the least recently used", async () => {
    const refs = [1, 2, 3].map((i) => ({ namespace: "team-b", name: `s${i}` }));
    for (const r of refs) kube.apply(toKubernetesSecret(r, awsFlat()));
    for (const r of refs) await source.resolve({ ref: r });
    const misses = async (): Promise<number> => {
      const text = await metrics.render();
      return Number(/credbroker_secret_cache_total\{source="kubernetes",result="miss"\} (\d+)/.exec(text)?.[1] ?? "0");
    };
    const before = await misses();
    await source.resolve({ ref: refs[2]! }); // still cached
    expect(await misses()).toBe(before);
    await source.resolve({ ref: refs[0]! }); // evicted by the third
    expect(await misses()).toBe(before + 1);
  });

  it("maps 403 (no RBAC) and 401 (a token the API server does not accept) to BrokerNotAuthorized, retryable, naming the fix", async () => {
    const token = kube.issueServiceAccountToken("credbroker-system", "no-rbac");
    kube.apply(toKubernetesSecret(ref, awsFlat()));
    const forbidden = createKubernetesSecretSource(kubeConfigFor(kube, token), { cacheSize: 10 }, { logger: log.logger, telemetry: new Metrics() });
    const err403 = await failureOf(log, forbidden.resolve({ ref }));
    expect(err403).toBeInstanceOf(BrokerNotAuthorizedError);
    expect(err403).toMatchObject({ reason: "BrokerNotAuthorized", retryable: true });
    expect((err403 as Error).message).toContain("team-a/aws-creds");
    expect((err403 as Error).message).toContain("RBAC");

    const unauthenticated = createKubernetesSecretSource(kubeConfigFor(kube, `${token.slice(0, -8)}AAAAAAAA`), { cacheSize: 10 }, { logger: log.logger, telemetry: new Metrics() });
    const err401 = await failureOf(log, unauthenticated.resolve({ ref }));
    expect(err401).toBeInstanceOf(BrokerNotAuthorizedError);
    expect(err401).toMatchObject({ reason: "BrokerNotAuthorized", retryable: true });
    expect((err401 as Error).message).toContain("HTTP 401");
    expect((err401 as Error).message).toContain("token");
  });

  it("logs a streak of refusals once, its end once, counts it once, and reads the API server (not the cache) while refused", async () => {
    const streakLog = captureLog();
    const streakMetrics = new Metrics();
    const refused: SecretRef = { namespace: "team-d", name: "refused" };
    kube.apply(toKubernetesSecret(refused, awsFlat()));
    const s = createKubernetesSecretSource(kubeConfigFor(kube, kube.adminToken), { cacheSize: 10 }, { logger: streakLog.logger, telemetry: streakMetrics });
    await s.resolve({ ref: refused });
    const reads = () => kube.counters.get("get secrets", "ok");
    kube.faults.set({ denyRate: 1, denyStatus: 403, operations: ["get secrets"] });
    try {
      // The first refused read is a forced one; the retries after it must not be answered from the cache.
      expect(await failureOf(streakLog, s.resolve({ ref: refused, fresh: true }))).toBeInstanceOf(BrokerNotAuthorizedError);
      for (let i = 0; i < 4; i++) expect(await failureOf(streakLog, s.resolve({ ref: refused }))).toBeInstanceOf(BrokerNotAuthorizedError);
      kube.faults.set({ denyStatus: 401 });
      expect(await failureOf(streakLog, s.resolve({ ref: refused }))).toBeInstanceOf(BrokerNotAuthorizedError);
    } finally {
      kube.faults.reset();
    }
    const okBefore = reads();
    await expect(s.resolve({ ref: refused })).resolves.toMatchObject({ source: "kubernetes" });
    expect(reads()).toBe(okBefore + 1);

    const lines = streakLog.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const warns = lines.filter((l) => l["level"] === "warn");
    expect(warns).toHaveLength(1);
    expect(warns[0]).toMatchObject({ dependency: "kubernetes", operation: "get secret", subject: "team-d/refused", status: 403 });
    expect(String(warns[0]!["fix"])).toContain("deploy/kustomize/base/rbac.yaml");
    const ends = lines.filter((l) => l["level"] === "info" && String(l["msg"]).includes("authorizes the broker again"));
    expect(ends).toHaveLength(1);
    expect(ends[0]).toMatchObject({ dependency: "kubernetes", refusals: 6 });
    expect(await streakMetrics.render()).toMatch(/credbroker_broker_not_authorized_streaks_total\{dependency="kubernetes"\} 1/);
    expectNoValues(streakLog, ISSUED_VALUES);
  });

  it("classifies another 4xx as InternalError naming the status and the setting, a 404 as SecretNotFound", () => {
    for (const status of [400, 405, 409, 422]) {
      const err = classifyKubernetesError(new ApiException(status, "Bad Request", { message: "token-in-body sekret" }, {}), "team-a/x");
      expect(err.constructor).toBe(CredbrokerError);
      expect(err).toMatchObject({ reason: "InternalError", retryable: true });
      expect(err.message).toContain(`HTTP ${status}`);
      expect(err.message).toContain("kubernetes.kubeconfig");
      expect(err.message).not.toContain("sekret");
    }
    expect(classifyKubernetesError(new ApiException(404, "Not Found", {}, {}), "team-a/x")).toBeInstanceOf(SecretNotFoundError);
    for (const status of [401, 403]) expect(classifyKubernetesError(new ApiException(status, "no", {}, {}), "team-a/x")).toBeInstanceOf(BrokerNotAuthorizedError);
    for (const status of [429, 500, 503]) expect(classifyKubernetesError(new ApiException(status, "no", {}, {}), "team-a/x")).toBeInstanceOf(SecretSourceUnavailableError);
  });

  it("maps an API server outage to SecretSourceUnavailable and recovers when it returns", async () => {
    kube.faults.set({ outage: true });
    try {
      const err = await failureOf(log, source.resolve({ ref, fresh: true }));
      expect(err).toBeInstanceOf(SecretSourceUnavailableError);
      expect((err as SecretSourceUnavailableError).retryable).toBe(true);
    } finally {
      kube.faults.reset();
    }
    await expect(source.resolve({ ref, fresh: true })).resolves.toMatchObject({ source: "kubernetes" });
  });

  it("maps 5xx to SecretSourceUnavailable", async () => {
    kube.faults.set({ errorRate: 1 });
    try {
      expect(await failureOf(log, source.resolve({ ref, fresh: true }))).toBeInstanceOf(SecretSourceUnavailableError);
    } finally {
      kube.faults.reset();
    }
  });

  it("times out a hanging API server as SecretSourceUnavailable", async () => {
    const slow = createKubernetesSecretSource(kubeConfigFor(kube, kube.adminToken), { cacheSize: 10, requestTimeoutMs: 100 }, { logger: log.logger, telemetry: new Metrics() });
    kube.faults.set({ latencyMs: 1000, operations: ["get secrets"] });
    try {
      const err = await failureOf(log, slow.resolve({ ref }));
      expect(err).toBeInstanceOf(SecretSourceUnavailableError);
      expect((err as Error).message).toContain("timed out");
    } finally {
      kube.faults.reset();
    }
  });

  it("writes no secret value into errors or logs", async () => {
    const bad: SecretRef = { namespace: "team-c", name: "broken" };
    // Gloo's legacy format holding a secret key but no access key: the error must name the key, not show the value.
    const f = awsFlat();
    const value = f.format === "awsFlat" ? f.secretAccessKey : "";
    kube.apply({ apiVersion: "v1", kind: "Secret", metadata: { name: bad.name, namespace: bad.namespace }, data: { aws: Buffer.from(`secretKey: ${value}\n`).toString("base64") } });
    const err = await failureOf(log, source.resolve({ ref: bad }));
    expect((err as Error).message).toContain("aws.accessKey");
    expect(log.lines.length).toBeGreaterThan(0);
    expectNoValues(log, ISSUED_VALUES);
  });
});
