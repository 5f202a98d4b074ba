// The provider registry: one provider per kind, and a third provider needs nothing outside its own files and its registration.
import { describe, expect, it } from "vitest";
import { createProviderRegistry } from "../../src/cloud/registry.js";
import { evaluate } from "../../src/controller/evaluate.js";
import { UpstreamIndex } from "../../src/controller/upstream-index.js";
import { parseUpstreamOptions } from "../../src/model/annotations.js";
import { desiredState } from "../../src/model/desired-state.js";
import type { CloudUpstream, FunctionListField, UpstreamKind } from "../../src/model/upstream.js";
import type { WatchedObject } from "../../src/runtime/kube/watch-loop.js";
import { scriptedProvider, scriptedSecrets, type Calls, type Script } from "../support/in-memory-ports.js";

const calls = (): Calls => ({ resolves: 0, verifies: [], discovers: 0 });
const script: Script = {
  verify: { status: "valid", identity: { provider: "aws", account: "123456789012", arn: "arn:aws:iam::123456789012:user/gw" } },
  discover: { status: "listed", functions: [{ provider: "aws", functionName: "zeta", qualifier: "$LATEST", qualifierKind: "latest" }, { provider: "aws", functionName: "alpha", qualifier: "$LATEST", qualifierKind: "latest" }], warnings: [] },
};

describe("createProviderRegistry", () => {
  it("refuses two providers for one kind, naming both", () => {
    const a = { ...scriptedProvider(script, calls(), ["aws"], undefined), name: "first" };
    const b = { ...scriptedProvider(script, calls(), ["aws"], undefined), name: "second" };
    expect(() => createProviderRegistry([a, b], ["aws"])).toThrow(/aws is claimed by providers first and second/);
  });

  it("refuses a registry that leaves a cloud upstream kind without a provider", () => {
    expect(() => createProviderRegistry([scriptedProvider(script, calls(), ["aws", "awsEc2"], undefined)])).toThrow(/no provider registered for upstream kind azure/);
  });

  it("answers an unregistered kind with an InternalError, not a crash", () => {
    const registry = createProviderRegistry([scriptedProvider(script, calls(), ["aws"], undefined)], ["aws"]);
    expect(() => registry.forKind("azure")).toThrow(expect.objectContaining({ reason: "InternalError" }));
  });
});

describe("a third provider", () => {
  // A kind the model does not have yet: what CONTRIBUTING's checklist adds to src/model/upstream.ts.
  const kind = "gcpFunctions" as UpstreamKind;
  const field: FunctionListField = { type: "gcpFunctions", list: "functions", key: "name", fields: ["name"] };
  const object = { apiVersion: "gloo.solo.io/v1", kind: "Upstream", metadata: { namespace: "team", name: "gcp", generation: 1, resourceVersion: "5", annotations: { "discovery.solo.io/function_discovery": "enabled" } }, spec: { gcpFunctions: { project: "p" } } };
  const upstream = { kind, meta: { namespace: "team", name: "gcp", labels: {}, annotations: object.metadata.annotations }, spec: {} } as unknown as CloudUpstream;

  it("is evaluated and published through the registry alone: its entries land in its own spec field", async () => {
    const c = calls();
    const registry = createProviderRegistry([scriptedProvider(script, c, [kind], field)], [kind]);
    const evaluation = await evaluate(upstream, parseUpstreamOptions(upstream.meta), {
      secrets: scriptedSecrets(script, c),
      providers: registry,
      settings: { discoveryMode: "whitelist", secretRefPolicy: "any" },
      namespaceLabels: {},
      policy: { fresh: true },
    });
    expect(c).toMatchObject({ resolves: 1, verifies: [{ fresh: true }], discovers: 1 });
    const desired = desiredState(object, evaluation, { statusKey: "credbroker", maxFunctions: 500, reportedBy: "credbroker", heartbeatMs: 60_000 }, new Date("2026-12-02T00:00:00Z"));
    expect(desired.entry.state).toBe("Accepted");
    expect(desired.specPatch).toEqual({
      metadata: { resourceVersion: "5", annotations: { "credbroker.io/published-functions": "alpha,zeta" } },
      spec: { gcpFunctions: { functions: [{ name: "alpha" }, { name: "zeta" }] } },
    });
  });

  it("has its function list treated as credbroker's own write by the upstream index", () => {
    const registry = createProviderRegistry([scriptedProvider(script, calls(), [kind], field)], [kind]);
    const index = new UpstreamIndex("credbroker", registry.functionLists());
    expect(index.upsert(object as unknown as WatchedObject).trigger).toBe("upstreamNew");
    const written = { ...object, metadata: { ...object.metadata, resourceVersion: "6" }, spec: { gcpFunctions: { project: "p", functions: [{ name: "alpha" }] } } };
    expect(index.upsert(written as unknown as WatchedObject).trigger).toBeUndefined();
    const edited = { ...written, spec: { gcpFunctions: { project: "q", functions: [{ name: "alpha" }] } } };
    expect(index.upsert(edited as unknown as WatchedObject).trigger).toBe("upstreamChanged");
  });
});
