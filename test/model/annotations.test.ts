// Upstream annotations and labels: typed options, the discovery decision per mode, and the secret-reference policy.
import { describe, expect, it } from "vitest";
import {
  ANNOTATIONS,
  DISCOVERY_LABEL,
  discoveryDecision,
  discoveryWanted,
  parseSecretRefPolicy,
  parseUpstreamOptions,
  secretRefAllowed,
  type UpstreamMetaLike,
} from "../../src/model/annotations.js";

const meta = (annotations: Record<string, string> = {}, labels: Record<string, string> = {}, namespace = "team-a"): UpstreamMetaLike => ({
  namespace,
  annotations,
  labels,
});

describe("parseUpstreamOptions", () => {
  it("gives defaults when nothing is set", () => {
    expect(parseUpstreamOptions(meta())).toEqual({
      discovery: undefined,
      reverifyToken: undefined,
      functionFilter: { include: [], exclude: [] },
      lambdaQualifiers: ["latest"],
      azureCredentials: undefined,
      secretSource: undefined,
    });
  });

  it("reads every annotation", () => {
    const options = parseUpstreamOptions(
      meta({
        [ANNOTATIONS.discovery]: "Enabled",
        [ANNOTATIONS.reverify]: " 2025-03-01T10:00 ",
        [ANNOTATIONS.functionFilter]: "orders-*,!*-test",
        [ANNOTATIONS.lambdaQualifiers]: "latest,aliases",
        [ANNOTATIONS.azureCredentials]: "sp-creds",
        [ANNOTATIONS.secretSource]: "vault",
      }),
    );
    expect(options).toEqual({
      discovery: "enabled",
      reverifyToken: "2025-03-01T10:00",
      functionFilter: { include: ["orders-*"], exclude: ["*-test"] },
      lambdaQualifiers: ["latest", "aliases"],
      azureCredentials: { namespace: "team-a", name: "sp-creds" },
      secretSource: "vault",
    });
  });

  it("reads a namespaced azure-credentials reference and Gloo's label", () => {
    const options = parseUpstreamOptions(meta({ [ANNOTATIONS.azureCredentials]: "azure-system/sp" }, { [DISCOVERY_LABEL]: "disabled" }));
    expect(options.azureCredentials).toEqual({ namespace: "azure-system", name: "sp" });
    expect(options.discovery).toBe("disabled");
  });
});

describe("discoveryWanted", () => {
  const enabledNs = { [DISCOVERY_LABEL]: "enabled" };

  it("whitelist: only when enabled on the upstream or its namespace", () => {
    expect(discoveryWanted(meta(), {}, "whitelist")).toBe(false);
    expect(discoveryWanted(meta({ [ANNOTATIONS.discovery]: "enabled" }), {}, "whitelist")).toBe(true);
    expect(discoveryWanted(meta({}, { [DISCOVERY_LABEL]: "enabled" }), {}, "whitelist")).toBe(true);
    expect(discoveryWanted(meta(), enabledNs, "whitelist")).toBe(true);
  });

  it("the upstream's own setting wins over its namespace, the annotation over the label", () => {
    expect(discoveryWanted(meta({ [ANNOTATIONS.discovery]: "disabled" }), enabledNs, "whitelist")).toBe(false);
    expect(discoveryWanted(meta({ [ANNOTATIONS.discovery]: "enabled" }, { [DISCOVERY_LABEL]: "disabled" }), {}, "whitelist")).toBe(true);
  });

  it("blacklist: all but what is disabled, and kube-system only when enabled", () => {
    expect(discoveryWanted(meta(), {}, "blacklist")).toBe(true);
    expect(discoveryWanted(meta(), { [DISCOVERY_LABEL]: "disabled" }, "blacklist")).toBe(false);
    expect(discoveryWanted(meta({}, {}, "kube-system"), {}, "blacklist")).toBe(false);
    expect(discoveryWanted(meta({}, {}, "kube-public"), enabledNs, "blacklist")).toBe(true);
  });

  it("disabled: never", () => {
    expect(discoveryWanted(meta({ [ANNOTATIONS.discovery]: "enabled" }), enabledNs, "disabled")).toBe(false);
  });

  it("explains the decision and names a bad namespace label", () => {
    expect(discoveryDecision(meta(), {}, "whitelist").because).toContain("whitelist");
    expect(() => discoveryDecision(meta(), { [DISCOVERY_LABEL]: "maybe" }, "blacklist")).toThrow(
      expect.objectContaining({ field: `namespace.metadata.labels["${DISCOVERY_LABEL}"]` }) as Error,
    );
  });
});

describe("secretRefAllowed", () => {
  it("any allows every namespace", () => {
    expect(secretRefAllowed("any", "team-a", "gloo-system")).toBe(true);
  });

  it("same-namespace allows only the upstream's namespace", () => {
    expect(secretRefAllowed("same-namespace", "team-a", "team-a")).toBe(true);
    expect(secretRefAllowed("same-namespace", "team-a", "gloo-system")).toBe(false);
  });

  it("an allow-list allows its namespaces and the upstream's own", () => {
    const policy = { allow: ["gloo-system"] };
    expect(secretRefAllowed(policy, "team-a", "gloo-system")).toBe(true);
    expect(secretRefAllowed(policy, "team-a", "team-a")).toBe(true);
    expect(secretRefAllowed(policy, "team-a", "team-b")).toBe(false);
  });

  it("parses the setting and names it on a bad value", () => {
    expect(parseSecretRefPolicy(undefined)).toBe("any");
    expect(parseSecretRefPolicy("same-namespace")).toBe("same-namespace");
    expect(parseSecretRefPolicy({ allow: ["gloo-system"] })).toEqual({ allow: ["gloo-system"] });
    expect(parseSecretRefPolicy(["vault-secrets"])).toEqual({ allow: ["vault-secrets"] });
    expect(() => parseSecretRefPolicy("everyone")).toThrow(expect.objectContaining({ field: "secretRefPolicy", reason: "InvalidSetting" }) as Error);
  });
});
