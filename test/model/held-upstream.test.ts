// holdUpstream / slimUpstream / heldObject / changeFingerprint: what the controller keeps of an upstream, and that reconcile reads the same from it as from the whole object.
import { describe, expect, it } from "vitest";
import { desiredState } from "../../src/model/desired-state.js";
import type { JsonObject } from "../../src/model/fields.js";
import { PUBLISHED_FUNCTIONS_ANNOTATION } from "../../src/model/function-list.js";
import { changeFingerprint, heldObject, holdUpstream, LAST_APPLIED_ANNOTATION, slimUpstream } from "../../src/model/held-upstream.js";
import { readOwnStatus, rawStatusEntry } from "../../src/model/status.js";
import { specFingerprint } from "../../src/model/spec-fingerprint.js";
import { notManagedBecause, parseUpstream, type OtherUpstream } from "../../src/model/upstream.js";
import { lambdaEntry, verifiedEvaluation } from "../support/evaluations.js";
import { AZURE_FUNCTION_LIST, LAMBDA_FUNCTION_LIST } from "../support/function-lists.js";

const KEY = "credbroker";
const OWN_ENTRY = {
  state: "Accepted",
  reason: "",
  reportedBy: "credbroker",
  details: { observedGeneration: 3, observedSpec: "sha256:0000000000000000", lastVerified: "2026-12-01T00:00:00.000Z", conditions: [], stale: "an old field the next write nulls" },
};
const GLOO_ENTRY = { state: 1, reportedBy: "gloo", subresourceStatuses: { "x": { state: 1 } } };
const ref = { namespace: "team", name: "orders" };
const LISTS = [LAMBDA_FUNCTION_LIST, AZURE_FUNCTION_LIST];

/** An upstream as a real cluster holds it: kubectl's last-applied copy, managedFields, owner and timestamps, Gloo's status and credbroker's. */
function clusterObject(spec: JsonObject, overrides: { annotations?: Record<string, string>; labels?: Record<string, string>; rv?: string; status?: JsonObject | null } = {}): JsonObject {
  const annotations = { [PUBLISHED_FUNCTIONS_ANNOTATION]: "alpha", "credbroker.io/function-filter": "a*", ...overrides.annotations };
  const labels = overrides.labels ?? { app: "orders" };
  const applied = { apiVersion: "gloo.solo.io/v1", kind: "Upstream", metadata: { namespace: "team", name: "orders", labels, annotations }, spec };
  const obj: JsonObject = {
    apiVersion: "gloo.solo.io/v1",
    kind: "Upstream",
    metadata: {
      namespace: "team",
      name: "orders",
      uid: "0b7e6f0a-3c1e-4c55-9d0e-1a2b3c4d5e6f",
      resourceVersion: overrides.rv ?? "41",
      generation: 3,
      creationTimestamp: "2026-11-30T10:00:00Z",
      ownerReferences: [{ apiVersion: "v1", kind: "Service", name: "orders", uid: "u" }],
      labels,
      annotations: { ...annotations, [LAST_APPLIED_ANNOTATION]: JSON.stringify(applied) },
      managedFields: [
        { manager: "kubectl-client-side-apply", operation: "Update", fieldsType: "FieldsV1", fieldsV1: { "f:spec": { "f:aws": { ".": {}, "f:region": {} } } } },
        { manager: "credbroker", operation: "Update", fieldsType: "FieldsV1", fieldsV1: { "f:status": { "f:statuses": { "f:credbroker": {} } } } },
      ],
    },
    spec,
  };
  if (overrides.status !== null) obj.status = overrides.status ?? { statuses: { "gloo-system": GLOO_ENTRY, [KEY]: OWN_ENTRY } };
  return obj;
}

const HAND_WRITTEN = { logicalName: "by-hand", lambdaFunctionName: "by-hand", qualifier: "$LATEST", note: "a stray field, kept as stored" };
const awsSpec = (): JsonObject => ({ aws: { region: "us-east-1", secretRef: { name: "keys" }, lambdaFunctions: [lambdaEntry("alpha"), HAND_WRITTEN] }, sslConfig: { sni: "orders" } });
const SPECS: [string, () => JsonObject][] = [
  ["aws", awsSpec],
  ["azure", () => ({ azure: { functionAppName: "orders-app", secretRef: { name: "keys" }, functions: [{ functionName: "http", authLevel: 1 }] } })],
  ["awsEc2", () => ({ awsEc2: { region: "eu-west-1", secretRef: { name: "keys" }, port: 8080, publicIp: true } })],
];

describe("slimUpstream", () => {
  it("keeps the metadata reconcile reads, the whole spec and credbroker's own status entry, as stored", () => {
    const full = clusterObject(awsSpec());
    expect(slimUpstream(full, KEY)).toEqual({
      metadata: {
        namespace: "team",
        name: "orders",
        uid: "0b7e6f0a-3c1e-4c55-9d0e-1a2b3c4d5e6f",
        resourceVersion: "41",
        generation: 3,
        labels: { app: "orders" },
        annotations: { [PUBLISHED_FUNCTIONS_ANNOTATION]: "alpha", "credbroker.io/function-filter": "a*" },
      },
      spec: awsSpec(),
      status: { statuses: { [KEY]: OWN_ENTRY } },
    });
  });

  it("drops managedFields, the last-applied copy, owners, timestamps and other reporters' status entries", () => {
    const slim = slimUpstream(clusterObject(awsSpec()), KEY);
    const meta = slim.metadata as JsonObject;
    for (const field of ["managedFields", "creationTimestamp", "ownerReferences"]) expect(meta).not.toHaveProperty(field);
    expect(meta.annotations).not.toHaveProperty([LAST_APPLIED_ANNOTATION]);
    expect(JSON.stringify(slim)).not.toContain("gloo-system");
    expect(slim).not.toHaveProperty("apiVersion");
  });

  it("holds no status when credbroker has no entry, and does not change the object it was given", () => {
    const full = clusterObject(awsSpec(), { status: { statuses: { "gloo-system": GLOO_ENTRY } } });
    const before = structuredClone(full);
    expect(slimUpstream(full, KEY)).not.toHaveProperty("status");
    expect(full).toEqual(before);
  });

  it.each(SPECS)("reads as the whole object does for %s: parse, spec fingerprint, own status entry", (_kind, spec) => {
    const full = clusterObject(spec());
    const slim = slimUpstream(full, KEY);
    const { annotations: fullAnnotations, ...fullMeta } = (parseUpstream(full) as { meta: { annotations: Record<string, string> } }).meta;
    const { annotations: slimAnnotations, ...slimMeta } = (parseUpstream(slim) as { meta: { annotations: Record<string, string> } }).meta;
    expect(slimMeta).toEqual(fullMeta);
    expect(slimAnnotations).toEqual(Object.fromEntries(Object.entries(fullAnnotations).filter(([k]) => k !== LAST_APPLIED_ANNOTATION)));
    expect(parseUpstream(slim).kind).toBe(parseUpstream(full).kind);
    expect((parseUpstream(slim) as { spec: unknown }).spec).toEqual((parseUpstream(full) as { spec: unknown }).spec);
    expect(specFingerprint(slim)).toBe(specFingerprint(full));
    expect(readOwnStatus(slim, KEY)).toEqual(readOwnStatus(full, KEY));
    expect(rawStatusEntry(slim, KEY)).toBe(rawStatusEntry(full, KEY));
  });

  it("gives the publisher the same desired state (spec patch over the hand-written entry, status patch nulling stale fields)", () => {
    const full = clusterObject(awsSpec());
    const slim = slimUpstream(full, KEY);
    const settings = { statusKey: KEY, maxFunctions: 500, reportedBy: "credbroker", heartbeatMs: 600_000 };
    const now = new Date("2026-12-02T00:00:00Z");
    const evaluation = verifiedEvaluation(["alpha", "beta"]);
    const fromSlim = desiredState(slim, evaluation, settings, now);
    expect(fromSlim).toEqual(desiredState(full, evaluation, settings, now));
    expect(JSON.stringify(fromSlim.specPatch)).toContain("by-hand");
    expect(fromSlim.statusPatch).toMatchObject({ status: { statuses: { [KEY]: { details: { stale: null } } } } });
  });
});

describe("holdUpstream", () => {
  it.each(SPECS)("holds a %s upstream as its slimmed object", (_kind, spec) => {
    const full = clusterObject(spec());
    expect(holdUpstream(full, KEY)).toEqual({ held: "object", object: slimUpstream(full, KEY) });
  });

  it("holds a kube upstream as its key: resourceVersion and type, no spec, labels or other annotations", () => {
    const kube = clusterObject({ kube: { serviceName: "orders", serviceNamespace: "team", servicePort: 8080 } }, { annotations: { [PUBLISHED_FUNCTIONS_ANNOTATION]: "" }, status: { statuses: { "gloo-system": GLOO_ENTRY } } });
    delete (kube.metadata as JsonObject).annotations;
    expect(holdUpstream(kube, KEY)).toEqual({ held: "key", resourceVersion: "41", upstreamType: "kube" });
  });

  it("gives back a kube upstream that parses as the same type, with the same reason for leaving it alone", () => {
    const kube = clusterObject({ kube: { serviceName: "orders" }, sslConfig: { sni: "x" } }, { status: null });
    const standIn = heldObject(holdUpstream(kube, KEY), ref, KEY);
    const parsed = parseUpstream(standIn) as OtherUpstream;
    expect(parsed.kind).toBe("other");
    expect(notManagedBecause(parsed)).toBe(notManagedBecause(parseUpstream(kube) as OtherUpstream));
    expect(standIn).toEqual({ metadata: { namespace: "team", name: "orders", resourceVersion: "41", annotations: { [PUBLISHED_FUNCTIONS_ANNOTATION]: "alpha" } }, spec: { kube: null } });
  });

  it("keeps what withdraw removes from an upstream that was a cloud type: credbroker's status entry and annotations", () => {
    const was = clusterObject({ static: { hosts: [{ addr: "10.0.0.1", port: 80 }] } }, { annotations: { "credbroker.io/reverify": "r1" } });
    const standIn = heldObject(holdUpstream(was, KEY), ref, KEY);
    expect(rawStatusEntry(standIn, KEY)).toBe(OWN_ENTRY);
    expect(standIn.metadata).toEqual({ namespace: "team", name: "orders", resourceVersion: "41", annotations: { [PUBLISHED_FUNCTIONS_ANNOTATION]: "alpha", "credbroker.io/reverify": "r1" } });
    expect(JSON.stringify(standIn)).not.toContain("gloo-system");
  });

  it("keeps an upstream whose aws is null as another type (its stand-in never reads as aws)", () => {
    const nulled = clusterObject({ aws: null, kube: { serviceName: "orders" } }, { status: null });
    const standIn = heldObject(holdUpstream(nulled, KEY), ref, KEY);
    expect(parseUpstream(standIn)).toMatchObject({ kind: "other", upstreamType: (parseUpstream(nulled) as OtherUpstream).upstreamType });
  });

  it("holds an upstream it cannot read as an object, so its verdict is the same (a label that is not a string)", () => {
    const bad = clusterObject({ kube: { serviceName: "orders" } }, { status: null });
    (bad.metadata as JsonObject).labels = { app: 7 };
    const held = holdUpstream(bad, KEY);
    expect(held.held).toBe("object");
    expect(() => parseUpstream(heldObject(held, ref, KEY))).toThrow(/metadata\.labels\.app/);
  });

  it("holds an upstream without any spec as another type of unknown type", () => {
    const bare: JsonObject = { metadata: { namespace: "team", name: "orders", resourceVersion: "3" } };
    const standIn = heldObject(holdUpstream(bare, KEY), ref, KEY);
    expect(parseUpstream(standIn)).toMatchObject({ kind: "other", upstreamType: undefined });
  });
});

describe("changeFingerprint", () => {
  const base = () => clusterObject(awsSpec());
  const fp = (obj: JsonObject) => changeFingerprint(obj, LISTS);
  const edit = (change: (obj: JsonObject) => void): JsonObject => {
    const obj = base();
    change(obj);
    return obj;
  };
  const meta = (obj: JsonObject) => obj.metadata as JsonObject;
  const aws = (obj: JsonObject) => (obj.spec as JsonObject).aws as JsonObject;

  it("is a short digest, not a copy of the object", () => {
    expect(fp(base())).toMatch(/^sha256:[0-9a-f]{16}$/);
  });

  it.each<[string, (obj: JsonObject) => void]>([
    ["the region", (o) => (aws(o).region = "eu-west-1")],
    ["a setting beside the type", (o) => ((o.spec as JsonObject).sslConfig = { sni: "other" })],
    ["the type (aws to kube)", (o) => (o.spec = { kube: { serviceName: "orders" } })],
    ["a label", (o) => (meta(o).labels = { app: "orders", tier: "gold" })],
    ["another annotation", (o) => ((meta(o).annotations as JsonObject)["credbroker.io/function-filter"] = "b*")],
  ])("changes when %s changes", (_what, change) => {
    expect(fp(edit(change))).not.toBe(fp(base()));
  });

  it.each<[string, (obj: JsonObject) => void]>([
    ["managedFields", (o) => (meta(o).managedFields = [{ manager: "someone", operation: "Apply" }])],
    ["managedFields removed", (o) => delete meta(o).managedFields],
    ["the last-applied copy", (o) => ((meta(o).annotations as JsonObject)[LAST_APPLIED_ANNOTATION] = "{}")],
    ["the resourceVersion and generation", (o) => Object.assign(meta(o), { resourceVersion: "99", generation: 9 })],
    ["the status", (o) => (o.status = { statuses: { "gloo-system": { state: 2 } } })],
    ["credbroker's function list", (o) => (aws(o).lambdaFunctions = [lambdaEntry("zeta")])],
    ["credbroker's published-functions annotation", (o) => ((meta(o).annotations as JsonObject)[PUBLISHED_FUNCTIONS_ANNOTATION] = "zeta")],
    ["the reverify annotation", (o) => ((meta(o).annotations as JsonObject)["credbroker.io/reverify"] = "now")],
  ])("stays when only %s changes", (_what, change) => {
    expect(fp(edit(change))).toBe(fp(base()));
  });

  it("does not change the object it digests", () => {
    const obj = base();
    const before = structuredClone(obj);
    fp(obj);
    expect(obj).toEqual(before);
  });
});
