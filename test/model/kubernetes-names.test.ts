// Names of Secrets and namespaces in specs and annotations are checked as Kubernetes checks them: a bad one is InvalidSpec, not SecretNotFound.
import { describe, expect, it } from "vitest";
import { ANNOTATIONS, annotationField, parseSecretName, parseUpstreamOptions } from "../../src/model/annotations.js";
import { MAX_ERROR_MESSAGE_BYTES } from "../../src/model/errors.js";
import { isDnsLabel, isDnsSubdomain } from "../../src/model/fields.js";
import { parseKubernetesSecret } from "../../src/model/secret-formats.js";
import { echoName, MAX_ECHO_BYTES } from "../../src/model/text.js";
import { notManagedBecause, parseUpstream, type OtherUpstream } from "../../src/model/upstream.js";
import { failure } from "./secret-values.js";


const bytes = (s: string): number => Buffer.byteLength(s, "utf8");
const metadata = { name: "u1", namespace: "team-a" };
const aws = (secretRef: unknown): unknown => ({ metadata, spec: { aws: { region: "us-east-1", secretRef } } });

describe("Kubernetes names", () => {
  it("knows a DNS-1123 label and subdomain at their limits", () => {
    expect(isDnsLabel("a".repeat(63))).toBe(true);
    expect(isDnsLabel("a".repeat(64))).toBe(false);
    expect(isDnsLabel("a.b")).toBe(false);
    expect(isDnsSubdomain(`${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(61)}`)).toBe(true);
    expect(isDnsSubdomain("a".repeat(254))).toBe(false);
    for (const bad of ["", "A", "-a", "a-", "a..b", ".a", "a.", "a_b", " a", "a\n", "ä"]) expect(isDnsSubdomain(bad)).toBe(false);
  });

  const illegal: readonly [label: string, name: string][] = [
    ["upper case", "AwsCreds"],
    ["an underscore", "aws_creds"],
    ["a slash", "gloo-system/creds"],
    ["a trailing newline", "creds\n"],
    ["a leading space", " creds"],
    ["254 characters", "a".repeat(254)],
    ["10 kB", "n".repeat(10_000)],
    ["a zero-width space", "cr\u200Beds"],
  ];

  it.each(illegal)("a secretRef.name with %s is InvalidSpec on the field, without the name", (_label, name) => {
    const err = failure(() => parseUpstream(aws({ name })));
    expect(err).toMatchObject({ reason: "InvalidSpec", field: "spec.aws.secretRef.name" });
    expect(err.message).toMatch(/^spec\.aws\.secretRef\.name: must be a Kubernetes object name/);
    expect(bytes(err.message)).toBeLessThan(300);
  });

  it.each([
    ["upper case", "Gloo-System"],
    ["a dot", "gloo.system"],
    ["64 characters", "a".repeat(64)],
  ])("a secretRef.namespace with %s is InvalidSpec on the field", (_label, namespace) => {
    expect(failure(() => parseUpstream(aws({ name: "creds", namespace })))).toMatchObject({ reason: "InvalidSpec", field: "spec.aws.secretRef.namespace" });
  });

  it("checks the secretRef of azure and awsEc2 upstreams too", () => {
    const azure = { metadata, spec: { azure: { functionAppName: "app", secretRef: { name: "Bad_Name" } } } };
    expect(failure(() => parseUpstream(azure))).toMatchObject({ reason: "InvalidSpec", field: "spec.azure.secretRef.name" });
    const ec2 = { metadata, spec: { awsEc2: { region: "us-east-1", secretRef: { name: "c", namespace: "NS" } } } };
    expect(failure(() => parseUpstream(ec2))).toMatchObject({ reason: "InvalidSpec", field: "spec.awsEc2.secretRef.namespace" });
  });

  it("accepts a dotted Secret name of 253 characters", () => {
    const name = `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(61)}`;
    const u = parseUpstream(aws({ name }));
    expect(u.kind === "aws" ? u.spec.secretRef : undefined).toEqual({ name, namespace: "team-a" });
  });

  it("checks the upstream's own name and namespace", () => {
    expect(failure(() => parseUpstream({ metadata: { name: "U1", namespace: "team-a" }, spec: {} }))).toMatchObject({ reason: "InvalidSpec", field: "metadata.name" });
    expect(failure(() => parseUpstream({ metadata: { name: "u1", namespace: "team_a" }, spec: {} }))).toMatchObject({ reason: "InvalidSpec", field: "metadata.namespace" });
  });

  it("checks the azure-credentials annotation's name and namespace, never echoing them", () => {
    const field = annotationField(ANNOTATIONS.azureCredentials);
    for (const value of ["Bad_Name", "ns/Bad_Name", "NS/creds", `${"n".repeat(10_000)}`, "a/b/c"]) {
      const err = failure(() => parseSecretName(value, field, "team-a"));
      expect(err).toMatchObject({ reason: "InvalidSpec", field });
      expect(err.message).not.toContain("Bad_Name");
      expect(bytes(err.message)).toBeLessThan(300);
    }
    const meta = { namespace: "team-a", labels: {}, annotations: { [ANNOTATIONS.azureCredentials]: "sp_creds" } };
    expect(failure(() => parseUpstreamOptions(meta))).toMatchObject({ reason: "InvalidSpec", field });
  });
});

describe("messages and fields that repeat a name from input are bounded", () => {
  it("echoName caps and makes control characters visible", () => {
    expect(bytes(echoName("x".repeat(10_000)))).toBeLessThanOrEqual(MAX_ECHO_BYTES);
    expect(echoName("a\nb\u200Bc")).toBe("a\\u{000A}b\\u{200B}c");
    expect(echoName("short")).toBe("short");
  });

  it("caps a 10 kB label key in the field path", () => {
    const key = "k".repeat(10_000);
    const err = failure(() => parseUpstream({ metadata: { ...metadata, labels: { [key]: 3 } }, spec: {} }));
    expect(err.reason).toBe("InvalidSpec");
    expect(bytes(err.field ?? "")).toBeLessThanOrEqual(MAX_ECHO_BYTES + 20);
    expect(bytes(err.message)).toBeLessThan(200);
  });

  it("caps a 10 kB function name in Gloo's azure keys", () => {
    const name = "f".repeat(10_000);
    const err = failure(() => parseKubernetesSecret({ stringData: { azure: `apiKeys:\n  ${name}: 3\n` } }));
    expect(err.reason).toBe("SecretMalformed");
    expect(bytes(err.field ?? "")).toBeLessThan(200);
    expect(bytes(err.message)).toBeLessThan(MAX_ERROR_MESSAGE_BYTES);
  });

  it("caps a 10 kB upstream type in the reason credbroker leaves it alone", () => {
    const u = parseUpstream({ metadata, spec: { ["t".repeat(10_000)]: {} } });
    expect(u.kind).toBe("other");
    expect(bytes(notManagedBecause(u as OtherUpstream))).toBeLessThan(200);
  });
});
