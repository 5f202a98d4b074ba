import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readOwnStatus } from "../../src/model/status.js";
import { startSandbox, SAMPLE_AWS, SAMPLE_AZURE, type Sandbox } from "../../src/sandbox/index.js";
import { UPSTREAMS } from "../../src/sandbox/kube/index.js";
import { upstreamValidator } from "../model/crd-schema.js";
import { eventually, sandboxConfig, startTestBroker, type HarnessBroker } from "../support/broker-harness.js";

const GLOO_STATUS = { state: 1, reason: "", reportedBy: "gloo", details: { kept: true } };

describe("credbroker run against the sandbox (sample world)", () => {
  let sandbox: Sandbox;
  let broker: HarnessBroker;
  const get = (ns: string, name: string) => sandbox.kube.get(UPSTREAMS, ns, name)!;
  const status = (ns: string, name: string) => readOwnStatus(get(ns, name), "credbroker");

  beforeAll(async () => {
    sandbox = await startSandbox();
    const u = get("team-orders", "orders-lambda");
    sandbox.kube.apply({ ...u, status: { statuses: { "gloo-system": GLOO_STATUS, other: { state: "Warning", reportedBy: "someone" } } } });
    broker = await startTestBroker(sandboxConfig(sandbox));
    await eventually("every cloud upstream to have a verdict", () =>
      ["orders-lambda", "orders-legacy", "orders-wrong-key", "orders-ec2", "orders-azure"].every((n) => {
        const s = status("team-orders", n);
        return s !== undefined && s.state !== "Pending";
      }) && status("team-payments", "payments-vault") !== undefined,
    );
  });

  afterAll(async () => {
    await broker?.stop();
    await sandbox?.close();
  });

  it("accepts good credentials from every Gloo format and source, with the identity", () => {
    for (const [ns, name] of [["team-orders", "orders-lambda"], ["team-orders", "orders-legacy"], ["team-orders", "orders-ec2"], ["team-payments", "payments-vault"]] as const) {
      const s = status(ns, name)!;
      expect({ name, state: s.state }).toEqual({ name, state: "Accepted" });
      expect(s.details.identity).toEqual({ provider: "aws", account: SAMPLE_AWS.accountId, arn: `arn:aws:iam::${SAMPLE_AWS.accountId}:user/gateway` });
      expect(s.details.conditions.find((c) => c.type === "SecretResolved")?.status).toBe("True");
    }
    expect(status("team-payments", "payments-vault")!.details.conditions[0]!.message).toContain("vault:");
  });

  it("rejects a wrong secret key with a stable reason and an Event, without printing the key", async () => {
    const s = status("team-orders", "orders-wrong-key")!;
    expect(s.state).toBe("Rejected");
    expect(s.details.conditions.find((c) => c.type === "Authenticated")).toMatchObject({ status: "False", reason: "InvalidSecretKey" });
    expect(JSON.stringify(get("team-orders", "orders-wrong-key"))).not.toContain("not/the/right/secret");
    // The Event follows the status by its own request.
    await eventually("a Warning Event for orders-wrong-key", () =>
      sandbox.kube.list({ group: "", version: "v1", resource: "events" }, "team-orders").some((e) => (e.involvedObject as { name: string }).name === "orders-wrong-key" && e.reason === "InvalidSecretKey" && e.type === "Warning"),
    );
  });

  it("publishes discovered Lambda functions with the filter and qualifiers asked for", () => {
    const spec = get("team-orders", "orders-lambda").spec as { aws: { lambdaFunctions: unknown[] } };
    expect(spec.aws.lambdaFunctions).toEqual([
      { lambdaFunctionName: "orders-create", logicalName: "orders-create", qualifier: "$LATEST" },
      { lambdaFunctionName: "orders-create", logicalName: "orders-create:live", qualifier: "live" },
      { lambdaFunctionName: "orders-list", logicalName: "orders-list", qualifier: "$LATEST" },
    ]);
    expect(status("team-orders", "orders-lambda")!.details.functions).toEqual({ discovered: 3, published: 3, truncated: false });
  });

  it("publishes Azure functions with their auth levels and verifies the function keys", () => {
    const s = status("team-orders", "orders-azure")!;
    expect(s.state).toBe("Accepted");
    expect(s.details.identity).toMatchObject({ provider: "azure", tenantId: SAMPLE_AZURE.tenantId, clientId: SAMPLE_AZURE.clientId });
    const spec = get("team-orders", "orders-azure").spec as { azure: { functions: unknown[] } };
    expect(spec.azure.functions).toEqual([
      { functionName: "create-order", authLevel: "Function" },
      { functionName: "list-orders", authLevel: "Anonymous" },
      { functionName: "purge-orders", authLevel: "Admin" },
    ]);
  });

  it("leaves Gloo's status key and every other key untouched, and other upstream types alone", () => {
    const u = get("team-orders", "orders-lambda") as { status: { statuses: Record<string, unknown> } };
    expect(u.status.statuses["gloo-system"]).toEqual(GLOO_STATUS);
    expect(u.status.statuses.other).toEqual({ state: "Warning", reportedBy: "someone" });
    expect(status("team-payments", "static-backend")).toBeUndefined();
  });

  it("writes objects that validate against Gloo's real Upstream CRD", () => {
    const validate = upstreamValidator({ pruning: true });
    for (const u of sandbox.kube.list(UPSTREAMS)) {
      const { apiVersion: _a, kind: _k, metadata: _m, ...rest } = u;
      expect(validate(rest), `${JSON.stringify((u.metadata as { name: string }).name)}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
  });

  it("never logs a secret value", () => {
    const text = broker.logs.join("");
    expect(text.length).toBeGreaterThan(0);
    const jwt = readFileSync(sandbox.info.vault.jwtFile, "utf8").trim();
    for (const secret of [SAMPLE_AWS.secretAccessKey, SAMPLE_AZURE.clientSecret, SAMPLE_AZURE.masterKey, SAMPLE_AZURE.createOrderKey, sandbox.info.vault.token, jwt]) {
      expect(text).not.toContain(secret);
    }
    // No Vault token the broker was issued, and no JWT, in any form.
    expect(text).not.toMatch(/hvs\.[A-Za-z0-9_-]{16,}/);
    expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.eyJ/);
  });
});
