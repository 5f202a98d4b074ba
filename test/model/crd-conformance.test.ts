// Proves that every object and patch the model publishes fits Gloo's real Upstream CRD, and that the check can fail.
import { beforeAll, describe, expect, it } from "vitest";
import type { ValidateFunction } from "ajv";
import { buildStatusEntry, statusPatch } from "../../src/model/status.js";
import { azureEntries, azureFunctionsPatch, lambdaEntries, lambdaFunctionsPatch, mergeAzureFunctions, mergeLambdaFunctions } from "../support/function-lists.js";
import { MATCH_ALL } from "../../src/model/function-filter.js";
import { parseUpstream } from "../../src/model/upstream.js";
import { applyMergePatch } from "../../src/sandbox/kube/merge-patch.js";
import { upstreamValidator } from "./crd-schema.js";

const NOW = "2025-03-01T10:00:00.000Z";

function awsUpstream(): Record<string, unknown> {
  return {
    apiVersion: "gloo.solo.io/v1",
    kind: "Upstream",
    metadata: { name: "lambda", namespace: "team-a", generation: 3, resourceVersion: "41" },
    spec: {
      aws: {
        region: "us-east-1",
        secretRef: { name: "aws-creds", namespace: "gloo-system" },
        roleArn: "arn:aws:iam::123456789012:role/gw",
        awsAccountId: "123456789012",
        lambdaFunctions: [{ logicalName: "hand-made", lambdaFunctionName: "legacy", qualifier: "7" }],
      },
    },
    status: { statuses: { "gloo-system": { state: 1, reportedBy: "gloo" } } },
  };
}

function azureUpstream(): Record<string, unknown> {
  return {
    apiVersion: "gloo.solo.io/v1",
    kind: "Upstream",
    metadata: { name: "fnapp", namespace: "team-b", generation: 1 },
    spec: { azure: { functionAppName: "orders-app", secretRef: { name: "azure-keys" }, functions: [{ functionName: "manual", authLevel: 2 }] } },
  };
}

describe("Gloo Upstream CRD conformance", () => {
  let validate: ValidateFunction;
  beforeAll(() => {
    validate = upstreamValidator();
  });

  function expectValid(obj: unknown): void {
    const ok = validate(obj);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  }

  it("accepts an aws upstream after the merged lambdaFunctions patch", () => {
    const upstream = awsUpstream();
    const parsed = parseUpstream(upstream);
    if (parsed.kind !== "aws") throw new Error("expected aws");
    const discovered = lambdaEntries(
      [{ functionName: "orders", versions: ["1", "2"], aliases: ["prod"] }, { functionName: "billing" }],
      ["latest", "versions", "aliases"],
      MATCH_ALL,
    );
    const merged = mergeLambdaFunctions({ current: parsed.spec.lambdaFunctions, discovered, publishedAnnotation: undefined });
    const patched = applyMergePatch(upstream, lambdaFunctionsPatch(merged, "41")) as { spec: { aws: { lambdaFunctions: unknown[] } } };
    expect(patched.spec.aws.lambdaFunctions).toHaveLength(6);
    expectValid(patched);
  });

  it("accepts an azure upstream after the merged functions patch", () => {
    const upstream = azureUpstream();
    const parsed = parseUpstream(upstream);
    if (parsed.kind !== "azure") throw new Error("expected azure");
    const discovered = azureEntries([{ functionName: "orders", authLevel: "Function" }, { functionName: "health", authLevel: "Anonymous" }], MATCH_ALL);
    const merged = mergeAzureFunctions({ current: parsed.spec.functions, discovered, publishedAnnotation: undefined });
    const patched = applyMergePatch(upstream, azureFunctionsPatch(merged)) as { spec: { azure: { functions: unknown[] } } };
    expect(patched.spec.azure.functions).toHaveLength(3);
    expectValid(patched);
  });

  it("accepts an upstream with credbroker's status patch applied, keeping Gloo's entry", () => {
    const entry = buildStatusEntry({
      outcomes: [
        { type: "SecretResolved", status: "True", reason: "Resolved", message: "secret gloo-system/aws-creds" },
        { type: "Authenticated", status: "True", reason: "Verified", message: "STS GetCallerIdentity" },
        { type: "DiscoveryPermitted", status: "True", reason: "Listed", message: "ListFunctions allowed" },
        { type: "FunctionsDiscovered", status: "True", reason: "FunctionListTruncated", message: "600 found, 500 published" },
      ],
      observedGeneration: 3,
      identity: { provider: "aws", account: "123456789012", arn: "arn:aws:iam::123456789012:user/gw" },
      functions: { discovered: 600, published: 500, truncated: true },
      now: NOW,
    });
    const patched = applyMergePatch(awsUpstream(), statusPatch("credbroker", entry)) as { status: { statuses: Record<string, unknown> } };
    expect(Object.keys(patched.status.statuses).sort()).toEqual(["credbroker", "gloo-system"]);
    expectValid(patched);
  });

  it("rejects lambdaFunctions given as a string", () => {
    const upstream = awsUpstream();
    (upstream.spec as { aws: Record<string, unknown> }).aws.lambdaFunctions = "orders";
    expect(validate(upstream)).toBe(false);
    expect(validate.errors?.map((e) => e.instancePath)).toContain("/spec/aws/lambdaFunctions");
  });

  it("rejects a spec field the API server would prune", () => {
    const upstream = awsUpstream();
    (upstream.spec as { aws: Record<string, unknown> }).aws.lambdaFunctionsCount = 3;
    expect(validate(upstream)).toBe(false);
  });

  it("accepts authLevel as an integer, as x-kubernetes-int-or-string allows", () => {
    expectValid(azureUpstream());
  });
});
