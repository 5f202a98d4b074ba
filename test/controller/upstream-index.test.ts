// UpstreamIndex: which watch events are triggers (and which are credbroker's own writes), namespace label changes, and what it keeps in memory.
import { describe, expect, it } from "vitest";
import { UpstreamIndex } from "../../src/controller/upstream-index.js";
import type { JsonObject } from "../../src/model/fields.js";
import { PUBLISHED_FUNCTIONS_ANNOTATION } from "../../src/model/function-list.js";
import { slimUpstream } from "../../src/model/held-upstream.js";
import type { WatchedObject } from "../../src/runtime/kube/watch-loop.js";
import { LAMBDA_FUNCTION_LIST } from "../support/function-lists.js";

const REVERIFY = "credbroker.io/reverify";

function upstream(overrides: { namespace?: string; name?: string; rv?: string; generation?: number; labels?: Record<string, string>; annotations?: Record<string, string>; aws?: JsonObject; status?: JsonObject } = {}): WatchedObject {
  const obj: WatchedObject = {
    apiVersion: "gloo.solo.io/v1",
    kind: "Upstream",
    metadata: {
      namespace: overrides.namespace ?? "team",
      name: overrides.name ?? "orders",
      resourceVersion: overrides.rv ?? "10",
      generation: overrides.generation ?? 1,
      labels: overrides.labels ?? { app: "orders" },
      annotations: overrides.annotations ?? {},
    },
    spec: { aws: { region: "us-east-1", secretRef: { name: "keys" }, ...overrides.aws } },
  };
  if (overrides.status !== undefined) obj.status = overrides.status;
  return obj;
}

const OWN_STATUS = { statuses: { credbroker: { state: "Accepted", reason: "", reportedBy: "credbroker", details: { observedGeneration: 1, conditions: [] } } } };
const LISTED = [{ logicalName: "alpha", lambdaFunctionName: "alpha", qualifier: "$LATEST" }];

function namespace(name: string, labels: Record<string, string>, rv = "1"): WatchedObject {
  return { apiVersion: "v1", kind: "Namespace", metadata: { name, resourceVersion: rv, labels } };
}

const index = () => new UpstreamIndex("credbroker", [LAMBDA_FUNCTION_LIST]);

describe("UpstreamIndex.upsert", () => {
  it("answers upstreamNew on first sight of an upstream without credbroker's status", () => {
    expect(index().upsert(upstream())).toEqual({ key: "team/orders", trigger: "upstreamNew" });
  });

  it("answers upstreamNew on first sight when only another reporter's status is there", () => {
    const glooOnly = upstream({ status: { statuses: { "gloo-system": { state: "Accepted", reportedBy: "gloo" } } } });
    expect(index().upsert(glooOnly).trigger).toBe("upstreamNew");
  });

  it("answers upstreamKnown on first sight of an upstream with credbroker's status", () => {
    expect(index().upsert(upstream({ status: OWN_STATUS }))).toEqual({ key: "team/orders", trigger: "upstreamKnown" });
  });

  it("answers reverifyRequested when the reverify annotation changes, and nothing when it stays", () => {
    const idx = index();
    idx.upsert(upstream({ annotations: { [REVERIFY]: "1" } }));
    expect(idx.upsert(upstream({ rv: "11", annotations: { [REVERIFY]: "2" } })).trigger).toBe("reverifyRequested");
    expect(idx.upsert(upstream({ rv: "12", annotations: { [REVERIFY]: "2" } })).trigger).toBeUndefined();
  });

  it("answers reverifyRequested when the reverify annotation is first set", () => {
    const idx = index();
    idx.upsert(upstream());
    expect(idx.upsert(upstream({ rv: "11", annotations: { [REVERIFY]: "now" } })).trigger).toBe("reverifyRequested");
  });

  it("answers reverifyRequested rather than upstreamChanged when the spec and the token change together", () => {
    const idx = index();
    idx.upsert(upstream());
    expect(idx.upsert(upstream({ rv: "11", aws: { region: "eu-west-1" }, annotations: { [REVERIFY]: "now" } })).trigger).toBe("reverifyRequested");
  });

  it.each([
    ["the spec", upstream({ rv: "11", generation: 2, aws: { region: "eu-west-1" } })],
    ["a label", upstream({ rv: "11", labels: { app: "orders", tier: "gold" } })],
    ["another annotation", upstream({ rv: "11", annotations: { "credbroker.io/function-filter": "orders-*" } })],
    ["a function list credbroker does not write", upstream({ rv: "11", generation: 2, aws: { other: [{ x: 1 }] } })],
  ])("answers upstreamChanged when %s changes", (_what, changed) => {
    const idx = index();
    idx.upsert(upstream());
    expect(idx.upsert(changed)).toEqual({ key: "team/orders", trigger: "upstreamChanged" });
  });

  it.each([
    ["its function list", upstream({ rv: "11", generation: 2, aws: { lambdaFunctions: LISTED } })],
    ["the published-functions annotation", upstream({ rv: "11", annotations: { [PUBLISHED_FUNCTIONS_ANNOTATION]: "alpha" } })],
    ["the status", upstream({ rv: "11", generation: 2, status: OWN_STATUS })],
    ["the generation alone", upstream({ rv: "11", generation: 7 })],
    ["the resourceVersion alone", upstream({ rv: "11" })],
  ])("answers no trigger when only %s changes (credbroker's own writes)", (_what, written) => {
    const idx = index();
    idx.upsert(upstream());
    expect(idx.upsert(written)).toEqual({ key: "team/orders", trigger: undefined });
    expect(idx.get("team/orders")).toEqual(slimUpstream(written, "credbroker"));
  });

  it("answers upstreamChanged for a change to the Lambda list when it was not given that list", () => {
    const idx = new UpstreamIndex("credbroker", []);
    idx.upsert(upstream());
    expect(idx.upsert(upstream({ rv: "11", generation: 2, aws: { lambdaFunctions: LISTED } })).trigger).toBe("upstreamChanged");
  });

  it("does not change the object it was given while fingerprinting it", () => {
    const obj = upstream({ annotations: { [PUBLISHED_FUNCTIONS_ANNOTATION]: "alpha", [REVERIFY]: "1" }, aws: { lambdaFunctions: LISTED } });
    const before = structuredClone(obj);
    index().upsert(obj);
    expect(obj).toEqual(before);
  });
});

describe("UpstreamIndex.remove", () => {
  it("forgets an upstream, so it is new again when it reappears", () => {
    const idx = index();
    idx.upsert(upstream({ name: "a" }));
    idx.upsert(upstream({ name: "b" }));
    expect(idx.remove(upstream({ name: "a" }))).toBe("team/a");
    expect(idx.has("team/a")).toBe(false);
    expect(idx.get("team/a")).toBeUndefined();
    expect(idx.keys()).toEqual(["team/b"]);
    expect(idx.upsert(upstream({ name: "a", rv: "20" })).trigger).toBe("upstreamNew");
  });
});

describe("UpstreamIndex.keys", () => {
  it("lists keys sorted, and only those of one namespace when asked (not a namespace sharing its prefix)", () => {
    const idx = index();
    idx.upsert(upstream({ namespace: "team-b", name: "x" }));
    idx.upsert(upstream({ namespace: "team", name: "z" }));
    idx.upsert(upstream({ namespace: "team", name: "a" }));
    expect(idx.keys()).toEqual(["team-b/x", "team/a", "team/z"]);
    expect(idx.keys("team")).toEqual(["team/a", "team/z"]);
  });
});

describe("UpstreamIndex.namespaceEvent", () => {
  it("returns nothing on first sight of a namespace, and records its labels", () => {
    const idx = index();
    idx.upsert(upstream());
    expect(idx.namespaceEvent("added", namespace("team", { "discovery.solo.io/function_discovery": "enabled" }))).toEqual([]);
    expect(idx.labelsOf("team")).toEqual({ "discovery.solo.io/function_discovery": "enabled" });
    expect(idx.labelsOf("unknown")).toEqual({});
  });

  it("returns the keys of that namespace only when its labels changed", () => {
    const idx = index();
    idx.upsert(upstream({ name: "a" }));
    idx.upsert(upstream({ name: "b" }));
    idx.upsert(upstream({ namespace: "team-b", name: "c" }));
    idx.namespaceEvent("added", namespace("team", { x: "1" }));
    expect(idx.namespaceEvent("modified", namespace("team", { x: "1" }, "2"))).toEqual([]);
    expect(idx.namespaceEvent("modified", namespace("team", { x: "2" }, "3"))).toEqual(["team/a", "team/b"]);
    expect(idx.labelsOf("team")).toEqual({ x: "2" });
  });

  it("returns the keys of a deleted namespace that had labels, and forgets its labels", () => {
    const idx = index();
    idx.upsert(upstream());
    idx.namespaceEvent("added", namespace("team", { x: "1" }));
    expect(idx.namespaceEvent("deleted", namespace("team", { x: "1" }, "2"))).toEqual(["team/orders"]);
    expect(idx.labelsOf("team")).toEqual({});
  });
});

describe("UpstreamIndex.rememberWritten", () => {
  it("keeps the object a patch returned when its resourceVersion is newer, without managedFields", () => {
    const idx = index();
    idx.upsert(upstream({ rv: "10" }));
    const written = upstream({ rv: "12", generation: 2, status: OWN_STATUS });
    (written.metadata as JsonObject).managedFields = [{ manager: "credbroker", operation: "Update" }];
    idx.rememberWritten("team/orders", written);
    const kept = idx.get("team/orders")!;
    expect(kept.metadata.resourceVersion).toBe("12");
    expect(kept.metadata).not.toHaveProperty("managedFields");
    expect(kept.status).toEqual(OWN_STATUS);
    // The object handed in is not changed.
    expect(written.metadata).toHaveProperty("managedFields");
  });

  it("ignores an answer older than or as old as what the watch delivered", () => {
    const idx = index();
    const watched = upstream({ rv: "15" });
    idx.upsert(watched);
    idx.rememberWritten("team/orders", upstream({ rv: "12", generation: 2 }));
    idx.rememberWritten("team/orders", upstream({ rv: "15", generation: 3 }));
    expect(idx.get("team/orders")).toEqual(slimUpstream(watched, "credbroker"));
  });

  it("compares resourceVersions as numbers, not as strings", () => {
    const idx = index();
    idx.upsert(upstream({ rv: "9" }));
    idx.rememberWritten("team/orders", upstream({ rv: "10" }));
    expect(idx.get("team/orders")!.metadata.resourceVersion).toBe("10");
  });

  it("ignores an answer for a key it does not hold (deleted meanwhile)", () => {
    const idx = index();
    idx.rememberWritten("team/orders", upstream({ rv: "12" }));
    expect(idx.has("team/orders")).toBe(false);
  });

  it("does not make credbroker's own write a trigger when the watch delivers it afterwards", () => {
    const idx = index();
    idx.upsert(upstream({ rv: "10" }));
    const written = upstream({ rv: "12", generation: 3, annotations: { [PUBLISHED_FUNCTIONS_ANNOTATION]: "alpha" }, aws: { lambdaFunctions: LISTED }, status: OWN_STATUS });
    idx.rememberWritten("team/orders", written);
    expect(idx.upsert(structuredClone(written)).trigger).toBeUndefined();
  });
});

describe("UpstreamIndex holds only what reconcile reads", () => {
  const kube = (overrides: { rv?: string; status?: JsonObject; annotations?: Record<string, string> } = {}): WatchedObject => {
    const obj = upstream({ rv: overrides.rv ?? "10", ...(overrides.annotations ? { annotations: overrides.annotations } : {}), ...(overrides.status ? { status: overrides.status } : {}) });
    obj.spec = { kube: { serviceName: "orders", serviceNamespace: "team", servicePort: 8080 } };
    (obj.metadata as JsonObject).managedFields = [{ manager: "discovery", operation: "Update" }];
    return obj;
  };

  it("holds a cloud upstream without managedFields, kubectl's last-applied copy or other reporters' status", () => {
    const idx = index();
    const obj = upstream({ annotations: { "kubectl.kubernetes.io/last-applied-configuration": "{\"spec\":{}}" }, status: { statuses: { "gloo-system": { state: 1 }, ...OWN_STATUS.statuses } } });
    (obj.metadata as JsonObject).managedFields = [{ manager: "kubectl", operation: "Update" }];
    idx.upsert(obj);
    const held = idx.get("team/orders")!;
    expect(held.metadata).not.toHaveProperty("managedFields");
    expect(held.metadata.annotations).toEqual({});
    expect(held.status).toEqual(OWN_STATUS);
    expect(held.spec).toBe(obj.spec);
  });

  it("holds a kube upstream as its key: known to has/keys, given back as a stand-in of its type", () => {
    const idx = index();
    expect(idx.upsert(kube())).toEqual({ key: "team/orders", trigger: "upstreamNew" });
    expect(idx.has("team/orders")).toBe(true);
    expect(idx.keys()).toEqual(["team/orders"]);
    expect(idx.get("team/orders")).toEqual({ metadata: { namespace: "team", name: "orders", resourceVersion: "10" }, spec: { kube: null } });
  });

  it("answers upstreamChanged when a kube upstream becomes an aws one, and then holds the aws object", () => {
    const idx = index();
    idx.upsert(kube());
    const aws = upstream({ rv: "11" });
    expect(idx.upsert(aws).trigger).toBe("upstreamChanged");
    expect(idx.get("team/orders")!.spec).toEqual(aws.spec);
  });

  it("answers upstreamChanged when an aws upstream becomes a kube one, keeping the status entry withdraw removes", () => {
    const idx = index();
    idx.upsert(upstream({ status: OWN_STATUS, annotations: { [PUBLISHED_FUNCTIONS_ANNOTATION]: "alpha" } }));
    expect(idx.upsert(kube({ rv: "11", status: OWN_STATUS, annotations: { [PUBLISHED_FUNCTIONS_ANNOTATION]: "alpha" } })).trigger).toBe("upstreamChanged");
    expect(idx.get("team/orders")).toEqual({
      metadata: { namespace: "team", name: "orders", resourceVersion: "11", annotations: { [PUBLISHED_FUNCTIONS_ANNOTATION]: "alpha" } },
      spec: { kube: null },
      status: OWN_STATUS,
    });
  });

  it("answers no trigger when only a kube upstream's managedFields and resourceVersion change", () => {
    const idx = index();
    idx.upsert(kube());
    const again = kube({ rv: "12" });
    (again.metadata as JsonObject).managedFields = [{ manager: "someone-else", operation: "Apply" }];
    expect(idx.upsert(again).trigger).toBeUndefined();
    expect(idx.get("team/orders")!.metadata.resourceVersion).toBe("12");
  });

  it("holds equal function lists once, frozen, and leaves the objects it was given as they were", () => {
    const idx = index();
    const entries = (names: string[]) => names.map((n) => ({ logicalName: n, lambdaFunctionName: n, qualifier: "$LATEST" }));
    const a = upstream({ name: "a", aws: { lambdaFunctions: entries(["alpha", "beta"]) } });
    const b = upstream({ name: "b", aws: { lambdaFunctions: entries(["alpha", "beta"]) } });
    const c = upstream({ name: "c", aws: { lambdaFunctions: entries(["alpha"]) } });
    const given = structuredClone([a, b, c]);
    for (const obj of [a, b, c]) idx.upsert(obj);
    const listOf = (key: string): unknown => (idx.get(key)!.spec as { aws: { lambdaFunctions: unknown } }).aws.lambdaFunctions;
    expect(listOf("team/a")).toBe(listOf("team/b"));
    expect(listOf("team/c")).not.toBe(listOf("team/a"));
    expect(listOf("team/a")).toEqual(entries(["alpha", "beta"]));
    expect(idx.sharedLists).toEqual({ distinct: 2, reused: 1 });
    // A write to the shared list would change every upstream that holds it: it throws instead.
    const shared = listOf("team/a") as { logicalName: string }[];
    expect(() => shared.push({ logicalName: "gamma" })).toThrow(TypeError);
    expect(() => (shared[0]!.logicalName = "changed")).toThrow(TypeError);
    // The watch's objects are neither changed nor frozen; the rest of the spec is held as it was.
    expect([a, b, c]).toEqual(given);
    const givenAws = (a.spec as { aws: { lambdaFunctions: unknown[] } }).aws;
    expect(Object.isFrozen(givenAws)).toBe(false);
    expect(Object.isFrozen(givenAws.lambdaFunctions)).toBe(false);
    expect(idx.get("team/a")!.spec).toEqual(a.spec);
    // A held shared list changes nothing about what counts as a change.
    expect(idx.upsert(upstream({ name: "a", rv: "11", aws: { lambdaFunctions: entries(["alpha", "beta"]) } })).trigger).toBeUndefined();
    expect(idx.upsert(upstream({ name: "a", rv: "12", aws: { region: "eu-west-1", lambdaFunctions: entries(["alpha", "beta"]) } })).trigger).toBe("upstreamChanged");
  });

  it("shares the lists of a patch answer too (rememberWritten)", () => {
    const idx = index();
    const list = [{ logicalName: "alpha", lambdaFunctionName: "alpha", qualifier: "$LATEST" }];
    idx.upsert(upstream({ name: "a", aws: { lambdaFunctions: structuredClone(list) } }));
    idx.upsert(upstream({ name: "b" }));
    idx.rememberWritten("team/b", upstream({ name: "b", rv: "11", aws: { lambdaFunctions: structuredClone(list) } }));
    const listOf = (key: string): unknown => (idx.get(key)!.spec as { aws: { lambdaFunctions: unknown } }).aws.lambdaFunctions;
    expect(listOf("team/b")).toBe(listOf("team/a"));
  });

  it("keeps a newer patch answer of a kube upstream as a key too", () => {
    const idx = index();
    idx.upsert(kube({ status: OWN_STATUS }));
    idx.rememberWritten("team/orders", kube({ rv: "13" }));
    expect(idx.get("team/orders")).toEqual({ metadata: { namespace: "team", name: "orders", resourceVersion: "13" }, spec: { kube: null } });
  });
});
