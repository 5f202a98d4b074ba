// Sessions credbroker assumed itself, against the AWS emulator: refused or expired mid-discovery they are transient and assumed again; a role that does not trust the broker stays a verdict naming it.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { AwsProvider } from "../../../src/cloud/aws/aws-provider.js";
import type { AwsDiscoverRequest, AwsVerifyRequest, DiscoverResult } from "../../../src/cloud/provider.js";
import type { VerifiedIdentity } from "../../../src/model/cloud-results.js";
import type { AwsCredentials } from "../../../src/model/credentials.js";
import { MATCH_ALL } from "../../../src/model/function-filter.js";
import { silentCloudTelemetry, type CloudTelemetry } from "../../../src/runtime/telemetry.js";
import { createAwsEmulator, type AwsEmulator } from "../../../src/sandbox/aws/index.js";
import { ErrorCollector } from "../leak-check.js";

const ACCOUNT = "111122223333";
const BROKER_ACCOUNT = "444455556666";
const REGION = "eu-west-1";
/** The emulator's clock moved past the end of a one-hour session (AssumeRole's default). */
const PAST_SESSION_END_MS = 3_600_000 + 60_000;

describe("sessions credbroker assumed itself", () => {
  let aws: AwsEmulator;
  let provider: AwsProvider;
  let keys: AwsCredentials;
  let broker: AwsCredentials;
  let roleArn: string;
  let brokerRoleArn: string;
  let untrustingRoleArn: string;
  const collector = new ErrorCollector();
  const secrets: string[] = [];
  /** Runs once after the next successful ListFunctions page (then disarms): the moment "mid-listing". */
  let afterFirstPage: (() => void) | undefined;

  const telemetry: CloudTelemetry = {
    ...silentCloudTelemetry(),
    providerCalls: {
      inc: (labels) => {
        if (labels.operation !== "lambda:ListFunctions" || labels.result !== "ok" || afterFirstPage === undefined) return;
        const hook = afterFirstPage;
        afterFirstPage = undefined;
        hook();
      },
    },
  };

  const withRole = (extra: Partial<AwsVerifyRequest> = {}): AwsVerifyRequest => ({ kind: "aws", region: REGION, credentials: keys, roleArn, ...extra });
  const listing = (request: AwsVerifyRequest): AwsDiscoverRequest => ({ ...request, qualifiers: ["latest"], filter: MATCH_ALL });
  const assumed = (): number => aws.counters.get("sts:AssumeRole", "ok");

  async function verified(request: AwsVerifyRequest): Promise<VerifiedIdentity> {
    const result = collector.add(await provider.verify(request));
    if (result.status !== "valid") throw new Error(`expected a valid verification, got ${result.status}: ${result.error.message}`);
    return result.identity;
  }

  /** Discovers until listed or rejected, at most `attempts` times, as the work queue's retries would. */
  async function discoverUntilSettled(request: AwsDiscoverRequest, identity: VerifiedIdentity, attempts: number): Promise<DiscoverResult[]> {
    const results: DiscoverResult[] = [];
    for (let i = 0; i < attempts; i++) {
      const result = collector.add(await provider.discover(request, { identity }));
      results.push(result);
      if (result.status !== "unknown") break;
    }
    return results;
  }

  beforeAll(async () => {
    aws = await createAwsEmulator();
    keys = { kind: "awsKeys", ...aws.addUser(ACCOUNT, "gateway") };
    broker = { kind: "awsKeys", ...aws.addUser(BROKER_ACCOUNT, "broker") };
    roleArn = aws.addRole(ACCOUNT, "discovery", { trust: [ACCOUNT], permissions: { lambdaList: ["*"] } });
    brokerRoleArn = aws.addRole(ACCOUNT, "for-broker", { trust: [`arn:aws:iam::${BROKER_ACCOUNT}:user/broker`], permissions: { lambdaList: ["*"] } });
    untrustingRoleArn = aws.addRole(ACCOUNT, "gateway-only", { trust: [ACCOUNT], permissions: { lambdaList: ["*"] } });
    secrets.push(keys.accessKeyId, keys.secretAccessKey, broker.accessKeyId, broker.secretAccessKey);
    // More than one page (50), so a refusal can land in the middle of a listing.
    aws.addFunctions(ACCOUNT, REGION, 120, "fleet");
    provider = new AwsProvider({
      settings: { stsEndpoint: aws.url, lambdaEndpoint: aws.url, allowAmbientCredentials: true, lambdaRequestsPerSecond: 15, aliasConcurrency: 2 },
      telemetry,
      requestTimeoutMs: 2_000,
      ambientCredentials: () => Promise.resolve({ accessKeyId: broker.accessKeyId, secretAccessKey: broker.secretAccessKey }),
    });
  });

  beforeEach(() => {
    aws.faults.reset();
    aws.resetLambdaQuota();
    afterFirstPage = undefined;
  });

  afterAll(async () => {
    provider.close();
    await aws.close();
  });

  it("reads the session refused right after AssumeRole (not yet propagated) as unknown, not InvalidAccessKey", async () => {
    // The first test: no session is held before it.
    // 401 on GetCallerIdentity is STS's InvalidClientTokenId: AssumeRole accepted the keys, then the session was not recognised.
    aws.faults.set({ denyRate: 1, denyStatus: 401, operations: ["sts:GetCallerIdentity"] });
    const result = collector.add(await provider.verify(withRole()));
    expect(result).toMatchObject({ status: "unknown", error: { reason: "ProviderUnavailable", retryable: true, code: "InvalidClientTokenId" } });
    expect(provider.sessionsHeld).toBe(0);
    aws.faults.reset();
    expect((await provider.verify(withRole())).status).toBe("valid");
  });

  it("still rejects the upstream's own key refused the same way (InvalidAccessKey): the verdict side", async () => {
    aws.faults.set({ denyRate: 1, denyStatus: 401, operations: ["sts:GetCallerIdentity"] });
    const result = collector.add(await provider.verify({ kind: "aws", region: REGION, credentials: keys }));
    expect(result).toMatchObject({ status: "rejected", error: { reason: "InvalidAccessKey", retryable: false } });
  });

  it.each([
    ["the upstream's keys", (): AwsVerifyRequest => withRole()],
    ["the broker's ambient credentials", (): AwsVerifyRequest => ({ kind: "aws", region: REGION, roleArn: brokerRoleArn })],
  ])("drops a session revoked mid-listing (assumed from %s) and assumes the role again on the retry", async (_from, build) => {
    const request = build();
    const identity = await verified(request);
    const held = provider.sessionsHeld;
    // From the second page on, Lambda refuses the session's key (401 → UnrecognizedClientException), as for a revoked session.
    afterFirstPage = () => aws.faults.set({ denyRate: 1, denyStatus: 401, operations: ["lambda:ListFunctions"] });
    const refused = collector.add(await provider.discover(listing(request), { identity }));
    expect(refused).toMatchObject({ status: "unknown", error: { reason: "ProviderUnavailable", retryable: true, code: "UnrecognizedClientException" } });
    expect(provider.sessionsHeld).toBe(held - 1);

    aws.faults.reset();
    const before = assumed();
    const retried = collector.add(await provider.discover(listing(request), { identity }));
    expect(retried.status).toBe("listed");
    if (retried.status === "listed") expect(retried.functions).toHaveLength(120);
    // The refused session was not presented again: the retry assumed the role anew.
    expect(assumed()).toBe(before + 1);
  });

  it("treats a session that expires mid-listing as unknown, never ExpiredSessionToken, and lists again with a new session", async () => {
    const identity = await verified(withRole());
    const held = provider.sessionsHeld;
    // The emulator's clock jumps past the session's end between two pages of one listing.
    afterFirstPage = () => aws.faults.set({ clockOffsetMs: PAST_SESSION_END_MS });
    const expired = collector.add(await provider.discover(listing(withRole()), { identity }));
    expect(expired).toMatchObject({ status: "unknown", error: { reason: "ProviderUnavailable", retryable: true, code: "ExpiredTokenException" } });
    expect(expired.status !== "listed" && expired.error.message).toContain("expired before the call");
    expect(provider.sessionsHeld).toBe(held - 1);

    // The clock stays where it jumped: the SDK corrects its offset from AWS's Date (at most one ClockSkew on the way), never a verdict.
    const before = assumed();
    const results = await discoverUntilSettled(listing(withRole()), identity, 4);
    const last = results.at(-1);
    expect(last?.status).toBe("listed");
    for (const r of results.slice(0, -1)) expect(r).toMatchObject({ status: "unknown", error: { reason: "ClockSkew" } });
    expect(assumed()).toBe(before + 1);
  });

  it("keeps ExpiredSessionToken a verdict for a session token from the upstream's own Secret", async () => {
    const session = aws.issueSessionCredentials(ACCOUNT, "discovery", { durationSeconds: 900 });
    secrets.push(session.accessKeyId, session.secretAccessKey, session.sessionToken);
    aws.faults.set({ clockOffsetMs: 901_000 });
    const result = collector.add(await provider.verify({ kind: "aws", region: REGION, credentials: { kind: "awsKeys", ...session } }));
    expect(result).toMatchObject({ status: "rejected", error: { reason: "ExpiredSessionToken", retryable: false } });
  });

  it("rejects a role whose trust policy does not trust the broker's identity (AssumeRoleDenied), naming that identity and the fix", async () => {
    const result = collector.add(await provider.verify({ kind: "aws", region: REGION, roleArn: untrustingRoleArn }));
    expect(result).toMatchObject({ status: "rejected", error: { reason: "AssumeRoleDenied", retryable: false } });
    if (result.status === "valid") return;
    expect(result.error.message).toContain(`the trust policy of spec.aws.roleArn does not let the broker's own identity (arn:aws:iam::${BROKER_ACCOUNT}:user/broker, account ${BROKER_ACCOUNT}) assume it`);
    expect(result.error.message).toContain("trust that identity in the role, or give the upstream a secretRef");
  });

  it("never puts a key, a secret or a session token in an error or a result", () => {
    expect(collector.texts.length).toBeGreaterThan(10);
    expect(collector.leaked(secrets)).toEqual([]);
  });
});
