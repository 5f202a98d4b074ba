// AwsProvider against the AWS emulator with the real SDK clients: every reason, rejected vs unknown, and no secret anywhere.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { AwsProvider, type AwsProviderSettings } from "../../../src/cloud/aws/aws-provider.js";
import { toDiscoveredLambda } from "../../../src/cloud/aws/lambda-entries.js";
import type { AwsVerifyRequest } from "../../../src/cloud/provider.js";
import type { Config } from "../../../src/config.js";
import type { AwsCredentials } from "../../../src/model/credentials.js";
import { MATCH_ALL, parseFunctionFilter } from "../../../src/model/function-filter.js";
import { lambdaEntries } from "../../support/function-lists.js";
import { Metrics } from "../../../src/observability/metrics.js";
import { createAwsEmulator, type AwsEmulator } from "../../../src/sandbox/aws/index.js";
import { ErrorCollector } from "../leak-check.js";

const ACCOUNT = "111122223333";
const OTHER_ACCOUNT = "444455556666";
const REGION = "eu-west-1";

describe("AwsProvider against the AWS emulator", () => {
  let aws: AwsEmulator;
  let provider: AwsProvider;
  let metrics: Metrics;
  let keys: AwsCredentials;
  let noLambda: AwsCredentials;
  let ambient: AwsCredentials;
  const collector = new ErrorCollector();
  const secrets: string[] = [];
  let roleArn: string;
  let deniedRoleArn: string;

  const req = (extra: Partial<AwsVerifyRequest> = {}): AwsVerifyRequest => ({ kind: "aws", region: REGION, credentials: keys, ...extra });

  beforeAll(async () => {
    aws = await createAwsEmulator();
    const k = aws.addUser(ACCOUNT, "gateway", { permissions: { lambdaList: [REGION] } });
    keys = { kind: "awsKeys", ...k };
    const n = aws.addUser(ACCOUNT, "no-lambda");
    noLambda = { kind: "awsKeys", ...n };
    const a = aws.addUser(OTHER_ACCOUNT, "broker", { permissions: { lambdaList: ["*"] } });
    ambient = { kind: "awsKeys", ...a };
    roleArn = aws.addRole(ACCOUNT, "discovery", { trust: [ACCOUNT], permissions: { lambdaList: ["*"] } });
    deniedRoleArn = aws.addRole(OTHER_ACCOUNT, "locked", { trust: ["999999999999"] });
    secrets.push(keys.secretAccessKey, noLambda.secretAccessKey, ambient.secretAccessKey);
    aws.addFunction(ACCOUNT, REGION, { name: "orders", versions: 2, aliases: [{ name: "live", version: 2 }, { name: "canary", version: 1 }] });
    aws.addFunction(ACCOUNT, REGION, { name: "orders-test" });
    aws.addFunctions(ACCOUNT, REGION, 70, "fleet");
    metrics = new Metrics();
    const settings: AwsProviderSettings = { stsEndpoint: aws.url, lambdaEndpoint: aws.url, allowAmbientCredentials: true, lambdaRequestsPerSecond: 15, aliasConcurrency: 4 };
    provider = new AwsProvider({
      settings,
      telemetry: metrics,
      requestTimeoutMs: 1_000,
      ambientCredentials: () => Promise.resolve({ accessKeyId: ambient.accessKeyId, secretAccessKey: ambient.secretAccessKey }),
    });
  });

  beforeEach(() => {
    aws.faults.reset();
  });

  afterAll(async () => {
    provider.close();
    await aws.close();
  });

  it("accepts the settings type of the configuration", () => {
    const fromConfig: Config["aws"] = { allowAmbientCredentials: false, lambdaRequestsPerSecond: 10, aliasConcurrency: 4, requestTimeoutMs: 10_000 };
    const settings: AwsProviderSettings = fromConfig;
    expect(settings.lambdaRequestsPerSecond).toBe(10);
  });

  it("verifies valid keys with the caller's account and ARN", async () => {
    const result = collector.add(await provider.verify(req({ awsAccountId: ACCOUNT })));
    expect(result).toEqual({ status: "valid", identity: { provider: "aws", account: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:user/gateway` } });
  });

  it("verifies awsEc2 upstreams the same way", async () => {
    const result = collector.add(await provider.verify({ kind: "awsEc2", region: "us-east-1", credentials: keys }));
    expect(result.status).toBe("valid");
  });

  it("assumes the role first and reports the assumed identity", async () => {
    const result = collector.add(await provider.verify(req({ roleArn, awsAccountId: ACCOUNT })));
    expect(result).toMatchObject({ status: "valid", identity: { account: ACCOUNT, arn: `arn:aws:sts::${ACCOUNT}:assumed-role/discovery/credbroker` } });
    expect(aws.counters.get("sts:AssumeRole", "ok")).toBeGreaterThanOrEqual(1);
  });

  it("uses ambient credentials when there is no secretRef and the setting allows it", async () => {
    const result = collector.add(await provider.verify({ kind: "aws", region: REGION }));
    expect(result).toMatchObject({ status: "valid", identity: { account: OTHER_ACCOUNT } });
  });

  it("rejects a missing secretRef when ambient credentials are not allowed", async () => {
    const strict = new AwsProvider({ settings: { stsEndpoint: aws.url, lambdaEndpoint: aws.url, allowAmbientCredentials: false, lambdaRequestsPerSecond: 10, aliasConcurrency: 1 } });
    const result = collector.add(await strict.verify({ kind: "aws", region: REGION }));
    strict.close();
    expect(result).toMatchObject({ status: "rejected", error: { reason: "InvalidSpec" } });
  });

  it.each([
    ["an unknown access key", () => req({ credentials: { ...keys, accessKeyId: "AKIAUNKNOWNKEY000000" } }), "InvalidAccessKey"],
    ["a wrong secret key", () => req({ credentials: { ...keys, secretAccessKey: `${keys.secretAccessKey.slice(0, -4)}XXXX` } }), "InvalidSecretKey"],
    ["a role it may not assume", () => req({ roleArn: deniedRoleArn }), "AssumeRoleDenied"],
    ["another account than awsAccountId", () => req({ awsAccountId: OTHER_ACCOUNT }), "AccountMismatch"],
  ])("rejects %s permanently", async (_what, build, reason) => {
    const result = collector.add(await provider.verify(build()));
    expect(result.status).toBe("rejected");
    if (result.status !== "valid") {
      expect(result.error.reason).toBe(reason);
      expect(result.error.retryable).toBe(false);
    }
  });

  it("rejects a deactivated key as InvalidAccessKey", async () => {
    const extra = aws.addAccessKey(ACCOUNT, "gateway");
    secrets.push(extra.secretAccessKey);
    aws.deactivateKey(extra.accessKeyId);
    const result = collector.add(await provider.verify(req({ credentials: { kind: "awsKeys", ...extra } })));
    expect(result).toMatchObject({ status: "rejected", error: { reason: "InvalidAccessKey", retryable: false } });
  });

  it("rejects an expired session token as ExpiredSessionToken", async () => {
    const session = aws.issueSessionCredentials(ACCOUNT, "discovery", { expiresAtMs: Date.now() - 60_000 });
    secrets.push(session.secretAccessKey, session.sessionToken);
    const result = collector.add(await provider.verify(req({ credentials: { kind: "awsKeys", ...session } })));
    expect(result).toMatchObject({ status: "rejected", error: { reason: "ExpiredSessionToken", retryable: false } });
  });

  it("verifies a live session token", async () => {
    const session = aws.issueSessionCredentials(ACCOUNT, "discovery");
    secrets.push(session.secretAccessKey, session.sessionToken);
    const result = collector.add(await provider.verify(req({ credentials: { kind: "awsKeys", ...session } })));
    expect(result.status).toBe("valid");
  });

  it("rejects discovery without the list permission as DiscoveryDenied, after a successful verification", async () => {
    const verified = collector.add(await provider.verify(req({ credentials: noLambda })));
    expect(verified.status).toBe("valid");
    const result = collector.add(await provider.discover({ ...req({ credentials: noLambda }), qualifiers: ["latest"], filter: MATCH_ALL }));
    expect(result).toMatchObject({ status: "rejected", error: { reason: "DiscoveryDenied", retryable: false } });
  });

  it.each([
    ["throttled", { throttleRate: 1 }, "Throttled"],
    ["answering 5xx", { errorRate: 1 }, "ProviderUnavailable"],
    ["down", { outage: true }, "ProviderUnavailable"],
  ])("reports STS %s as unknown (%s)", async (_what, faults, reason) => {
    aws.faults.set(faults);
    const result = collector.add(await provider.verify(req()));
    expect(result).toMatchObject({ status: "unknown", error: { reason, retryable: true } });
  });

  it("reports a call slower than the request timeout as unknown Timeout", async () => {
    aws.faults.set({ latencyMs: 1_500, operations: ["sts:GetCallerIdentity"] });
    const result = collector.add(await provider.verify(req()));
    expect(result).toMatchObject({ status: "unknown", error: { reason: "Timeout", retryable: true } });
  });

  it("reports Lambda's quota (429 TooManyRequestsException) as unknown Throttled once retries are spent", async () => {
    // Its own provider (own pacer, no retries), so the throttling does not slow the other tests.
    const impatient = new AwsProvider({
      settings: { stsEndpoint: aws.url, lambdaEndpoint: aws.url, allowAmbientCredentials: false, lambdaRequestsPerSecond: 15, aliasConcurrency: 1 },
      telemetry: metrics,
      maxThrottleRetries: 0,
    });
    aws.setLambdaRateLimit(1);
    try {
      // The first sweep drains the 1-token quota, so the second one's first call is refused.
      await impatient.discover({ ...req(), qualifiers: ["latest"], filter: MATCH_ALL });
      const result = collector.add(await impatient.discover({ ...req(), qualifiers: ["latest"], filter: MATCH_ALL }));
      expect(result).toMatchObject({ status: "unknown", error: { reason: "Throttled", retryable: true } });
      expect(aws.counters.callsFor("lambda:ListFunctions", ACCOUNT, REGION, "throttled")).toBeGreaterThanOrEqual(1);
    } finally {
      impatient.close();
      aws.setLambdaRateLimit(15);
      // The next test must not inherit the drained bucket (faster reused clients would meet it).
      aws.resetLambdaQuota();
    }
  });

  it("discovers latest, versions and aliases through paging, filtered and sorted", async () => {
    const result = collector.add(
      await provider.discover({ ...req(), qualifiers: ["latest", "versions", "aliases"], filter: parseFunctionFilter("orders*,!*-test", "a") }),
    );
    expect(result.status).toBe("listed");
    if (result.status !== "listed") return;
    expect(result.functions.map((f) => (f.provider === "aws" ? `${f.functionName}:${f.qualifier}` : ""))).toEqual([
      "orders:$LATEST",
      "orders:1",
      "orders:2",
      "orders:canary",
      "orders:live",
    ]);
    const entries = lambdaEntries(toDiscoveredLambda(result.functions), ["latest", "aliases"], MATCH_ALL);
    expect(entries.map((e) => e.logicalName)).toEqual(["orders", "orders:canary", "orders:live"]);
    // Aliases are listed only for the functions the filter kept.
    expect(aws.counters.callsFor("lambda:ListAliases", ACCOUNT, REGION)).toBe(1);
  });

  it("discovers every function across pages with the role's session", async () => {
    const result = collector.add(await provider.discover({ ...req({ roleArn }), qualifiers: ["latest"], filter: MATCH_ALL }));
    expect(result.status).toBe("listed");
    if (result.status === "listed") expect(result.functions).toHaveLength(72);
  });

  it("never puts a secret in an error, a result, or a metric label", async () => {
    expect(collector.texts.length).toBeGreaterThan(20);
    expect(collector.leaked(secrets)).toEqual([]);
    const rendered = await metrics.render();
    expect(rendered).toContain('credbroker_provider_calls_total{provider="aws",operation="sts:GetCallerIdentity",result="InvalidSecretKey"}');
    for (const s of secrets) expect(rendered).not.toContain(s);
  });
});
