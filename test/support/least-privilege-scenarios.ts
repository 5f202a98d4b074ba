// Least privilege, written once for both backends: every grant of deploy/kustomize/base/rbac.yaml has a broker scenario that breaks without it, and the broker's audited calls are exactly the grants.
import { writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { AuthorizationV1Api, CoordinationV1Api, CoreV1Api, CustomObjectsApi } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { checkCommand, type CheckReport } from "../../src/commands/check.js";
import { isObject, type JsonObject } from "../../src/model/fields.js";
import { readOwnStatus } from "../../src/model/status.js";
import { memberLeaseName } from "../../src/runtime/leader/membership.js";
import type { AuditEvent } from "../../src/sandbox/kube/index.js";
import { awsKeySecret } from "../../src/sandbox/fleet.js";
import { fleetKeys, generateFleet } from "../../src/sandbox/index.js";
import { realServersAvailable } from "../conformance/servers/control-plane.js";
import { startTestBroker, type HarnessBroker } from "./broker-harness.js";
import { captureStream } from "./capture.js";
import { BROKER_USER, startCluster, type Backend, type TestCluster } from "./cluster.js";

const RBAC_FILE = new URL("../../deploy/kustomize/base/rbac.yaml", import.meta.url);
/** How long a probe waits for the feature it needs; a granted run ends as soon as it is seen. */
const WINDOW_MS = 8_000;
const BROKER_GROUPS = ["system:serviceaccounts", "system:serviceaccounts:gloo-system", "system:authenticated"];

/** One verb on one resource, as one rule of the ClusterRole (cluster-wide) or the Role (its namespace) grants it. */
export interface Grant {
  apiGroup: string;
  resource: string;
  verb: string;
  kind: "ClusterRole" | "Role";
  name: string;
  namespace?: string;
}

/** `leases.coordination.k8s.io:get` (the core group has no suffix); the table's key. Pure. */
export function grantKey(g: Pick<Grant, "apiGroup" | "resource" | "verb">): string {
  return `${g.resource}${g.apiGroup === "" ? "" : `.${g.apiGroup}`}:${g.verb}`;
}

/** The objects of a YAML stream (rbac.yaml). Pure. */
export function parseYaml(text: string): JsonObject[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as unknown)
    .filter(isObject);
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

/** Every (group, resource, verb) the ClusterRoles and Roles of `objects` grant. Pure. */
export function grantsOf(objects: readonly JsonObject[]): Grant[] {
  const out: Grant[] = [];
  for (const o of objects) {
    if (o.kind !== "ClusterRole" && o.kind !== "Role") continue;
    const meta = isObject(o.metadata) ? o.metadata : {};
    const name = typeof meta.name === "string" ? meta.name : "";
    const namespace = typeof meta.namespace === "string" ? meta.namespace : undefined;
    for (const rule of Array.isArray(o.rules) ? o.rules.filter(isObject) : []) {
      for (const apiGroup of strings(rule.apiGroups))
        for (const resource of strings(rule.resources))
          for (const verb of strings(rule.verbs)) out.push({ apiGroup, resource, verb, kind: o.kind, name, ...(namespace !== undefined ? { namespace } : {}) });
    }
  }
  return out;
}

/** The role of `grant` with that one verb taken out of every rule naming its group and resource (a rule left without verbs is dropped). Pure. */
export function withoutGrant(role: JsonObject, grant: Grant): JsonObject {
  const rules = (Array.isArray(role.rules) ? role.rules.filter(isObject) : []).flatMap((rule) => {
    const hits = strings(rule.apiGroups).includes(grant.apiGroup) && strings(rule.resources).includes(grant.resource);
    if (!hits) return [rule];
    const verbs = strings(rule.verbs).filter((v) => v !== grant.verb);
    return verbs.length === 0 ? [] : [{ ...rule, verbs }];
  });
  const { resourceVersion: _rv, ...meta } = isObject(role.metadata) ? role.metadata : {};
  return { ...role, metadata: meta, rules };
}

/** The broker's resource requests among `events`, as grant keys. */
function brokerCalls(events: readonly AuditEvent[]): Array<{ key: string; namespace: string; code: number }> {
  return events
    .filter((e) => e.user.username === BROKER_USER)
    .map((e) => ({ key: grantKey({ apiGroup: e.objectRef.apiGroup, resource: e.objectRef.resource + (e.objectRef.subresource !== undefined && e.objectRef.subresource !== "" ? `/${e.objectRef.subresource}` : ""), verb: e.verb }), namespace: e.objectRef.namespace ?? "", code: e.responseStatus.code }));
}

interface ProbeContext {
  cluster: TestCluster;
  /** A namespace of this run alone, holding a Secret `creds` with working AWS keys. */
  ns: string;
  /** A lease name of this run alone. */
  lease: string;
  startBroker(extra?: Record<string, unknown>): Promise<HarnessBroker>;
}

/** What a probe saw: whether the feature worked, and a line saying what was observed. */
interface ProbeResult {
  worked: boolean;
  seen: string;
}

interface Probe {
  /** The user-visible feature the grant serves. */
  feature: string;
  /** How its absence shows. */
  whenDenied: string;
  run(ctx: ProbeContext): Promise<ProbeResult>;
}

async function within(probe: () => Promise<boolean>, timeoutMs = WINDOW_MS): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function awsUpstream(namespace: string, name: string, annotations: Record<string, string> = {}): JsonObject {
  return { apiVersion: "gloo.solo.io/v1", kind: "Upstream", metadata: { namespace, name, annotations }, spec: { aws: { region: "us-east-1", secretRef: { namespace, name: "creds" } } } };
}

async function stateOf(cluster: TestCluster, ns: string, name: string): Promise<string | undefined> {
  return readOwnStatus(await cluster.upstream(ns, name), "credbroker")?.state;
}

function lambdaCount(u: JsonObject): number {
  const aws = isObject(u.spec) && isObject(u.spec.aws) ? u.spec.aws : {};
  return Array.isArray(aws.lambdaFunctions) ? aws.lambdaFunctions.length : 0;
}

async function accepted(ctx: ProbeContext, name: string, timeoutMs = WINDOW_MS): Promise<boolean> {
  return within(async () => (await stateOf(ctx.cluster, ctx.ns, name)) === "Accepted", timeoutMs);
}

/** An upstream there from the start is Accepted: the broker listed, read its Secret, led, and wrote its status. */
const statusPublished: Probe = {
  feature: "an upstream gets its status",
  whenDenied: "no Accepted status",
  run: async (ctx) => {
    await ctx.cluster.apply([awsUpstream(ctx.ns, "present")]);
    await ctx.startBroker();
    const ok = await accepted(ctx, "present");
    return { worked: ok, seen: `state ${(await stateOf(ctx.cluster, ctx.ns, "present")) ?? "unpublished"}` };
  },
};

/** An upstream created after the broker synced is seen: the upstream watch. */
const newUpstreamSeen: Probe = {
  feature: "an upstream created later gets its status",
  whenDenied: "the later upstream stays without status",
  run: async (ctx) => {
    const broker = await ctx.startBroker();
    await within(() => Promise.resolve(broker.controller.ready()));
    await ctx.cluster.apply([awsUpstream(ctx.ns, "later")]);
    const ok = await accepted(ctx, "later");
    return { worked: ok, seen: `later: ${(await stateOf(ctx.cluster, ctx.ns, "later")) ?? "unpublished"}` };
  },
};

/** The Secret is rotated to another user's keys: the metadata watch (list, then watch) notices and the status names the new identity. */
const rotationNoticed: Probe = {
  feature: "a rotated Secret is re-verified at once",
  whenDenied: "the status keeps the old identity",
  run: async (ctx) => {
    await ctx.cluster.apply([awsUpstream(ctx.ns, "rotated")]);
    await ctx.startBroker();
    if (!(await accepted(ctx, "rotated"))) return { worked: false, seen: "never Accepted before the rotation" };
    await ctx.cluster.apply([awsKeySecret(ctx.ns, "creds", fleetKeys(1))]);
    const identity = async (): Promise<string> => JSON.stringify(readOwnStatus(await ctx.cluster.upstream(ctx.ns, "rotated"), "credbroker")?.details.identity ?? null);
    const ok = await within(async () => (await identity()).includes("fleet-user-1"));
    return { worked: ok, seen: `identity ${await identity()}` };
  },
};

/** A namespace labelled for discovery after the broker synced: its upstream gets functions (the namespace watch). */
const namespaceLabelWatched: Probe = {
  feature: "a namespace's discovery label set later takes effect",
  whenDenied: "no functions published",
  run: async (ctx) => {
    await ctx.cluster.apply([awsUpstream(ctx.ns, "labelled")]);
    await ctx.startBroker();
    if (!(await accepted(ctx, "labelled"))) return { worked: false, seen: "never Accepted before the label" };
    await ctx.cluster.apply([{ apiVersion: "v1", kind: "Namespace", metadata: { name: ctx.ns, labels: { "discovery.solo.io/function_discovery": "enabled" } } }]);
    const ok = await within(async () => lambdaCount(await ctx.cluster.upstream(ctx.ns, "labelled")) > 0);
    return { worked: ok, seen: `${lambdaCount(await ctx.cluster.upstream(ctx.ns, "labelled"))} functions` };
  },
};

/** A state transition is recorded as a core Event on the upstream. */
const eventRecorded: Probe = {
  feature: "a state change is recorded as an Event",
  whenDenied: "the upstream is Accepted but has no Event",
  run: async (ctx) => {
    await ctx.cluster.apply([awsUpstream(ctx.ns, "evented")]);
    await ctx.startBroker();
    if (!(await accepted(ctx, "evented"))) return { worked: false, seen: "never Accepted" };
    const core = ctx.cluster.admin.makeApiClient(CoreV1Api);
    const count = async (): Promise<number> => (await core.listNamespacedEvent({ namespace: ctx.ns })).items.filter((e) => e.involvedObject.name === "evented").length;
    const ok = await within(async () => (await count()) > 0, 3_000);
    return { worked: ok, seen: `${await count()} Events` };
  },
};

/** The leader keeps renewing its lease (a second renewal seen) and stays leader. */
const leaseRenewed: Probe = {
  feature: "the leader renews its lease and keeps leading",
  whenDenied: "the broker stops leading",
  run: async (ctx) => {
    const broker = await ctx.startBroker();
    if (!(await within(() => Promise.resolve(broker.controller.isLeader())))) return { worked: false, seen: "never led" };
    const leases = ctx.cluster.admin.makeApiClient(CoordinationV1Api);
    // Every renewal is a write, so the lease's resourceVersion moves with it.
    const version = async (): Promise<string> => (await leases.readNamespacedLease({ namespace: "gloo-system", name: ctx.lease })).metadata?.resourceVersion ?? "";
    const first = await version();
    const renewed = await within(async () => (await version()) !== first && broker.controller.isLeader(), 5_000);
    // A renewal refused shows once the renew deadline passes: leadership lost.
    const stillLeads = await within(() => Promise.resolve(!broker.controller.isLeader()), 4_000).then((lost) => !lost);
    return { worked: renewed && stillLeads, seen: `renewed ${String(renewed)}, leads ${String(stillLeads)}` };
  },
};

function shardHolders(ctx: ProbeContext): Promise<string[]> {
  const leases = ctx.cluster.admin.makeApiClient(CoordinationV1Api);
  return Promise.all([0, 1].map(async (i) => (await leases.readNamespacedLease({ namespace: "gloo-system", name: `${ctx.lease}-${i}` }).catch(() => undefined))?.spec?.holderIdentity ?? ""));
}

/** Two replicas over two shards lead one each: each counts the other's member lease (list). */
const shardsSpread: Probe = {
  feature: "two replicas split two shards",
  whenDenied: "the first replica keeps both shards",
  run: async (ctx) => {
    const shards = { "leader.shards": 2 };
    await ctx.startBroker({ ...shards, "leader.identity": "replica-a" });
    if (!(await within(async () => (await shardHolders(ctx)).every((h) => h === "replica-a")))) return { worked: false, seen: `holders ${(await shardHolders(ctx)).join(",")}` };
    await ctx.startBroker({ ...shards, "leader.identity": "replica-b" });
    const ok = await within(async () => new Set(await shardHolders(ctx)).size === 2 && !(await shardHolders(ctx)).includes(""), 12_000);
    return { worked: ok, seen: `holders ${(await shardHolders(ctx)).join(",")}` };
  },
};

/** A sharded replica stopping deletes its member lease, so the others count it gone at once. */
const memberLeaseDeleted: Probe = {
  feature: "a stopping replica removes its member lease",
  whenDenied: "the member lease stays behind",
  run: async (ctx) => {
    const broker = await ctx.startBroker({ "leader.shards": 2, "leader.identity": "leaving" });
    const leases = ctx.cluster.admin.makeApiClient(CoordinationV1Api);
    const name = memberLeaseName(ctx.lease, "leaving");
    const exists = async (): Promise<boolean> => (await leases.readNamespacedLease({ namespace: "gloo-system", name }).catch(() => undefined)) !== undefined;
    if (!(await within(async () => broker.controller.isLeader() && (await exists())))) return { worked: false, seen: "the member lease never appeared" };
    await broker.stop();
    const gone = !(await exists());
    return { worked: gone, seen: gone ? "member lease deleted" : "member lease left behind" };
  },
};

/** `credbroker check --namespace --name` with the broker's credentials reads the upstream. */
const checkReadsUpstream: Probe = {
  feature: "credbroker check reads an upstream from the cluster",
  whenDenied: "check exits 2 naming the refused get",
  run: async (ctx) => {
    await ctx.cluster.apply([awsUpstream(ctx.ns, "checked")]);
    const { code, report, err } = await runCheck(ctx, "checked");
    return { worked: code === 0 && report?.state === "Accepted", seen: `exit ${code}${err !== "" ? `: ${err.trim()}` : ""}` };
  },
};

/** check honours the namespace's discovery label, read with a namespace get. */
const checkReadsNamespace: Probe = {
  feature: "credbroker check honours the namespace's discovery label",
  whenDenied: "check discovers no functions",
  run: async (ctx) => {
    await ctx.cluster.apply([{ apiVersion: "v1", kind: "Namespace", metadata: { name: ctx.ns, labels: { "discovery.solo.io/function_discovery": "enabled" } } }, awsUpstream(ctx.ns, "checked")]);
    const { code, report } = await runCheck(ctx, "checked");
    const functions = report?.functions?.entries.length ?? 0;
    return { worked: code === 0 && functions > 0, seen: `exit ${code}, ${functions} functions` };
  },
};

async function runCheck(ctx: ProbeContext, name: string): Promise<{ code: number; report: CheckReport | undefined; err: string }> {
  const out = captureStream();
  const err = captureStream();
  let code: number;
  try {
    code = await checkCommand(ctx.cluster.brokerConfig({ "log.level": "silent" }), { namespace: ctx.ns, name, output: "json", discover: false, out: out.stream, err: err.stream });
  } catch (failure) {
    // The CLI prints a thrown error and exits 2 (src/cli.ts); the message is what the operator reads.
    return { code: 2, report: undefined, err: failure instanceof Error ? failure.message : String(failure) };
  }
  const text = out.text();
  return { code, report: text.trim() === "" ? undefined : (JSON.parse(text) as CheckReport), err: err.text() };
}

/** An API caller with a service-account token lists upstreams: TokenReview, then SubjectAccessReview. */
const httpCallAuthenticated: Probe = {
  feature: "an authenticated HTTP API call is answered",
  whenDenied: "the API answers 503",
  run: async (ctx) => {
    const caller = { namespace: ctx.ns, name: "api-caller" };
    await ctx.cluster.apply([
      { apiVersion: "v1", kind: "ServiceAccount", metadata: caller },
      { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: { namespace: ctx.ns, name: "api-caller" }, rules: [{ apiGroups: ["gloo.solo.io"], resources: ["upstreams"], verbs: ["list"] }] },
      { apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: { namespace: ctx.ns, name: "api-caller" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "api-caller" }, subjects: [{ kind: "ServiceAccount", ...caller }] },
    ]);
    const plane = ctx.cluster.controlPlane;
    const token = plane === undefined ? ctx.cluster.sandbox.kube.issueServiceAccountToken(ctx.ns, caller.name) : await plane.serviceAccountToken(ctx.ns, caller.name);
    const broker = await ctx.startBroker({ "http.auth": "kubernetes", "http.allowAnonymousOnLoopback": false, "http.authCacheMs": 0 });
    let status = 0;
    // The caller's own RoleBinding may take a moment on the real server: a 403 is retried, a 503 is the answer.
    await within(async () => {
      status = (await fetch(`${broker.url}/v1/upstreams?namespace=${ctx.ns}`, { headers: { authorization: `Bearer ${token}` } })).status;
      return status !== 403;
    });
    return { worked: status === 200, seen: `HTTP ${status}` };
  },
};

/** Each grant of rbac.yaml → the probe that needs it. A grant missing here fails the file. */
export const PROBES: Readonly<Record<string, Probe>> = {
  "upstreams.gloo.solo.io:get": checkReadsUpstream,
  "upstreams.gloo.solo.io:list": statusPublished,
  "upstreams.gloo.solo.io:watch": newUpstreamSeen,
  "upstreams.gloo.solo.io:patch": statusPublished,
  "namespaces:get": checkReadsNamespace,
  "namespaces:list": statusPublished,
  "namespaces:watch": namespaceLabelWatched,
  "secrets:get": statusPublished,
  "secrets:list": rotationNoticed,
  "secrets:watch": rotationNoticed,
  "events:create": eventRecorded,
  "tokenreviews.authentication.k8s.io:create": httpCallAuthenticated,
  "subjectaccessreviews.authorization.k8s.io:create": httpCallAuthenticated,
  "leases.coordination.k8s.io:get": statusPublished,
  "leases.coordination.k8s.io:create": statusPublished,
  "leases.coordination.k8s.io:update": leaseRenewed,
  "leases.coordination.k8s.io:list": shardsSpread,
  "leases.coordination.k8s.io:delete": memberLeaseDeleted,
};

/** Registers the least-privilege scenarios against one backend; on "real" they are skipped when the servers are not built. */
export function describeLeastPrivilege(backend: Backend, reportFile?: string): void {
  const unavailable = backend === "real" && !realServersAvailable();
  describe.skipIf(unavailable)(`least privilege on ${backend === "real" ? "a real kube-apiserver" : "the sandbox's Kubernetes emulator"}`, () => {
    let cluster: TestCluster;
    let rbac: JsonObject[] = [];
    let grants: Grant[] = [];
    let runs = 0;
    const granted: AuditEvent[] = [];
    const everything: AuditEvent[] = [];
    const lines: string[] = [];

    const role = (g: Grant): JsonObject => {
      const found = rbac.find((o) => o.kind === g.kind && isObject(o.metadata) && o.metadata.name === g.name);
      if (found === undefined) throw new Error(`${g.kind} ${g.name} is not in rbac.yaml`);
      return found;
    };

    /** Asks the API server, as cluster-admin, whether the broker may do `g` now (the real server's RBAC cache lags a write). */
    const mayDo = async (g: Grant): Promise<boolean> => {
      const review = await cluster.admin.makeApiClient(AuthorizationV1Api).createSubjectAccessReview({
        body: { apiVersion: "authorization.k8s.io/v1", kind: "SubjectAccessReview", spec: { user: BROKER_USER, groups: BROKER_GROUPS, resourceAttributes: { group: g.apiGroup, resource: g.resource, verb: g.verb, namespace: g.namespace ?? (isNamespaced(g) ? "default" : "") } } },
      });
      return review.status?.allowed === true;
    };
    const settle = async (g: Grant, allowed: boolean): Promise<void> => {
      if (!(await within(async () => (await mayDo(g)) === allowed, 15_000))) throw new Error(`${grantKey(g)} did not become ${allowed ? "allowed" : "denied"}`);
    };

    /** Runs one probe in a namespace and lease of its own, with its own brokers; returns what it saw and the audit of the run. */
    const runProbe = async (probe: Probe): Promise<{ result: ProbeResult; audit: AuditEvent[] }> => {
      runs++;
      const ns = `lp-${runs}`;
      const brokers: HarnessBroker[] = [];
      const before = cluster.audit().length;
      await cluster.apply([{ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } }, awsKeySecret(ns, "creds", fleetKeys(0))]);
      const ctx: ProbeContext = {
        cluster,
        ns,
        lease: `lp-lease-${runs}`,
        startBroker: async (extra = {}) => {
          const broker = await startTestBroker(
            cluster.brokerConfig({
              "controller.verifyIntervalMs": "300s",
              "controller.globalRatePerSecond": 1000,
              "kubernetes.namespaces": ns,
              "kubernetes.requestTimeoutMs": "2s",
              "leader.name": `lp-lease-${runs}`,
              "http.auth": "none",
              "http.host": "127.0.0.1",
              "http.allowAnonymousOnLoopback": true,
              "log.level": "info",
              ...extra,
            }),
          );
          brokers.push(broker);
          return broker;
        },
      };
      let result: ProbeResult;
      try {
        result = await probe.run(ctx);
      } finally {
        await Promise.all(brokers.map((b) => b.stop()));
        await deleteUpstreams(cluster, ns);
      }
      // A watch is audited when it ends: the brokers are stopped, so their watches have ended, but the log may trail.
      await new Promise((resolve) => setTimeout(resolve, backend === "real" ? 1_000 : 50));
      return { result, audit: cluster.audit().slice(before) };
    };

    beforeAll(async () => {
      cluster = await startCluster(backend);
      await cluster.seed(generateFleet({ upstreams: 0, credentials: 2, functionsPerRegion: 2, namespaces: 1 }));
      rbac = parseYaml(await readFile(RBAC_FILE, "utf8"));
      grants = grantsOf(rbac);
    }, 180_000);
    afterAll(async () => {
      if (reportFile !== undefined && lines.length > 0) writeFileSync(reportFile, `least privilege on the ${backend} backend (${new Date().toISOString()})\n${lines.join("\n")}\n`);
      await cluster?.close();
    });

    it("has a probe for every grant of rbac.yaml, and every probe's grant is in rbac.yaml", () => {
      expect(grants.length).toBeGreaterThan(0);
      expect(grants.map(grantKey).filter((k) => PROBES[k] === undefined)).toEqual([]);
      expect(Object.keys(PROBES).filter((k) => !grants.some((g) => grantKey(g) === k))).toEqual([]);
      // The leases Role stays in the broker's namespace; nothing else needs a namespaced Role.
      expect(grants.filter((g) => g.kind === "Role").every((g) => g.resource === "leases" && g.namespace === "gloo-system")).toBe(true);
    });

    it("every probe works with the full rules, with no call refused", async () => {
      const seen = new Set<Probe>();
      for (const key of Object.keys(PROBES)) {
        const probe = PROBES[key];
        if (probe === undefined || seen.has(probe)) continue;
        seen.add(probe);
        const { result, audit } = await runProbe(probe);
        granted.push(...audit);
        everything.push(...audit);
        lines.push(`full rules     | ${probe.feature}: ${result.worked ? "works" : "BROKEN"} (${result.seen})`);
        expect(result, probe.feature).toMatchObject({ worked: true });
        expect(brokerCalls(audit).filter((c) => c.code === 403).map((c) => c.key), `403s during "${probe.feature}"`).toEqual([]);
      }
      expect(brokerCalls(granted).filter((c) => c.key.startsWith("leases.") && c.namespace !== "gloo-system")).toEqual([]);
    }, 300_000);

    it("breaks the grant's feature when any single verb is removed, and works again once it is restored", async () => {
      const failures: string[] = [];
      for (const grant of grants) {
        const probe = PROBES[grantKey(grant)];
        if (probe === undefined) {
          lines.push(`without ${grantKey(grant).padEnd(48)} | no probe: nothing in the broker needs it`);
          failures.push(`${grantKey(grant)}: no probe`);
          continue;
        }
        const full = role(grant);
        await cluster.apply([withoutGrant(full, grant)]);
        await settle(grant, false);
        let denied: { result: ProbeResult; audit: AuditEvent[] };
        try {
          denied = await runProbe(probe);
        } finally {
          await cluster.apply([full]);
          await settle(grant, true);
        }
        everything.push(...denied.audit);
        const refused = brokerCalls(denied.audit).filter((c) => c.code === 403).map((c) => c.key);
        const restored = await runProbe(probe);
        everything.push(...restored.audit);
        const expected = !denied.result.worked && refused.includes(grantKey(grant)) && restored.result.worked;
        lines.push(`without ${grantKey(grant).padEnd(48)} | ${probe.feature}: ${denied.result.worked ? "STILL WORKS" : `fails: ${probe.whenDenied}`} (${denied.result.seen}; 403 on ${[...new Set(refused)].join(", ") || "nothing"}) | restored: ${restored.result.worked ? "works" : "BROKEN"}`);
        if (!expected) failures.push(`${grantKey(grant)}: without it ${denied.result.seen}, 403s [${[...new Set(refused)].join(", ")}]; restored ${restored.result.seen}`);
      }
      expect(failures).toEqual([]);
    }, 900_000);

    // The calls the code makes: every request the broker sent in any run, answered or refused. Refused ones
    // count because the emulator audits a watch only when the server ends it (see the report), and a
    // watch refused at once is audited on both backends.
    it("makes exactly the calls the rules grant: none granted goes unused, none made is outside them", () => {
      const keys = new Set(grants.map(grantKey));
      const used = new Set(brokerCalls(everything).map((c) => c.key));
      lines.push(`calls made     | ${[...used].sort().join(" ")}`);
      lines.push(`answered (full rules) | ${[...new Set(brokerCalls(granted).filter((c) => c.code < 400).map((c) => c.key))].sort().join(" ")}`);
      expect([...keys].filter((k) => !used.has(k)), "grants the broker never used").toEqual([]);
      expect([...used].filter((k) => !keys.has(k)), "calls outside the grants").toEqual([]);
      expect(brokerCalls(everything).filter((c) => c.key.startsWith("leases.") && c.namespace !== "gloo-system")).toEqual([]);
    });
  });
}

function isNamespaced(g: Grant): boolean {
  return !["namespaces", "tokenreviews", "subjectaccessreviews"].includes(g.resource);
}

async function deleteUpstreams(cluster: TestCluster, namespace: string): Promise<void> {
  const custom = cluster.admin.makeApiClient(CustomObjectsApi);
  for (const u of await cluster.upstreams(namespace)) {
    const name = isObject(u.metadata) && typeof u.metadata.name === "string" ? u.metadata.name : "";
    await custom.deleteNamespacedCustomObject({ group: "gloo.solo.io", version: "v1", plural: "upstreams", namespace, name }).catch(() => undefined);
  }
}
