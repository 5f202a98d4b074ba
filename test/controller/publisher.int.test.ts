import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKubeUpstreamApi } from "../../src/controller/kube-upstreams.js";
import { publish, type PublishDeps } from "../../src/controller/publisher.js";
import type { Evaluation } from "../../src/model/evaluation.js";
import type { JsonObject } from "../../src/model/fields.js";
import { createKubeEmulator, UPSTREAMS, type KubeEmulator } from "../../src/sandbox/kube/index.js";
import { adminKubeConfig } from "./helpers.js";
import { verifiedEvaluation } from "../support/evaluations.js";

const evaluation: Evaluation = verifiedEvaluation(["alpha", "beta"]);

describe("publisher", () => {
  let kube: KubeEmulator;
  let deps: PublishDeps;
  const writes: string[] = [];
  beforeAll(async () => {
    kube = await createKubeEmulator();
    deps = {
      api: createKubeUpstreamApi(adminKubeConfig(kube)),
      settings: { statusKey: "credbroker", heartbeatMs: 600_000, maxFunctions: 500, reportedBy: "credbroker" },
      clock: { now: Date.now },
      canWrite: () => true,
      onWrite: (kind, result) => writes.push(`${kind}:${result}`),
    };
  });
  afterAll(async () => {
    await kube?.close();
  });

  function create(name: string): JsonObject {
    return kube.apply({ apiVersion: "gloo.solo.io/v1", kind: "Upstream", metadata: { namespace: "default", name }, spec: { aws: { region: "us-east-1", secretRef: { name: "s" } } } });
  }

  it("abandons a verdict whose spec changed under it (409, re-read), and the next pass merges the edit instead of overwriting it", async () => {
    const stale = create("concurrent");
    // Someone edits the spec after credbroker read it: a hand entry and another field.
    const edited = structuredClone(stale);
    (edited.spec as { aws: JsonObject }).aws.lambdaFunctions = [{ logicalName: "by-hand", lambdaFunctionName: "legacy", qualifier: "3" }];
    (edited.spec as { aws: JsonObject }).aws.destinationOverrides = { invocationStyle: "ASYNC" };
    kube.apply(edited);
    writes.length = 0;

    const abandoned = await publish(stale, evaluation, deps);
    expect(writes).toEqual(["spec:conflict"]);
    expect(abandoned.status).toBe("superseded");
    expect(kube.get(UPSTREAMS, "default", "concurrent")!.status).toBeUndefined();

    writes.length = 0;
    const report = await publish(abandoned.object, evaluation, deps);
    expect(writes).toEqual(["spec:made", "status:made", "event:made"]);
    expect(report).toMatchObject({ spec: "patched", status: "patched" });
    const now = kube.get(UPSTREAMS, "default", "concurrent")!;
    const aws = (now.spec as { aws: JsonObject }).aws;
    expect(aws.destinationOverrides).toEqual({ invocationStyle: "ASYNC" });
    expect(aws.lambdaFunctions).toEqual([
      { lambdaFunctionName: "alpha", logicalName: "alpha", qualifier: "$LATEST" },
      { lambdaFunctionName: "beta", logicalName: "beta", qualifier: "$LATEST" },
      { lambdaFunctionName: "legacy", logicalName: "by-hand", qualifier: "3" },
    ]);
    expect((now.metadata as { annotations: Record<string, string> }).annotations["credbroker.io/published-functions"]).toBe("alpha,beta");
    const status = (now.status as { statuses: Record<string, { details: { observedGeneration: number; observedSpec: string } }> }).statuses.credbroker!;
    // The status write itself bumped the generation (no status subresource): the entry names the result.
    expect(status.details.observedGeneration).toBe((now.metadata as { generation: number }).generation);
    expect(status.details.observedSpec).toMatch(/^sha256:[0-9a-f]{16}$/);
  });

  it("writes nothing the second time", async () => {
    const current = kube.get(UPSTREAMS, "default", "concurrent")!;
    writes.length = 0;
    const report = await publish(current, evaluation, deps);
    expect(report).toMatchObject({ spec: "unchanged", status: "unchanged" });
    expect(writes).toEqual(["spec:skipped", "status:skipped"]);
  });

  it("writes nothing after a foreign status write bumped the generation (Gloo's reporter)", async () => {
    const current = kube.get(UPSTREAMS, "default", "concurrent")!;
    const generation = (current.metadata as { generation: number }).generation;
    const glooed = structuredClone(current) as JsonObject & { status: { statuses: Record<string, unknown> } };
    glooed.status.statuses["gloo-system"] = { state: "Accepted", reportedBy: "gloo" };
    const after = kube.apply(glooed);
    expect((after.metadata as { generation: number }).generation).toBe(generation + 1);
    writes.length = 0;
    const report = await publish(after, evaluation, deps);
    expect(report).toMatchObject({ spec: "unchanged", status: "unchanged" });
    expect(writes).toEqual(["spec:skipped", "status:skipped"]);
  });

  it("merges a concurrent metadata edit (409 on the same spec) and publishes", async () => {
    const stale = create("labelled");
    const edited = structuredClone(stale);
    (edited.metadata as JsonObject).labels = { team: "orders" };
    kube.apply(edited);
    writes.length = 0;
    const report = await publish(stale, evaluation, deps);
    expect(writes).toEqual(["spec:conflict", "spec:made", "status:made", "event:made"]);
    expect(report.status).toBe("patched");
    const now = kube.get(UPSTREAMS, "default", "labelled")!;
    expect((now.metadata as { labels: Record<string, string> }).labels).toEqual({ team: "orders" });
    const status = (now.status as { statuses: Record<string, { details: { observedGeneration: number } }> }).statuses.credbroker!;
    expect(status.details.observedGeneration).toBe((now.metadata as { generation: number }).generation);
  });

  it("abandons a status write when the spec changed under it (no function list to write)", async () => {
    const { discovered: _discovered, ...noDiscovery } = evaluation;
    const stale = create("status-race");
    const edited = structuredClone(stale);
    (edited.spec as { aws: JsonObject }).aws.region = "eu-west-1";
    kube.apply(edited);
    writes.length = 0;
    const report = await publish(stale, noDiscovery, deps);
    expect(writes).toEqual(["status:conflict"]);
    expect(report.status).toBe("superseded");
    expect(kube.get(UPSTREAMS, "default", "status-race")!.status).toBeUndefined();
  });

  it("answers gone for an upstream deleted meanwhile", async () => {
    const stale = create("vanishing");
    kube.delete(UPSTREAMS, "default", "vanishing");
    const report = await publish(stale, evaluation, deps);
    expect(report.status).toBe("gone");
  });

  it("refuses to write once the lease is lost", async () => {
    const stale = create("not-leader");
    await expect(publish(stale, evaluation, { ...deps, canWrite: () => false })).rejects.toMatchObject({ name: "NotLeaderError" });
    expect(kube.get(UPSTREAMS, "default", "not-leader")!.status).toBeUndefined();
  });
});
