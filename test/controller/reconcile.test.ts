// reconcile() end to end on in-memory ports: the in-memory UpstreamApi, a scripted secret port and a scripted provider; no sockets, no timers.
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { reconcile, type ReconcileDeps, type ReconcileResult } from "../../src/controller/reconcile.js";
import { CredbrokerError } from "../../src/model/errors.js";
import type { JsonObject } from "../../src/model/fields.js";
import { PUBLISHED_FUNCTIONS_ANNOTATION } from "../../src/model/function-list.js";
import { readOwnStatus } from "../../src/model/status.js";
import { FakeClock } from "../../src/runtime/clock.js";
import { LAMBDA_FUNCTION_LIST } from "../support/function-lists.js";
import { scriptedProvider, scriptedRegistry, scriptedSecrets, type Calls, type Script } from "../support/in-memory-ports.js";
import { InMemoryUpstreams } from "../support/in-memory-upstreams.js";

const IDENTITY = { provider: "aws" as const, account: "123456789012", arn: "arn:aws:iam::123456789012:user/gw" };
const SETTINGS: ReconcileDeps["settings"] = { statusKey: "credbroker", maxFunctions: 500, reportedBy: "credbroker", heartbeatMs: 600_000, discoveryMode: "whitelist", secretRefPolicy: "any" };
const ROUTINE = { fresh: false };

const valid: Script["verify"] = { status: "valid", identity: IDENTITY };
const listed: Script["discover"] = { status: "listed", functions: [{ provider: "aws", functionName: "orders", qualifier: "$LATEST", qualifierKind: "latest" }], warnings: [] };

function harness(script: Script = { verify: valid, discover: listed }, options: { canWrite?: () => boolean } = {}) {
  const api = new InMemoryUpstreams();
  const clock = new FakeClock(Date.parse("2026-12-02T00:00:00Z"));
  const calls: Calls = { resolves: 0, verifies: [], discovers: 0 };
  const writes: string[] = [];
  // The scripted provider's entries are `{name}`; an Upstream's lambdaFunctions need what parseUpstream checks.
  const provider = {
    ...scriptedProvider(script, calls, ["aws"], LAMBDA_FUNCTION_LIST),
    entries: (_u: unknown, functions: readonly { functionName: string }[]) => functions.map((f) => ({ logicalName: f.functionName, lambdaFunctionName: f.functionName, qualifier: "$LATEST" })),
  };
  const deps: ReconcileDeps = {
    api,
    secrets: scriptedSecrets(script, calls),
    providers: scriptedRegistry(provider),
    settings: SETTINGS,
    clock,
    canWrite: options.canWrite ?? (() => true),
    namespaceLabels: () => ({}),
    logger: pino({ level: "silent" }),
    onWrite: (kind, result) => writes.push(`${kind}:${result}`),
  };
  return { api, clock, calls, writes, deps };
}

function awsUpstream(overrides: { region?: string; annotations?: Record<string, string> } = {}): JsonObject {
  return {
    apiVersion: "gloo.solo.io/v1",
    kind: "Upstream",
    metadata: { namespace: "team", name: "orders", annotations: { "discovery.solo.io/function_discovery": "enabled", ...overrides.annotations } },
    spec: { aws: { region: overrides.region ?? "us-east-1", secretRef: { name: "keys" } } },
  };
}

/** A static upstream; with `owned`, it still carries what credbroker wrote while it was an AWS one. */
function staticUpstream(owned: boolean): JsonObject {
  const obj: JsonObject = {
    apiVersion: "gloo.solo.io/v1",
    kind: "Upstream",
    metadata: { namespace: "team", name: "orders", annotations: owned ? { [PUBLISHED_FUNCTIONS_ANNOTATION]: "orders", keep: "me" } : { keep: "me" } },
    spec: { static: { hosts: [{ addr: "10.0.0.1", port: 80 }] } },
  };
  if (owned) obj.status = { statuses: { credbroker: { state: "Accepted", reason: "", reportedBy: "credbroker" }, "gloo-system": { state: "Accepted", reportedBy: "gloo" } } };
  return obj;
}

function published(result: ReconcileResult): Extract<ReconcileResult, { kind: "published" }> {
  if (result.kind !== "published") throw new Error(`expected a published result, got ${JSON.stringify(result)}`);
  return result;
}

describe("reconcile", () => {
  it("answers gone without any call when the watch has no object", async () => {
    const { api, calls, deps } = harness();
    expect(await reconcile(undefined, ROUTINE, deps)).toEqual({ kind: "gone" });
    expect(api.calls).toEqual({ get: 0, mergePatch: 0, namespaceLabels: 0, recordEvent: 0 });
    expect(calls).toEqual({ resolves: 0, verifies: [], discovers: 0 });
  });

  it("withdraws credbroker's status and annotation when an upstream it published for became static", async () => {
    const { api, calls, writes, deps } = harness();
    const stored = api.put(staticUpstream(true));

    const result = await reconcile(stored, ROUTINE, deps);

    expect(result).toEqual({ kind: "skipped", because: "type static is not aws, azure or awsEc2" });
    expect(writes).toEqual(["status:made"]);
    expect(api.patches).toHaveLength(1);
    expect(api.patches[0]!.patch).toEqual({
      metadata: { resourceVersion: (stored.metadata as JsonObject).resourceVersion, annotations: { [PUBLISHED_FUNCTIONS_ANNOTATION]: null } },
      status: { statuses: { credbroker: null } },
    });
    const after = api.stored("team", "orders")!;
    expect((after.metadata as JsonObject).annotations).toEqual({ keep: "me" });
    // Gloo's own entry is not credbroker's to remove.
    expect(after.status).toEqual({ statuses: { "gloo-system": { state: "Accepted", reportedBy: "gloo" } } });
    expect(calls.resolves).toBe(0);
  });

  it("skips a static upstream with no write when credbroker never wrote to it", async () => {
    const { api, writes, deps } = harness();
    const stored = api.put(staticUpstream(false));
    expect(await reconcile(stored, ROUTINE, deps)).toEqual({ kind: "skipped", because: "type static is not aws, azure or awsEc2" });
    expect(api.calls.mergePatch).toBe(0);
    expect(writes).toEqual([]);
  });

  it("withdraws only the annotation when there is no status entry, creating no empty status", async () => {
    const { api, deps } = harness();
    const { status: _none, ...annotatedOnly } = staticUpstream(true);
    const stored = api.put(annotatedOnly);
    const generation = (stored.metadata as JsonObject).generation;
    await reconcile(stored, ROUTINE, deps);
    const after = api.stored("team", "orders")!;
    expect(after.status).toBeUndefined();
    expect((after.metadata as JsonObject).annotations).toEqual({ keep: "me" });
    expect((after.metadata as JsonObject).generation).toBe(generation);
  });

  it("publishes Rejected with InvalidSpec naming the field when the region is malformed, without resolving anything", async () => {
    const { api, calls, deps } = harness();
    const stored = api.put(awsUpstream({ region: "moon-base-one" }));

    const result = published(await reconcile(stored, ROUTINE, deps));

    expect(result).toMatchObject({ state: "Rejected", conditionReason: "InvalidSpec", wrote: true, transient: false });
    expect(result.reason).toBe("InvalidSpec: spec.aws.region: must be an AWS region such as us-east-1");
    const entry = readOwnStatus(api.stored("team", "orders"), "credbroker")!;
    expect(entry.state).toBe("Rejected");
    expect(entry.details.conditions.map((c) => [c.type, c.status, c.reason])).toEqual([["SecretResolved", "False", "InvalidSpec"]]);
    expect(calls).toEqual({ resolves: 0, verifies: [], discovers: 0 });
    expect(api.events.map((e) => [e.type, e.reason])).toEqual([["Warning", "InvalidSpec"]]);
  });

  it("publishes the function list and an Accepted status on a good pass, then writes nothing on the next pass over the new object", async () => {
    const { api, clock, writes, deps } = harness();
    const stored = api.put(awsUpstream());

    const first = published(await reconcile(stored, ROUTINE, deps));

    expect(first).toMatchObject({ state: "Accepted", reason: "", conditionReason: "Verified", wrote: true, transient: false });
    expect(first.retryAfterMs).toBeUndefined();
    expect(writes).toEqual(["spec:made", "status:made", "event:made"]);
    expect(first.object).toEqual(api.stored("team", "orders"));
    expect((first.object.spec as { aws: JsonObject }).aws.lambdaFunctions).toEqual([{ logicalName: "orders", lambdaFunctionName: "orders", qualifier: "$LATEST" }]);
    expect(readOwnStatus(first.object, "credbroker")!.details.lastVerified).toBe("2026-12-02T00:00:00.000Z");

    clock.advance(60_000);
    writes.length = 0;
    const second = published(await reconcile(first.object, ROUTINE, deps));

    expect(second).toMatchObject({ state: "Accepted", wrote: false, transient: false });
    expect(writes).toEqual(["spec:skipped", "status:skipped"]);
    expect(api.patches).toHaveLength(2);
    expect(api.events).toHaveLength(1);
  });

  it("hands over without writing when this replica may not write", async () => {
    const { api, deps } = harness(undefined, { canWrite: () => false });
    const stored = api.put(awsUpstream());
    expect(await reconcile(stored, ROUTINE, deps)).toEqual({ kind: "handedOver" });
    expect(api.calls.mergePatch).toBe(0);
    expect(api.stored("team", "orders")).toEqual(stored);
  });

  it("hands over without withdrawing when this replica may not write", async () => {
    const { api, deps } = harness(undefined, { canWrite: () => false });
    const stored = api.put(staticUpstream(true));
    expect(await reconcile(stored, ROUTINE, deps)).toEqual({ kind: "handedOver" });
    expect(api.calls.mergePatch).toBe(0);
  });

  it("fails with the API's retryable error when a patch throws", async () => {
    const { api, deps } = harness();
    const stored = api.put(awsUpstream());
    const refused = new CredbrokerError("InternalError", "kubernetes patch upstream team/orders failed with HTTP 503", { retryable: true });
    api.failNext("mergePatch", refused);

    const result = await reconcile(stored, ROUTINE, deps);

    expect(result).toEqual({ kind: "failed", error: refused });
    expect(api.stored("team", "orders")).toEqual(stored);
  });

  it("fails with a retryable InternalError that does not copy the message when the API throws a plain Error", async () => {
    const { api, deps } = harness();
    const stored = api.put(awsUpstream());
    api.failNext("mergePatch", new Error("socket hang up, token=abc"));

    const result = await reconcile(stored, ROUTINE, deps);

    if (result.kind !== "failed") throw new Error(`expected failed, got ${result.kind}`);
    expect(result.error).toMatchObject({ reason: "InternalError", retryable: true, message: "reconcile of team/orders: unexpected failure" });
  });

  it("fails with a retryable error when withdrawing meets a concurrent write", async () => {
    const { api, deps } = harness();
    const stored = api.put(staticUpstream(true));
    api.beforeNextPatch((obj) => {
      (obj.metadata as JsonObject).labels = { team: "orders" };
    });

    const result = await reconcile(stored, ROUTINE, deps);

    if (result.kind !== "failed") throw new Error(`expected failed, got ${result.kind}`);
    expect(result.error.retryable).toBe(true);
    expect(readOwnStatus(api.stored("team", "orders"), "credbroker")?.state).toBe("Accepted");
  });

  it("answers superseded with the fresh object when the spec was edited while the verdict was computed", async () => {
    const { api, writes, deps } = harness();
    const stored = api.put(awsUpstream());
    api.beforeNextPatch((obj) => {
      (obj.spec as { aws: JsonObject }).aws.region = "eu-west-1";
    });

    const result = await reconcile(stored, ROUTINE, deps);

    expect(result).toEqual({ kind: "superseded", object: api.stored("team", "orders") });
    expect(((result as { object: JsonObject }).object.spec as { aws: JsonObject }).aws.region).toBe("eu-west-1");
    expect(writes).toEqual(["spec:conflict"]);
    expect(api.stored("team", "orders")!.status).toBeUndefined();
  });

  it("answers gone when the upstream was deleted before the write", async () => {
    const { api, deps } = harness();
    const stored = api.put(awsUpstream());
    api.delete("team", "orders");
    expect(await reconcile(stored, ROUTINE, deps)).toEqual({ kind: "gone" });
  });

  it("publishes a transient Pending carrying Retry-After when the verification is throttled", async () => {
    const throttled = new CredbrokerError("Throttled", "sts GetCallerIdentity throttled", { retryAfterMs: 7000 });
    const { api, calls, deps } = harness({ verify: { status: "unknown", error: throttled }, discover: listed });
    const stored = api.put(awsUpstream());

    const result = published(await reconcile(stored, ROUTINE, deps));

    expect(result).toMatchObject({ state: "Pending", wrote: true, transient: true, retryAfterMs: 7000 });
    expect(result.reason).toBe("Throttled: sts GetCallerIdentity throttled; will retry");
    expect(calls.discovers).toBe(0);
  });

  it("passes policy.fresh to the provider and writes lastVerified at once when the pass is forced", async () => {
    const { api, clock, calls, deps } = harness();
    const first = published(await reconcile(api.put(awsUpstream()), ROUTINE, deps));
    clock.advance(60_000);

    const forced = published(await reconcile(first.object, { fresh: true }, deps));

    expect(calls.verifies).toEqual([{ fresh: false }, { fresh: true }]);
    expect(forced.wrote).toBe(true);
    expect(readOwnStatus(api.stored("team", "orders"), "credbroker")!.details.lastVerified).toBe("2026-12-02T00:01:00.000Z");
  });
});
