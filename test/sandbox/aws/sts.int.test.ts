// STS in the AWS emulator, driven by the real @aws-sdk/client-sts over a socket.
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createAwsEmulator, type AwsEmulator, type AwsKeyPair } from "../../../src/sandbox/aws/index.js";
import { signedFetch } from "./signed-fetch.js";

const ACCOUNT = "123456789012";
const OTHER_ACCOUNT = "210987654321";
const REGION = "us-east-1";

interface SdkError {
  name: string;
  message: string;
  $metadata: { httpStatusCode?: number };
}

async function failure(promise: Promise<unknown>): Promise<SdkError> {
  try {
    await promise;
  } catch (err) {
    return err as SdkError;
  }
  throw new Error("expected the call to fail");
}

describe("AWS emulator: STS", () => {
  let aws: AwsEmulator;
  // The emulator clock starts at real time (the SDK signs with real time) and only moves when a test says so.
  let nowMs = Date.now();
  let gateway: AwsKeyPair;
  let stranger: AwsKeyPair;
  const clients: STSClient[] = [];

  function sts(credentials: AwsKeyPair & { sessionToken?: string }): STSClient {
    const client = new STSClient({ endpoint: aws.url, region: REGION, credentials, maxAttempts: 1 });
    clients.push(client);
    return client;
  }

  beforeAll(async () => {
    aws = await createAwsEmulator({ clock: () => nowMs });
    gateway = aws.addUser(ACCOUNT, "gateway");
    stranger = aws.addUser(OTHER_ACCOUNT, "stranger");
    aws.addRole(ACCOUNT, "discovery", { trust: [`arn:aws:iam::${ACCOUNT}:user/gateway`] });
    aws.addRole(ACCOUNT, "chained", { trust: [`arn:aws:iam::${ACCOUNT}:role/discovery`] });
  });

  beforeEach(() => {
    nowMs = Date.now();
    aws.faults.reset();
    aws.counters.reset();
  });

  afterAll(async () => {
    for (const client of clients) client.destroy();
    await aws.close();
  });

  it("answers GetCallerIdentity with the user's account, ARN and AIDA user id", async () => {
    const identity = await sts(gateway).send(new GetCallerIdentityCommand({}));
    expect(identity.Account).toBe(ACCOUNT);
    expect(identity.Arn).toBe(`arn:aws:iam::${ACCOUNT}:user/gateway`);
    expect(identity.UserId).toMatch(/^AIDA[A-Z0-9]{17}$/);
    expect(identity.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(aws.counters.get("sts:GetCallerIdentity", "ok")).toBe(1);
    expect(aws.counters.callsFor("sts:GetCallerIdentity", ACCOUNT, REGION)).toBe(1);
  });

  it("generates AWS-shaped keys", () => {
    expect(gateway.accessKeyId).toMatch(/^AKIA[A-Z0-9]{16}$/);
    expect(gateway.secretAccessKey).toHaveLength(40);
  });

  it("refuses a wrong secret with SignatureDoesNotMatch (403)", async () => {
    const err = await failure(sts({ ...gateway, secretAccessKey: "0".repeat(40) }).send(new GetCallerIdentityCommand({})));
    expect(err.name).toBe("SignatureDoesNotMatch");
    expect(err.$metadata.httpStatusCode).toBe(403);
    expect(aws.counters.get("sts:GetCallerIdentity", "denied")).toBe(1);
  });

  it("refuses an unknown access key with InvalidClientTokenId (403)", async () => {
    const err = await failure(sts({ accessKeyId: "AKIAUNKNOWNUNKNOWN00", secretAccessKey: gateway.secretAccessKey }).send(new GetCallerIdentityCommand({})));
    expect(err.name).toBe("InvalidClientTokenId");
    expect(err.message).toBe("The security token included in the request is invalid.");
    expect(err.$metadata.httpStatusCode).toBe(403);
  });

  it("refuses a deactivated key with InvalidClientTokenId", async () => {
    const spare = aws.addAccessKey(ACCOUNT, "gateway");
    await expect(sts(spare).send(new GetCallerIdentityCommand({}))).resolves.toMatchObject({ Account: ACCOUNT });
    aws.deactivateKey(spare.accessKeyId);
    expect((await failure(sts(spare).send(new GetCallerIdentityCommand({})))).name).toBe("InvalidClientTokenId");
  });

  it("refuses a request signed more than 15 minutes from the emulator clock", async () => {
    nowMs += 16 * 60 * 1000;
    const err = await failure(sts(gateway).send(new GetCallerIdentityCommand({})));
    expect(err.name).toBe("SignatureDoesNotMatch");
    expect(err.message).toMatch(/^Signature expired: \d{8}T\d{6}Z is now earlier than/);
  });

  it("issues ASIA session credentials on AssumeRole that identify as the assumed role", async () => {
    const assumed = await sts(gateway).send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${ACCOUNT}:role/discovery`, RoleSessionName: "credbroker", DurationSeconds: 900 }));
    const creds = assumed.Credentials!;
    expect(creds.AccessKeyId).toMatch(/^ASIA[A-Z0-9]{16}$/);
    expect(creds.SessionToken!.length).toBeGreaterThan(100);
    expect(creds.Expiration!.getTime()).toBe(Math.floor((nowMs + 900_000) / 1000) * 1000);
    expect(assumed.AssumedRoleUser?.Arn).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/discovery/credbroker`);
    const identity = await sts({ accessKeyId: creds.AccessKeyId!, secretAccessKey: creds.SecretAccessKey!, sessionToken: creds.SessionToken! }).send(new GetCallerIdentityCommand({}));
    expect(identity.Arn).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/discovery/credbroker`);
    expect(identity.Account).toBe(ACCOUNT);
    expect(identity.UserId).toMatch(/^AROA[A-Z0-9]{17}:credbroker$/);
    expect(aws.counters.get("sts:AssumeRole", "ok")).toBe(1);
  });

  it("lets a role session assume a role that trusts the first role (chaining)", async () => {
    const first = (await sts(gateway).send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${ACCOUNT}:role/discovery`, RoleSessionName: "first" }))).Credentials!;
    const session = { accessKeyId: first.AccessKeyId!, secretAccessKey: first.SecretAccessKey!, sessionToken: first.SessionToken! };
    const second = await sts(session).send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${ACCOUNT}:role/chained`, RoleSessionName: "second" }));
    expect(second.AssumedRoleUser?.Arn).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/chained/second`);
  });

  it("denies AssumeRole to a caller the trust policy does not name, and for an unknown role alike", async () => {
    const roleArn = `arn:aws:iam::${ACCOUNT}:role/discovery`;
    const err = await failure(sts(stranger).send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: "probe" })));
    expect(err.name).toBe("AccessDenied");
    expect(err.$metadata.httpStatusCode).toBe(403);
    expect(err.message).toBe(`User: arn:aws:iam::${OTHER_ACCOUNT}:user/stranger is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`);
    const missing = `arn:aws:iam::${ACCOUNT}:role/does-not-exist`;
    const unknown = await failure(sts(gateway).send(new AssumeRoleCommand({ RoleArn: missing, RoleSessionName: "probe" })));
    expect(unknown.name).toBe("AccessDenied");
    expect(unknown.message).toBe(`User: arn:aws:iam::${ACCOUNT}:user/gateway is not authorized to perform: sts:AssumeRole on resource: ${missing}`);
    expect(aws.counters.get("sts:AssumeRole", "denied")).toBe(2);
  });

  it("rejects a DurationSeconds beyond the role's maximum with ValidationError", async () => {
    const err = await failure(sts(gateway).send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${ACCOUNT}:role/discovery`, RoleSessionName: "long", DurationSeconds: 7200 })));
    expect(err.name).toBe("ValidationError");
    expect(err.$metadata.httpStatusCode).toBe(400);
  });

  it("answers ExpiredToken once the emulator clock passes the session's expiration", async () => {
    const creds = (await sts(gateway).send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${ACCOUNT}:role/discovery`, RoleSessionName: "short", DurationSeconds: 900 }))).Credentials!;
    const session = sts({ accessKeyId: creds.AccessKeyId!, secretAccessKey: creds.SecretAccessKey!, sessionToken: creds.SessionToken! });
    nowMs += 899_000;
    await expect(session.send(new GetCallerIdentityCommand({}))).resolves.toMatchObject({ Account: ACCOUNT });
    nowMs += 2_000;
    const err = await failure(session.send(new GetCallerIdentityCommand({})));
    expect(err.name).toBe("ExpiredToken");
    expect(err.$metadata.httpStatusCode).toBe(400);
  });

  it("answers ExpiredToken for credentials issued in-process with a short life", async () => {
    const creds = aws.issueSessionCredentials(ACCOUNT, "discovery", { expiresAtMs: nowMs + 1_000 });
    nowMs += 1_000;
    expect((await failure(sts(creds).send(new GetCallerIdentityCommand({})))).name).toBe("ExpiredToken");
  });

  it("refuses a session token that belongs to another temporary key with InvalidClientTokenId", async () => {
    const a = aws.issueSessionCredentials(ACCOUNT, "discovery", { durationSeconds: 3600 });
    const b = aws.issueSessionCredentials(ACCOUNT, "discovery", { durationSeconds: 3600 });
    expect((await failure(sts({ ...a, sessionToken: b.sessionToken }).send(new GetCallerIdentityCommand({})))).name).toBe("InvalidClientTokenId");
    expect((await failure(sts({ accessKeyId: a.accessKeyId, secretAccessKey: a.secretAccessKey }).send(new GetCallerIdentityCommand({})))).name).toBe("InvalidClientTokenId");
  });

  it("answers injected throttling as Throttling (400) and injected errors as InternalFailure (500)", async () => {
    aws.faults.set({ throttleRate: 1, operations: ["sts:GetCallerIdentity"] });
    const throttled = await failure(sts(gateway).send(new GetCallerIdentityCommand({})));
    expect(throttled.name).toBe("Throttling");
    expect(throttled.message).toBe("Rate exceeded");
    expect(throttled.$metadata.httpStatusCode).toBe(400);
    aws.faults.set({ throttleRate: 0, errorRate: 1 });
    const broken = await failure(sts(gateway).send(new GetCallerIdentityCommand({})));
    expect(broken.name).toBe("InternalFailure");
    expect(broken.$metadata.httpStatusCode).toBe(500);
    expect(aws.counters.get("sts:GetCallerIdentity", "throttled")).toBe(1);
    expect(aws.counters.get("sts:GetCallerIdentity", "error")).toBe(1);
    expect(aws.counters.callsFor("sts:GetCallerIdentity", ACCOUNT, REGION, "throttled")).toBe(1);
  });

  it("drops the connection during an injected outage", async () => {
    aws.faults.set({ outage: true });
    const err = await failure(sts(gateway).send(new GetCallerIdentityCommand({})));
    expect((err as SdkError & { code?: string }).code).toBe("ECONNRESET");
    expect(err.$metadata.httpStatusCode).toBeUndefined();
    expect(aws.counters.get("sts:GetCallerIdentity", "error")).toBe(1);
  });

  it("answers errors in STS's XML shape with the 2011-06-15 namespace and a RequestId", async () => {
    const res = await signedFetch({
      endpoint: aws.url,
      method: "POST",
      pathAndQuery: "/",
      region: REGION,
      service: "sts",
      ...gateway,
      secretAccessKey: "wrong-secret",
      body: "Action=GetCallerIdentity&Version=2011-06-15",
      headers: { "content-type": "application/x-www-form-urlencoded; charset=utf-8" },
    });
    expect(res.status).toBe(403);
    expect(res.headers.get("content-type")).toBe("text/xml");
    const xml = await res.text();
    expect(xml).toMatch(
      /<ErrorResponse xmlns="https:\/\/sts\.amazonaws\.com\/doc\/2011-06-15\/">\s*<Error>\s*<Type>Sender<\/Type>\s*<Code>SignatureDoesNotMatch<\/Code>\s*<Message>[^<]+<\/Message>\s*<\/Error>\s*<RequestId>[0-9a-f-]{36}<\/RequestId>\s*<\/ErrorResponse>/,
    );
  });

  it("accepts the presigned query-string form of SigV4", async () => {
    const res = await signedFetch({ endpoint: aws.url, pathAndQuery: "/?Action=GetCallerIdentity&Version=2011-06-15", region: REGION, service: "sts", ...gateway, presign: true });
    expect(res.status).toBe(200);
    const xml = await res.text();
    expect(xml).toContain('<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">');
    expect(xml).toContain(`<Account>${ACCOUNT}</Account>`);
  });

  it("answers an unsigned request with MissingAuthenticationToken", async () => {
    const res = await fetch(`${aws.url}/?Action=GetCallerIdentity&Version=2011-06-15`);
    expect(res.status).toBe(403);
    expect(await res.text()).toContain("<Code>MissingAuthenticationToken</Code>");
  });
});
