// One harness, two backends: a Kubernetes API (the sandbox's emulator or a real kube-apiserver) plus the sandbox's clouds, driven the same way.
import { readFile, writeFile } from "node:fs/promises";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { KubeConfig, KubernetesObjectApi, ApiException, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubernetesObject } from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import type { Config } from "../../src/config.js";
import type { JsonObject } from "../../src/model/fields.js";
import { startSandbox, type Sandbox, type SandboxSeed } from "../../src/sandbox/index.js";
import { createCertificateAuthority, issueServerCertificate } from "../../src/sandbox/common/certificates.js";
import type { AuditEvent } from "../../src/sandbox/kube/index.js";
import { startControlPlane, type ControlPlane } from "../conformance/servers/control-plane.js";
import { sandboxConfig, sandboxFlags } from "./broker-harness.js";

export type Backend = "sandbox" | "real";

/** The broker's identity in both backends: deploy/kustomize/base/rbac.yaml binds it. */
export const BROKER_USER = "system:serviceaccount:gloo-system:credbroker";

const ROOT = new URL("../../", import.meta.url).pathname;
const GLOO_CRD = join(ROOT, "../shared/gloo/upstream-crd.yaml");
const UPSTREAM = { group: "gloo.solo.io", version: "v1", plural: "upstreams" };
const MERGE_PATCH = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

export interface TestCluster {
  readonly backend: Backend;
  /** Always started: its AWS, Azure and Vault emulators are the clouds of both backends. */
  readonly sandbox: Sandbox;
  /** A cluster-admin client. */
  readonly admin: KubeConfig;
  /** The real control plane, for the scenarios that restart it; undefined on the sandbox. */
  readonly controlPlane: ControlPlane | undefined;
  /** Broker settings pointing at this cluster (as the broker's service account) and the sandbox's clouds. */
  brokerConfig(extra?: Record<string, unknown>): Config;
  /** The same settings as a setting path → value map (for a broker in its own process). */
  brokerFlags(extra?: Record<string, unknown>): Record<string, unknown>;
  /** Creates or replaces objects as cluster-admin, in order. */
  apply(objects: readonly JsonObject[]): Promise<void>;
  /** Seeds the clouds (and, through `apply`, the Kubernetes objects) of a sandbox seed. */
  seed(seed: SandboxSeed): Promise<void>;
  upstream(namespace: string, name: string): Promise<JsonObject>;
  upstreams(namespace?: string): Promise<JsonObject[]>;
  /** A JSON merge patch as cluster-admin (a person with kubectl). */
  patchUpstream(namespace: string, name: string, patch: JsonObject): Promise<JsonObject>;
  /**
   * Holds every write to one upstream for `ms` (the real server: a validating admission webhook
   * that answers late; the sandbox: its write hold). Resolves once the hold is in force; the
   * returned function ends it.
   */
  hangWrites(namespace: string, name: string, ms: number): Promise<() => Promise<void>>;
  /** Every resource request the API server has audited so far. */
  audit(): AuditEvent[];
  close(): Promise<void>;
}

/** Writes by the broker's service account among `events`, leases (renewals) left out unless asked. */
export function brokerWrites(events: readonly AuditEvent[], options: { leases?: boolean } = {}): AuditEvent[] {
  return events.filter(
    (e) =>
      e.user.username === BROKER_USER &&
      ["create", "update", "patch", "delete"].includes(e.verb) &&
      e.responseStatus.code < 300 &&
      (options.leases === true || e.objectRef.resource !== "leases"),
  );
}

function isAlreadyExists(err: unknown): boolean {
  return err instanceof ApiException && err.code === 409;
}

async function applyObjects(kc: KubeConfig, objects: readonly JsonObject[]): Promise<void> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  for (const obj of objects) {
    const spec = structuredClone(obj) as KubernetesObject;
    try {
      await api.create(spec);
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      const current = await api.read(spec as KubernetesObject & { metadata: { name: string } });
      spec.metadata = { ...spec.metadata, resourceVersion: current.metadata?.resourceVersion ?? "" };
      await api.replace(spec);
    }
  }
}

function clusterApi(kc: KubeConfig): Pick<TestCluster, "upstream" | "upstreams" | "patchUpstream"> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  return {
    upstream: async (namespace, name) => (await custom.getNamespacedCustomObject({ ...UPSTREAM, namespace, name })) as JsonObject,
    upstreams: async (namespace) => {
      const list = (namespace === undefined ? await custom.listClusterCustomObject(UPSTREAM) : await custom.listNamespacedCustomObject({ ...UPSTREAM, namespace })) as { items: JsonObject[] };
      return list.items;
    },
    patchUpstream: async (namespace, name, patch) => (await custom.patchNamespacedCustomObject({ ...UPSTREAM, namespace, name, body: patch }, MERGE_PATCH)) as JsonObject,
  };
}

/** The Kubernetes part of a sandbox seed: Namespaces first, so the real server accepts what lives in them. */
function kubernetesObjects(seed: SandboxSeed): JsonObject[] {
  const objects = seed.kubernetes?.objects ?? [];
  return [...objects.filter((o) => o.kind === "Namespace"), ...objects.filter((o) => o.kind !== "Namespace")];
}

function cloudsOnly(seed: SandboxSeed): SandboxSeed {
  const { kubernetes: _kubernetes, ...clouds } = seed;
  return clouds;
}

/** The sandbox: its own Kubernetes emulator, RBAC from deploy/ enforced. */
export async function startSandboxCluster(): Promise<TestCluster> {
  const sandbox = await startSandbox({ seed: {} });
  const admin = new KubeConfig();
  admin.loadFromString(sandbox.kube.kubeconfig({ token: sandbox.kube.adminToken }));
  const cluster: TestCluster = {
    backend: "sandbox",
    sandbox,
    admin,
    controlPlane: undefined,
    brokerConfig: (extra = {}) => sandboxConfig(sandbox, { "secrets.sources": "kubernetes", ...extra }),
    brokerFlags: (extra = {}) => sandboxFlags(sandbox, { "secrets.sources": "kubernetes", ...extra }),
    apply: (objects) => applyObjects(admin, objects),
    seed: async (seed) => {
      sandbox.seed(cloudsOnly(seed));
      await applyObjects(admin, kubernetesObjects(seed));
    },
    ...clusterApi(admin),
    hangWrites: (namespace, name, ms) => {
      const release = sandbox.kube.holdWrites(namespace, name, ms);
      return Promise.resolve(() => Promise.resolve(release()));
    },
    audit: () => sandbox.kube.auditEvents(),
    close: () => sandbox.close(),
  };
  return cluster;
}

/**
 * A real kube-apiserver and etcd (built by test/conformance/servers/build.sh), with Gloo's own
 * Upstream CRD from ../shared/gloo and the RBAC of deploy/kustomize/base; the broker runs as its service
 * account with a TokenRequest token. Clouds are the sandbox's emulators.
 */
export async function startRealCluster(): Promise<TestCluster> {
  const controlPlane = await startControlPlane();
  let sandbox: Sandbox | undefined;
  try {
    sandbox = await startSandbox({ seed: {} });
    const admin = new KubeConfig();
    admin.loadFromFile(controlPlane.adminKubeconfig);
    // Not through client-node: its typed CRD model drops `x-kubernetes-preserve-unknown-fields`
    // (it expects the camel-case property name), which would prune every status entry.
    for (const crd of parseYaml(await readFile(GLOO_CRD, "utf8"))) {
      const answer = await controlPlane.request({ method: "POST", path: "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", body: crd });
      if (answer.status !== 201) throw new Error(`creating Gloo's Upstream CRD answered HTTP ${answer.status}`);
    }
    await waitForUpstreamsServed(admin);
    await applyObjects(admin, [{ apiVersion: "v1", kind: "Namespace", metadata: { name: "gloo-system" } }]);
    await applyObjects(admin, parseYaml(await readFile(join(ROOT, "deploy/kustomize/base/rbac.yaml"), "utf8")));
    const token = await controlPlane.serviceAccountToken("gloo-system", "credbroker", { expirationSeconds: 24 * 3600 });
    const brokerKubeconfig = join(sandbox.info.brokerKubeconfig.replace(/broker\.kubeconfig$/, ""), "real-broker.kubeconfig");
    await writeFile(brokerKubeconfig, controlPlane.kubeconfigForToken(token), { mode: 0o600 });
    const box = sandbox;
    return {
      backend: "real",
      sandbox: box,
      admin,
      controlPlane,
      brokerConfig: (extra = {}) => sandboxConfig(box, { "kubernetes.kubeconfig": brokerKubeconfig, "secrets.sources": "kubernetes", ...extra }),
      brokerFlags: (extra = {}) => sandboxFlags(box, { "kubernetes.kubeconfig": brokerKubeconfig, "secrets.sources": "kubernetes", ...extra }),
      apply: (objects) => applyObjects(admin, objects),
      seed: async (seed) => {
        box.seed(cloudsOnly(seed));
        await applyObjects(admin, kubernetesObjects(seed));
      },
      ...clusterApi(admin),
      hangWrites: (namespace, name, ms) => startHoldingWebhook(controlPlane, admin, namespace, name, ms),
      audit: () => controlPlane.readAudit(),
      close: async () => {
        await box.close();
        await controlPlane.stop();
      },
    };
  } catch (err) {
    await sandbox?.close();
    await controlPlane.stop();
    throw err;
  }
}

function parseYaml(text: string): JsonObject[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as unknown)
    .filter((d): d is JsonObject => typeof d === "object" && d !== null);
}

/** A new CRD is served a moment after it is created: wait until its list answers. */
async function waitForUpstreamsServed(kc: KubeConfig): Promise<void> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await custom.listClusterCustomObject(UPSTREAM);
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error("the Upstream CRD was not served within 30 s", { cause: err });
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

export function startCluster(backend: Backend): Promise<TestCluster> {
  return backend === "sandbox" ? startSandboxCluster() : startRealCluster();
}

/**
 * A validating admission webhook on loopback that answers reviews of `namespace/name` only after
 * `ms`, so the real API server holds those writes as a slow webhook would. Resolves once the API
 * server is seen calling it.
 */
async function startHoldingWebhook(controlPlane: ControlPlane, admin: KubeConfig, namespace: string, name: string, ms: number): Promise<() => Promise<void>> {
  const ca = createCertificateAuthority("credbroker conformance webhook CA");
  const serving = issueServerCertificate(ca, ["127.0.0.1"]);
  const seen = new Set<string>();
  const timers = new Set<NodeJS.Timeout>();
  const server = createHttpsServer({ key: serving.privateKeyPem, cert: serving.certificatePem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("error", () => undefined);
    res.on("error", () => undefined);
    req.on("end", () => {
      const review = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { request?: { uid?: string; namespace?: string; name?: string } };
      const key = `${review.request?.namespace ?? ""}/${review.request?.name ?? ""}`;
      seen.add(key);
      const answer = (): void => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response: { uid: review.request?.uid ?? "", allowed: true } }));
      };
      if (key !== `${namespace}/${name}`) return answer();
      const timer = setTimeout(() => {
        timers.delete(timer);
        answer();
      }, ms);
      timers.add(timer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const config = {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingWebhookConfiguration",
    metadata: { name: "credbroker-test-hold" },
    webhooks: [
      {
        name: "hold.credbroker.test",
        clientConfig: { url: `https://127.0.0.1:${port}/`, caBundle: Buffer.from(ca.certificatePem).toString("base64") },
        rules: [{ apiGroups: ["gloo.solo.io"], apiVersions: ["v1"], operations: ["UPDATE"], resources: ["upstreams"] }],
        admissionReviewVersions: ["v1"],
        sideEffects: "None",
        failurePolicy: "Fail",
        timeoutSeconds: 30,
      },
    ],
  };
  const created = await controlPlane.request({ method: "POST", path: "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations", body: config });
  if (created.status !== 201) throw new Error(`creating the holding webhook answered HTTP ${created.status}`);
  // The API server picks a new webhook up a moment later: touch a probe upstream until it calls.
  const probe = { apiVersion: "gloo.solo.io/v1", kind: "Upstream", metadata: { namespace, name: "webhook-probe" }, spec: { static: { hosts: [{ addr: "127.0.0.1", port: 1 }] } } };
  await applyObjects(admin, [probe]);
  const api = clusterApi(admin);
  const deadline = Date.now() + 30_000;
  while (!seen.has(`${namespace}/webhook-probe`)) {
    if (Date.now() > deadline) throw new Error("the API server never called the holding webhook");
    await api.patchUpstream(namespace, "webhook-probe", { metadata: { annotations: { probe: String(Date.now()) } } });
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return async () => {
    await controlPlane.request({ method: "DELETE", path: "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/credbroker-test-hold" });
    for (const t of timers) clearTimeout(t);
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  };
}
