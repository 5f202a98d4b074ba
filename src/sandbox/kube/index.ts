// The Kubernetes API emulator: wires store, objects, watches, tokens and RBAC behind the common listener, plus in-process seeding controls.
import { randomBytes } from "node:crypto";
import { parseAllDocuments } from "yaml";
import { isObject, type JsonObject } from "../../model/fields.js";
import { CallCounters } from "../common/counters.js";
import { FaultInjector } from "../common/faults.js";
import { listen, sendJson, type SandboxServer } from "../common/http-server.js";
import { createHandler, type AuditEvent } from "./handlers.js";
import { failureStatus } from "./status.js";
import { writeKubeconfigFile, renderKubeconfig, type KubeconfigOptions } from "./kubeconfig.js";
import { metaOf, ObjectApi } from "./objects.js";
import { RbacEvaluator } from "./rbac.js";
import { builtInResourceTypes, ResourceRegistry, resourceKey, type ResourceType } from "./resources.js";
import { kubeOperationNames } from "./routes.js";
import { ObjectStore } from "./store.js";
import { createSelfSignedServingCertificate } from "../common/certificates.js";
import { TokenAuthority, type IssueOptions, type UserInfo } from "./tokens.js";
import { upstreamSchema } from "./upstream-schema.js";
import { WatchHub } from "./watch.js";

export { KubeStatusError } from "./status.js";
export type { AuditEvent } from "./handlers.js";
export type { UserInfo } from "./tokens.js";

export interface GroupVersionResource {
  group: string;
  version: string;
  resource: string;
}

export const UPSTREAMS: GroupVersionResource = { group: "gloo.solo.io", version: "v1", resource: "upstreams" };
export const SECRETS: GroupVersionResource = { group: "", version: "v1", resource: "secrets" };
export const NAMESPACES: GroupVersionResource = { group: "", version: "v1", resource: "namespaces" };
export const LEASES: GroupVersionResource = { group: "coordination.k8s.io", version: "v1", resource: "leases" };
export const EVENTS: GroupVersionResource = { group: "", version: "v1", resource: "events" };

export interface KubeEmulatorOptions {
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** RBAC is enforced unless `enforce: false`. */
  rbac?: { enforce: boolean };
  /** Changes kept for watches; a watch from an older resourceVersion gets 410 Expired. Default 10,000. */
  historyLimit?: number;
  /** Interval of BOOKMARK events on watches that allow them, in milliseconds. Default 60,000, as kube-apiserver's cacher. */
  bookmarkIntervalMs?: number;
  /** Fixed admin token; a random one by default. */
  adminToken?: string;
  /** Clock in epoch milliseconds, for token expiry and timestamps. */
  nowMs?: () => number;
  /** Audiences the API accepts in service-account tokens. */
  apiAudiences?: string[];
  /**
   * Serve HTTPS with a self-signed certificate (in `caPem` and in written kubeconfigs). Default true: kubectl
   * sends bearer tokens only over TLS and client-node 2 refuses plain HTTP unless TLS verification is
   * skipped (which kubeconfigs for `tls: false` therefore say).
   */
  tls?: boolean;
  /** Used as given (its operation names unchecked unless it was built with them); by default one that knows kubeOperationNames(). */
  faults?: FaultInjector;
  /** Randomness for fault decisions of the default injector (deterministic tests). */
  random?: () => number;
  counters?: CallCounters;
}

export interface KubeEmulator extends SandboxServer {
  /** Bearer token of a `system:masters` user (cluster-admin). */
  readonly adminToken: string;
  /** The certificate to trust when `tls` is on. */
  readonly caPem: string | undefined;
  /** API requests served (admin routes excluded). */
  readonly requestCount: number;
  /**
   * Holds every write (patch, update) to one object for `ms` before serving it, as a hung
   * admission webhook would; a request whose `timeout` runs out first answers 504 unapplied.
   * Returns a function that ends the hold.
   */
  holdWrites(namespace: string, name: string, ms: number): () => void;
  /** Resource requests answered so far (the newest AUDIT_LIMIT), in the real server's audit-event shape. */
  auditEvents(): AuditEvent[];
  /** The current global resourceVersion. */
  readonly resourceVersion: string;
  /** Create-or-replace, for seeding and tests; creates a missing namespace. Throws KubeStatusError (400/422) on a bad object. */
  apply(obj: JsonObject): JsonObject;
  /** `apply` for many objects (fleet seeding); linear in the number of objects. */
  applyMany(objs: Iterable<JsonObject>): number;
  /** A copy of the stored object, or undefined. */
  get(gvr: GroupVersionResource, namespace: string, name: string): JsonObject | undefined;
  /** Copies of the stored objects of a type, optionally in one namespace, in key order. */
  list(gvr: GroupVersionResource, namespace?: string): JsonObject[];
  /**
   * Calls `visit` with each stored object of a type, in key order, without copying: for a harness
   * that reads a large store often (copying 40,000 upstreams every two seconds stalled the
   * emulator's own answers). The objects are the store's: never change one.
   */
  visit(gvr: GroupVersionResource, visit: (obj: Readonly<JsonObject>) => void): void;
  /** Deletes (watchers see DELETED); false when there was nothing to delete. */
  delete(gvr: GroupVersionResource, namespace: string, name: string): boolean;
  /** A signed service-account JWT; creates the namespace and ServiceAccount when missing. */
  issueServiceAccountToken(namespace: string, name: string, options?: IssueOptions): string;
  /** Registers a static bearer token for a user (groups gain `system:authenticated`). */
  addStaticToken(token: string, user: { username: string; groups: string[]; uid?: string }): void;
  /** Applies RBAC manifests (YAML text, possibly multi-document, or objects); returns what was stored. */
  loadRbac(source: string | JsonObject[]): JsonObject[];
  kubeconfig(options: KubeconfigOptions): string;
  writeKubeconfig(path: string, options: KubeconfigOptions): Promise<void>;
}

/** Audit events kept in memory: enough for a test's fleet, bounded for a long-running demo. */
const AUDIT_LIMIT = 50_000;

const DEFAULT_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"];

/** The bootstrap roles a real cluster has that setups commonly bind to (Vault's reviewer binds system:auth-delegator). */
function bootstrapRbac(): JsonObject[] {
  const rbacV1 = "rbac.authorization.k8s.io/v1";
  return [
    { apiVersion: rbacV1, kind: "ClusterRole", metadata: { name: "cluster-admin" }, rules: [{ apiGroups: ["*"], resources: ["*"], verbs: ["*"] }, { nonResourceURLs: ["*"], verbs: ["*"] }] },
    {
      apiVersion: rbacV1,
      kind: "ClusterRoleBinding",
      metadata: { name: "cluster-admin" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "system:masters" }],
    },
    {
      apiVersion: rbacV1,
      kind: "ClusterRole",
      metadata: { name: "system:auth-delegator" },
      rules: [
        { apiGroups: ["authentication.k8s.io"], resources: ["tokenreviews"], verbs: ["create"] },
        { apiGroups: ["authorization.k8s.io"], resources: ["subjectaccessreviews"], verbs: ["create"] },
      ],
    },
  ];
}

function typeOf(registry: ResourceRegistry, gvr: GroupVersionResource): ResourceType {
  const t = registry.find(gvr.group, gvr.version, gvr.resource);
  if (!t) throw new Error(`the emulator does not serve ${gvr.group}/${gvr.version}/${gvr.resource}`);
  return t;
}

/** Starts the emulator on loopback (free port by default). I/O: listens; close() ends watches and connections. */
export async function createKubeEmulator(options: KubeEmulatorOptions = {}): Promise<KubeEmulator> {
  const registry = new ResourceRegistry(builtInResourceTypes());
  const faults = options.faults ?? new FaultInjector(options.random, kubeOperationNames(registry));
  // Token lifetimes, timestamps and the Date header follow the emulator's clock, fault offset included.
  const nowMs = faults.offsetClock(options.nowMs ?? Date.now);
  const counters = options.counters ?? new CallCounters();
  const store = new ObjectStore(options.historyLimit ?? 10_000);
  const objects = new ObjectApi(store, registry, upstreamSchema(), nowMs);
  const saType = typeOf(registry, { group: "", version: "v1", resource: "serviceaccounts" });
  const tokens = new TokenAuthority("https://kubernetes.default.svc.cluster.local", options.apiAudiences ?? ["https://kubernetes.default.svc.cluster.local"], nowMs, (ns, name) => {
    const uid = objects.find(saType, ns, name) ? metaOf(objects.get(saType, ns, name))["uid"] : undefined;
    return typeof uid === "string" ? uid : undefined;
  });
  const rbacTypes = {
    clusterroles: typeOf(registry, { group: "rbac.authorization.k8s.io", version: "v1", resource: "clusterroles" }),
    clusterrolebindings: typeOf(registry, { group: "rbac.authorization.k8s.io", version: "v1", resource: "clusterrolebindings" }),
    roles: typeOf(registry, { group: "rbac.authorization.k8s.io", version: "v1", resource: "roles" }),
    rolebindings: typeOf(registry, { group: "rbac.authorization.k8s.io", version: "v1", resource: "rolebindings" }),
  };
  const rbac = new RbacEvaluator({
    list: (resource, namespace) => store.scan(resourceKey(rbacTypes[resource]), namespace, undefined),
    get: (resource, namespace, name) => objects.find(rbacTypes[resource], namespace, name),
  });
  const adminToken = options.adminToken ?? randomBytes(24).toString("base64url");
  tokens.addStaticToken(adminToken, { username: "sandbox-admin", groups: ["system:masters"] });
  const watches = new WatchHub(store, { bookmarkIntervalMs: options.bookmarkIntervalMs ?? 60_000, isDown: () => faults.current.outage, outagePollMs: 200 });
  for (const ns of DEFAULT_NAMESPACES) objects.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
  for (const obj of bootstrapRbac()) objects.apply(obj);

  let requests = 0;
  let address = "";
  const audit: AuditEvent[] = [];
  const held = new Map<string, number>();
  const handler = createHandler({
    objects,
    watches,
    tokens,
    rbac,
    enforceRbac: options.rbac?.enforce ?? true,
    faults,
    counters,
    serverAddress: () => address,
    onRequest: () => requests++,
    heldWriteMs: (key) => held.get(key) ?? 0,
    nowMs,
    onAudit: (event) => {
      if (audit.push(event) > AUDIT_LIMIT) audit.splice(0, audit.length - AUDIT_LIMIT);
    },
  });
  const host = options.host ?? "127.0.0.1";
  const serving = options.tls !== false ? createSelfSignedServingCertificate("credbroker-sandbox-kube", [host], nowMs()) : undefined;
  const tls = serving ? { key: serving.privateKeyPem, cert: serving.certificatePem } : undefined;
  const server = await listen(handler, {
    host,
    port: options.port ?? 0,
    // The real API server's MaxRequestBodyBytes, answered as its Status.
    maxBodyBytes: 3 * 1024 * 1024,
    answerTooLarge: (res, limit) => sendJson(res, 413, failureStatus(413, "RequestEntityTooLarge", `Request entity too large: limit is ${limit}`)),
    ...(tls ? { tls } : {}),
  });
  address = `${server.host}:${server.port}`;
  const endpoint = { server: server.url, ...(tls ? { caPem: tls.cert } : {}) };

  const apply = (obj: JsonObject): JsonObject => structuredClone(objects.apply(obj));
  return {
    url: server.url,
    host: server.host,
    port: server.port,
    faults,
    counters,
    adminToken,
    caPem: tls?.cert,
    get requestCount() {
      return requests;
    },
    auditEvents: () => audit.map((e) => structuredClone(e)),
    holdWrites: (namespace, name, ms) => {
      const key = `${namespace}/${name}`;
      held.set(key, ms);
      return () => held.delete(key);
    },
    get connectionsAccepted() {
      return server.connectionsAccepted;
    },
    get resourceVersion() {
      return String(store.resourceVersion);
    },
    close: async () => {
      watches.closeAll();
      await server.close();
    },
    apply,
    applyMany: (objs) => {
      let n = 0;
      for (const obj of objs) {
        objects.apply(obj);
        n++;
      }
      return n;
    },
    get: (gvr, namespace, name) => {
      const found = objects.find(typeOf(registry, gvr), namespace, name);
      return found === undefined ? undefined : structuredClone(found);
    },
    list: (gvr, namespace) => {
      const t = typeOf(registry, gvr);
      return [...store.scan(resourceKey(t), t.namespaced ? namespace : undefined, undefined)].map((o) => structuredClone(o));
    },
    visit: (gvr, visit) => {
      for (const o of store.scan(resourceKey(typeOf(registry, gvr)), undefined, undefined)) visit(o);
    },
    delete: (gvr, namespace, name) => {
      const t = typeOf(registry, gvr);
      if (!objects.find(t, namespace, name)) return false;
      objects.remove(t, namespace, name);
      return true;
    },
    issueServiceAccountToken: (namespace, name, issue = {}) => {
      const sa = objects.find(saType, namespace, name) ?? objects.apply({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name, namespace } });
      return tokens.issue(namespace, name, String(metaOf(sa)["uid"]), issue);
    },
    addStaticToken: (token: string, user: Omit<UserInfo, "uid"> & { uid?: string }) => tokens.addStaticToken(token, user),
    loadRbac: (source) => {
      const docs = typeof source === "string" ? parseAllDocuments(source).map((d) => d.toJS() as unknown) : source;
      return docs.filter(isObject).map(apply);
    },
    kubeconfig: (kc) => renderKubeconfig(endpoint, kc),
    writeKubeconfig: (path, kc) => writeKubeconfigFile(path, endpoint, kc),
  };
}
