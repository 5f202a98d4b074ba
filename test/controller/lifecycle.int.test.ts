import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JsonObject } from "../../src/model/fields.js";
import { readOwnStatus } from "../../src/model/status.js";
import { startSandbox, SAMPLE_AWS, type Sandbox } from "../../src/sandbox/index.js";
import { UPSTREAMS } from "../../src/sandbox/kube/index.js";
import { eventually, sandboxConfig, startTestBroker, type HarnessBroker } from "../support/broker-harness.js";

type Lambda = { logicalName: string; lambdaFunctionName: string; qualifier?: string };

describe("a running broker follows changes", () => {
  let sandbox: Sandbox;
  let broker: HarnessBroker;
  const get = (ns: string, name: string) => sandbox.kube.get(UPSTREAMS, ns, name)!;
  const status = (ns: string, name: string) => readOwnStatus(get(ns, name), "credbroker");
  const lambdas = (ns: string, name: string) => ((get(ns, name).spec as { aws: { lambdaFunctions?: Lambda[] } }).aws.lambdaFunctions ?? []).map((f) => f.logicalName);
  const edit = (ns: string, name: string, change: (u: JsonObject) => void) => {
    const u = structuredClone(get(ns, name));
    change(u);
    sandbox.kube.apply(u);
  };
  const annotate = (ns: string, name: string, key: string, value: string) =>
    edit(ns, name, (u) => {
      const m = u.metadata as { annotations?: Record<string, string> };
      m.annotations = { ...m.annotations, [key]: value };
    });

  beforeAll(async () => {
    sandbox = await startSandbox();
    broker = await startTestBroker(sandboxConfig(sandbox));
    await eventually("orders-lambda published", () => lambdas("team-orders", "orders-lambda").length === 3);
    await eventually("payments-vault accepted", () => status("team-payments", "payments-vault")?.state === "Accepted");
  });

  afterAll(async () => {
    await broker?.stop();
    await sandbox?.close();
  });

  it("keeps a hand-written entry and drops a Lambda that was deleted", async () => {
    edit("team-orders", "orders-lambda", (u) => {
      const aws = (u.spec as { aws: { lambdaFunctions: Lambda[] } }).aws;
      aws.lambdaFunctions = [...aws.lambdaFunctions, { logicalName: "hand-made", lambdaFunctionName: "legacy-fn", qualifier: "7" }];
    });
    sandbox.aws.removeFunction(SAMPLE_AWS.accountId, "us-east-1", "orders-list");
    annotate("team-orders", "orders-lambda", "credbroker.io/reverify", "after-delete");
    await eventually("orders-list removed", () => !lambdas("team-orders", "orders-lambda").includes("orders-list"));
    expect(lambdas("team-orders", "orders-lambda")).toEqual(["hand-made", "orders-create", "orders-create:live"]);
    const hand = (get("team-orders", "orders-lambda").spec as { aws: { lambdaFunctions: Lambda[] } }).aws.lambdaFunctions.find((f) => f.logicalName === "hand-made");
    expect(hand).toEqual({ logicalName: "hand-made", lambdaFunctionName: "legacy-fn", qualifier: "7" });
  });

  it("starts discovery when the annotation is added", async () => {
    expect(lambdas("team-orders", "orders-legacy")).toEqual([]);
    annotate("team-orders", "orders-legacy", "discovery.solo.io/function_discovery", "enabled");
    await eventually("orders-legacy discovered", () => lambdas("team-orders", "orders-legacy").length > 0, 5000);
    // Same keys, region and options as payments-vault (discovered through its namespace label):
    // the shared discovery result is reused within the cache TTL, so both lists are the same.
    expect(lambdas("team-orders", "orders-legacy")).toEqual(lambdas("team-payments", "payments-vault"));
    expect(lambdas("team-orders", "orders-legacy")).toEqual(expect.arrayContaining(["orders-create", "orders-test", "payments-charge"]));
  });

  it("re-verifies against STS, bypassing the shared cache, when the reverify annotation changes", async () => {
    const misses = async () => ((await broker.metrics.cloudCache.get()).values.find((v) => v.labels.kind === "verify" && v.labels.result === "miss")?.value ?? 0);
    const stsBefore = sandbox.aws.counters.callsFor("sts:GetCallerIdentity", SAMPLE_AWS.accountId, "eu-west-1");
    const missesBefore = await misses();
    const verifiedBefore = status("team-orders", "orders-ec2")!.details.lastVerified!;
    expect(verifiedBefore).toBeDefined();
    annotate("team-orders", "orders-ec2", "credbroker.io/reverify", "now");
    await eventually("lastVerified to move", () => status("team-orders", "orders-ec2")!.details.lastVerified !== verifiedBefore, 5000);
    // orders-ec2 is the only upstream verified in eu-west-1: the new call is its forced one, past the cache.
    expect(sandbox.aws.counters.callsFor("sts:GetCallerIdentity", SAMPLE_AWS.accountId, "eu-west-1")).toBe(stsBefore + 1);
    expect(await misses()).toBeGreaterThan(missesBefore);
    expect(Date.parse(status("team-orders", "orders-ec2")!.details.lastVerified!)).toBeGreaterThan(Date.parse(verifiedBefore));
    expect(status("team-orders", "orders-ec2")!.state).toBe("Accepted");
  });

  it("re-verifies an upstream with discovery with one STS call, not one for verification and one for discovery", async () => {
    const sts = () => sandbox.aws.counters.callsFor("sts:GetCallerIdentity", SAMPLE_AWS.accountId, "us-east-1");
    const before = sts();
    const verifiedBefore = status("team-orders", "orders-lambda")!.details.lastVerified!;
    annotate("team-orders", "orders-lambda", "credbroker.io/reverify", "with-discovery");
    await eventually("lastVerified to move", () => status("team-orders", "orders-lambda")!.details.lastVerified !== verifiedBefore, 5000);
    expect(sts() - before).toBe(1);
  });

  it("keeps the last verdict while Vault is sealed, showing the condition Unknown, and recovers", async () => {
    sandbox.vault.seal();
    annotate("team-payments", "payments-vault", "credbroker.io/reverify", "sealed");
    await eventually("SecretResolved Unknown", () => status("team-payments", "payments-vault")?.details.conditions.find((c) => c.type === "SecretResolved")?.status === "Unknown", 10_000);
    const sealed = status("team-payments", "payments-vault")!;
    expect(sealed.state).toBe("Accepted");
    expect(sealed.details.conditions.find((c) => c.type === "SecretResolved")?.reason).toBe("SecretSourceUnavailable");
    sandbox.vault.unseal();
    await eventually("SecretResolved True again", () => status("team-payments", "payments-vault")?.details.conditions.find((c) => c.type === "SecretResolved")?.status === "True", 15_000);
  });

  it("keeps the last verdict through an AWS outage, with ProviderUnavailable", async () => {
    sandbox.aws.faults.set({ outage: true });
    try {
      annotate("team-orders", "orders-ec2", "credbroker.io/reverify", "outage");
      await eventually("Authenticated Unknown", () => status("team-orders", "orders-ec2")?.details.conditions.find((c) => c.type === "Authenticated")?.status === "Unknown", 10_000);
      const s = status("team-orders", "orders-ec2")!;
      expect(s.state).toBe("Accepted");
      expect(s.details.conditions.find((c) => c.type === "Authenticated")?.reason).toMatch(/^(ProviderUnavailable|Timeout)$/);
    } finally {
      sandbox.aws.faults.reset();
    }
    await eventually("Authenticated True again", () => status("team-orders", "orders-ec2")?.details.conditions.find((c) => c.type === "Authenticated")?.status === "True", 15_000);
  });

  it("turns Rejected into Accepted when a bad secret is fixed, with an Event", async () => {
    expect(status("team-orders", "orders-wrong-key")?.state).toBe("Rejected");
    const secret = structuredClone(sandbox.kube.get({ group: "", version: "v1", resource: "secrets" }, "team-orders", "aws-wrong")!);
    (secret.data as Record<string, string>).aws_secret_access_key = Buffer.from(SAMPLE_AWS.secretAccessKey).toString("base64");
    sandbox.kube.apply(secret);
    await eventually("orders-wrong-key accepted after rotation", () => status("team-orders", "orders-wrong-key")?.state === "Accepted", 10_000);
    // The Event is written right after the status, by its own request.
    await eventually("a Normal Event for orders-wrong-key", () =>
      sandbox.kube.list({ group: "", version: "v1", resource: "events" }, "team-orders").some((e) => (e.involvedObject as { name: string }).name === "orders-wrong-key" && e.type === "Normal"),
    );
  });

  it("forgets a deleted upstream: no error, and its metric series is gone", async () => {
    sandbox.kube.delete(UPSTREAMS, "team-orders", "orders-ec2");
    await eventually("view gone", () => broker.controller.view("team-orders/orders-ec2") === undefined);
    const metrics = await broker.metrics.render();
    expect(metrics).not.toMatch(/credbroker_upstream_state\{[^}]*name="orders-ec2"/);
    expect(metrics).toMatch(/credbroker_upstream_state\{[^}]*name="orders-lambda"/);
  });

  it("never logs a secret value: keys, the service-account JWT, or any Vault token", () => {
    const text = broker.logs.join("");
    const jwt = readFileSync(sandbox.info.vault.jwtFile, "utf8").trim();
    for (const secret of [SAMPLE_AWS.secretAccessKey, sandbox.info.vault.token, "not/the/right/secret/key/EXAMPLEKEY000000", jwt, jwt.split(".")[2]!]) expect(text).not.toContain(secret);
    expect(text).not.toMatch(/hvs\.[A-Za-z0-9_-]{16,}/);
    expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.eyJ/);
  });
});
