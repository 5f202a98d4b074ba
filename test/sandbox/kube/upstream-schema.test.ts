// Checks our Upstream schema against Gloo's CRD: every field path we keep exists there with the same type.
import { readFile } from "node:fs/promises";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { applySchema, schemaPaths } from "../../../src/sandbox/kube/schema.js";
import { upstreamSchema } from "../../../src/sandbox/kube/upstream-schema.js";

interface CrdNode {
  type?: string;
  properties?: Record<string, CrdNode>;
  items?: CrdNode;
  "x-kubernetes-int-or-string"?: boolean;
  "x-kubernetes-preserve-unknown-fields"?: boolean;
  nullable?: boolean;
}

async function glooSchema(): Promise<CrdNode> {
  // Gloo's CRD stays outside src/: the test reads it from the shared folder beside the repository.
  const text = await readFile(new URL("../../../../shared/gloo/upstream-crd.yaml", import.meta.url), "utf8");
  const crd = parse(text) as { spec: { versions: Array<{ name: string; schema: { openAPIV3Schema: CrdNode } }> } };
  const v1 = crd.spec.versions.find((v) => v.name === "v1");
  if (!v1) throw new Error("Gloo's CRD has no v1");
  return v1.schema.openAPIV3Schema;
}

function crdNodeAt(root: CrdNode, path: string): CrdNode | undefined {
  let node: CrdNode | undefined = root;
  for (const part of path.split(".")) {
    if (node === undefined) return undefined;
    const arrays = part.match(/\[\]/g)?.length ?? 0;
    node = node.properties?.[part.replaceAll("[]", "")];
    for (let i = 0; i < arrays; i++) node = node?.items;
  }
  return node;
}

describe("upstream schema vs Gloo's CRD", () => {
  it("keeps only field paths that Gloo's openAPIV3Schema has, with the same type", async () => {
    const gloo = await glooSchema();
    const ours = schemaPaths(upstreamSchema(), "").filter((p) => p.path !== "");
    expect(ours.length).toBeGreaterThan(40);
    const mismatches = ours.flatMap(({ path, type }) => {
      const theirs = crdNodeAt(gloo, path);
      if (theirs === undefined) return [`${path}: missing in Gloo's CRD`];
      return theirs.type === type ? [] : [`${path}: ours ${type}, Gloo's ${theirs.type ?? "untyped"}`];
    });
    expect(mismatches).toEqual([]);
  });

  it("covers every field credbroker reads or writes in the three cloud blocks", () => {
    const paths = new Set(schemaPaths(upstreamSchema(), "").map((p) => p.path));
    for (const p of [
      "spec.aws.region",
      "spec.aws.secretRef.name",
      "spec.aws.secretRef.namespace",
      "spec.aws.lambdaFunctions[].logicalName",
      "spec.aws.lambdaFunctions[].lambdaFunctionName",
      "spec.aws.lambdaFunctions[].qualifier",
      "spec.aws.roleArn",
      "spec.aws.awsAccountId",
      "spec.aws.disableRoleChaining",
      "spec.aws.destinationOverrides",
      "spec.azure.functionAppName",
      "spec.azure.secretRef.name",
      "spec.azure.functions[].functionName",
      "spec.azure.functions[].authLevel",
      "spec.awsEc2.region",
      "spec.awsEc2.roleArn",
      "spec.awsEc2.filters",
      "spec.awsEc2.publicIp",
      "spec.awsEc2.port",
      "status.statuses",
    ])
      expect(paths, p).toContain(p);
  });

  it("agrees with Gloo on int-or-string and on preserving unknown status fields", async () => {
    const gloo = await glooSchema();
    expect(crdNodeAt(gloo, "spec.azure.functions[].authLevel")?.["x-kubernetes-int-or-string"]).toBe(true);
    expect(crdNodeAt(gloo, "status")?.["x-kubernetes-preserve-unknown-fields"]).toBe(true);
    const result = applySchema({ spec: { azure: { functions: [{ functionName: "f", authLevel: 2 }] } }, status: { anything: { goes: [1] } } }, upstreamSchema(), "");
    expect(result.causes).toEqual([]);
    expect(result.value).toEqual({ spec: { azure: { functions: [{ functionName: "f", authLevel: 2 }] } }, status: { anything: { goes: [1] } } });
  });

  it("drops nulls of non-nullable fields, keeps nulls of nullable ones, and bounds integers", () => {
    const result = applySchema({ spec: { aws: { region: null }, useHttp2: null, awsEc2: { port: -1 } } }, upstreamSchema(), "");
    expect(result.value).toEqual({ spec: { aws: {}, useHttp2: null, awsEc2: { port: -1 } } });
    expect(result.causes.map((c) => c.field)).toEqual(["spec.awsEc2.port"]);
  });
});
