// Parsing of valid Upstreams: every cloud type, defaults, Azure auth levels in every encoding, other types.
import { describe, expect, it } from "vitest";
import { ValidationError } from "../../src/model/errors.js";
import { parseUpstream, secretRefOf, type CloudUpstream } from "../../src/model/upstream.js";

const metadata = { name: "u1", namespace: "team-a", generation: 4, resourceVersion: "99", labels: { app: "x" } };

function cloud(obj: unknown): CloudUpstream {
  const parsed = parseUpstream(obj);
  if (parsed.kind === "other") throw new Error("expected a cloud upstream");
  return parsed;
}

describe("parseUpstream", () => {
  it("reads an aws upstream and defaults secretRef.namespace to the upstream's", () => {
    const u = cloud({ metadata, spec: { aws: { region: "eu-west-1", secretRef: { name: "creds" }, lambdaFunctions: [{ logicalName: "a", lambdaFunctionName: "a" }] } } });
    expect(u.kind).toBe("aws");
    expect(secretRefOf(u)).toEqual({ name: "creds", namespace: "team-a" });
    expect(u.meta).toMatchObject({ generation: 4, resourceVersion: "99", labels: { app: "x" }, annotations: {} });
  });

  it("keeps an explicit secretRef.namespace", () => {
    const u = cloud({ metadata, spec: { awsEc2: { region: "us-west-2", secretRef: { name: "c", namespace: "gloo-system" }, port: 8080 } } });
    expect(u.kind).toBe("awsEc2");
    expect(secretRefOf(u)).toEqual({ name: "c", namespace: "gloo-system" });
  });

  it("reads authLevel as a name, an integer and a digit string", () => {
    const u = cloud({
      metadata,
      spec: {
        azure: {
          functionAppName: "app",
          functions: [
            { functionName: "a", authLevel: 0 },
            { functionName: "b", authLevel: 1 },
            { functionName: "c", authLevel: 2 },
            { functionName: "d", authLevel: "1" },
            { functionName: "e", authLevel: "Admin" },
            { functionName: "f" },
          ],
        },
      },
    });
    if (u.kind !== "azure") throw new Error("expected azure");
    expect(u.spec.functions.map((f) => f.authLevel)).toEqual(["Anonymous", "Function", "Admin", "Function", "Admin", "Anonymous"]);
  });

  it.each([
    [{ static: { hosts: [{ addr: "example.com", port: 80 }] } }, "static"],
    [{ kube: { serviceName: "svc", serviceNamespace: "ns", servicePort: 80 }, useHttp2: true }, "kube"],
    [{ sslConfig: {}, gcp: { host: "x" } }, "gcp"],
    [{}, undefined],
  ])("recognises %j as kind other", (spec, upstreamType) => {
    expect(parseUpstream({ metadata, spec })).toMatchObject({ kind: "other", upstreamType });
  });

  describe("more than one upstream type (Gloo's upstream_type is a oneof)", () => {
    const aws = { region: "us-east-1", secretRef: { name: "creds" } };
    const azure = { functionAppName: "app" };
    const awsEc2 = { region: "us-west-2" };
    const staticHosts = { hosts: [{ addr: "example.com", port: 80 }] };
    const kube = { serviceName: "svc", serviceNamespace: "ns", servicePort: 80 };

    function invalid(spec: Record<string, unknown>): ValidationError {
      try {
        parseUpstream({ metadata, spec });
      } catch (err) {
        if (err instanceof ValidationError) return err;
        throw err;
      }
      throw new Error("expected InvalidSpec");
    }

    it.each([
      [{ aws, static: staticHosts }, "aws and static"],
      [{ aws, azure }, "aws and azure"],
      [{ kube, awsEc2 }, "awsEc2 and kube"],
      [{ static: staticHosts, azure, aws, useHttp2: true }, "aws, azure and static"],
      // An empty message still sets a oneof member.
      [{ aws, static: {} }, "aws and static"],
    ])("rejects %j as InvalidSpec naming the types", (spec, found) => {
      const err = invalid(spec);
      expect(err.reason).toBe("InvalidSpec");
      expect(err.field).toBe("spec");
      expect(err.retryable).toBe(false);
      expect(err.message).toBe(`spec: exactly one upstream type may be set, found ${found}`);
    });

    it("names the types even when the cloud one is malformed too", () => {
      expect(invalid({ aws: { region: "nowhere" }, static: staticHosts }).message).toBe("spec: exactly one upstream type may be set, found aws and static");
    });

    it("still parses a single type next to common settings and null members", () => {
      expect(cloud({ metadata, spec: { aws, static: null, sslConfig: {}, useHttp2: true } }).kind).toBe("aws");
      expect(cloud({ metadata, spec: { azure } }).kind).toBe("azure");
      expect(cloud({ metadata, spec: { awsEc2 } }).kind).toBe("awsEc2");
    });

    it("leaves two types credbroker does not manage to Gloo (kind other, nothing to publish)", () => {
      expect(parseUpstream({ metadata, spec: { kube, static: staticHosts } })).toMatchObject({ kind: "other" });
    });
  });
});
