// The AWS emulator's refusals, hangs, clock offset and fault validation, as the real SDK v3 clients meet them.
import { LambdaClient, ListFunctionsCommand } from "@aws-sdk/client-lambda";
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createAwsEmulator, type AwsEmulator, type AwsKeyPair } from "../../../src/sandbox/aws/index.js";
import { AWS_OPERATIONS } from "../../../src/sandbox/aws/operations.js";
import { FaultSettingsError } from "../../../src/sandbox/common/faults.js";

const ACCOUNT = "123456789012";
const REGION = "us-east-1";
const TWENTY_MINUTES_MS = 20 * 60 * 1000;

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

describe("AWS emulator: refusals, hangs, clock offset and validated fault settings", () => {
  let aws: AwsEmulator;
  let gateway: AwsKeyPair;
  const clients: { destroy(): void }[] = [];

  function sts(maxAttempts = 1): STSClient {
    const client = new STSClient({ endpoint: aws.url, region: REGION, credentials: gateway, maxAttempts });
    clients.push(client);
    return client;
  }

  function lambda(maxAttempts = 1): LambdaClient {
    const client = new LambdaClient({ endpoint: aws.url, region: REGION, credentials: gateway, maxAttempts });
    clients.push(client);
    return client;
  }

  beforeAll(async () => {
    // random() = 0 makes every configured rate fire.
    aws = await createAwsEmulator({ random: () => 0 });
    gateway = aws.addUser(ACCOUNT, "gateway", { permissions: { lambdaList: ["*"] } });
    aws.addRole(ACCOUNT, "discovery", { trust: [`arn:aws:iam::${ACCOUNT}:user/gateway`] });
  });

  beforeEach(() => {
    aws.faults.reset();
    aws.counters.reset();
  });

  afterAll(async () => {
    for (const client of clients) client.destroy();
    await aws.close();
  });

  describe("denyRate", () => {
    it("refuses STS with 403 AccessDenied naming the caller and the role", async () => {
      aws.faults.set({ denyRate: 1, operations: ["sts:AssumeRole"] });
      const roleArn = `arn:aws:iam::${ACCOUNT}:role/discovery`;
      const err = await failure(sts().send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: "credbroker" })));
      expect(err.name).toBe("AccessDenied");
      expect(err.$metadata.httpStatusCode).toBe(403);
      expect(err.message).toBe(`User: arn:aws:iam::${ACCOUNT}:user/gateway is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`);
      expect(aws.counters.callsFor("sts:AssumeRole", ACCOUNT, REGION, "denied")).toBe(1);
      // Only the named operation is refused.
      expect((await sts().send(new GetCallerIdentityCommand({}))).Account).toBe(ACCOUNT);
    });

    it("answers a 401 as STS does a credential it does not accept: 403 InvalidClientTokenId", async () => {
      aws.faults.set({ denyRate: 1, denyStatus: 401 });
      const err = await failure(sts().send(new GetCallerIdentityCommand({})));
      expect(err.name).toBe("InvalidClientTokenId");
      expect(err.$metadata.httpStatusCode).toBe(403);
      expect(err.message).toBe("The security token included in the request is invalid.");
    });

    it("refuses Lambda with 403 AccessDeniedException, and a 401 as UnrecognizedClientException", async () => {
      aws.faults.set({ denyRate: 1, operations: ["lambda:ListFunctions"] });
      const denied = await failure(lambda().send(new ListFunctionsCommand({})));
      expect(denied.name).toBe("AccessDeniedException");
      expect(denied.$metadata.httpStatusCode).toBe(403);
      expect(denied.message).toContain(`User: arn:aws:iam::${ACCOUNT}:user/gateway is not authorized to perform: lambda:ListFunctions on resource: *`);
      aws.faults.set({ denyStatus: 401 });
      const unrecognised = await failure(lambda().send(new ListFunctionsCommand({})));
      expect(unrecognised.name).toBe("UnrecognizedClientException");
      expect(unrecognised.$metadata.httpStatusCode).toBe(403);
      expect(aws.counters.get("lambda:ListFunctions", "denied")).toBe(2);
    });
  });

  describe("hang", () => {
    it("accepts and never answers, until the client's deadline ends the call", async () => {
      aws.faults.set({ hang: true, operations: ["sts:GetCallerIdentity"] });
      const err = await failure(sts().send(new GetCallerIdentityCommand({}), { abortSignal: AbortSignal.timeout(300) }));
      expect(err.name).toMatch(/AbortError|TimeoutError/);
      expect(err.$metadata?.httpStatusCode).toBeUndefined();
      expect(aws.counters.get("sts:GetCallerIdentity", "hung")).toBe(1);
    });

    it("ends hung connections when the emulator closes", async () => {
      const other = await createAwsEmulator();
      const keys = other.addUser(ACCOUNT, "gateway");
      other.faults.set({ hang: true });
      const client = new STSClient({ endpoint: other.url, region: REGION, credentials: keys, maxAttempts: 1 });
      try {
        const pending = failure(client.send(new GetCallerIdentityCommand({})));
        // The request must have reached the emulator before it closes.
        await expect.poll(() => other.counters.get("sts:GetCallerIdentity", "hung"), { timeout: 5_000 }).toBe(1);
        // A generous bound: close() must not wait for the client to give up (it has no deadline here).
        await Promise.race([other.close(), new Promise((_, reject) => setTimeout(() => reject(new Error("close() waited on a hung request")), 5_000))]);
        const err = await pending;
        expect(err.$metadata?.httpStatusCode).toBeUndefined();
      } finally {
        client.destroy();
      }
    });
  });

  describe("clockOffsetMs", () => {
    it("rejects a request signed 20 minutes off as real STS does, then the same client corrects its clock from the Date header", async () => {
      aws.faults.set({ clockOffsetMs: TWENTY_MINUTES_MS });
      const client = sts();
      const first = await failure(client.send(new GetCallerIdentityCommand({})));
      expect(first.name).toBe("SignatureDoesNotMatch");
      expect(first.message).toMatch(/^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 15 min\.\)$/);
      // The SDK read the emulator's Date header and now signs with the corrected clock.
      expect((await client.send(new GetCallerIdentityCommand({}))).Account).toBe(ACCOUNT);
      expect(aws.counters.get("sts:GetCallerIdentity", "denied")).toBe(1);
      expect(aws.counters.get("sts:GetCallerIdentity", "ok")).toBe(1);
    });

    it("lets an SDK client with retries on succeed at once: the skew error is retried with the corrected clock", async () => {
      aws.faults.set({ clockOffsetMs: -TWENTY_MINUTES_MS });
      const identity = await sts(3).send(new GetCallerIdentityCommand({}));
      expect(identity.Account).toBe(ACCOUNT);
      expect(aws.counters.get("sts:GetCallerIdentity", "denied")).toBe(1);
    });

    it("does the same for Lambda (InvalidSignatureException, then success)", async () => {
      aws.faults.set({ clockOffsetMs: TWENTY_MINUTES_MS });
      const client = lambda();
      expect((await failure(client.send(new ListFunctionsCommand({})))).name).toBe("InvalidSignatureException");
      expect((await client.send(new ListFunctionsCommand({}))).Functions).toEqual([]);
    });

    it("stamps every answer with the offset clock and issues sessions that expire on it", async () => {
      aws.faults.set({ clockOffsetMs: -TWENTY_MINUTES_MS });
      const res = await fetch(aws.url, { method: "POST", body: "Action=GetCallerIdentity&Version=2011-06-15", headers: { "content-type": "application/x-www-form-urlencoded" } });
      expect(res.status).toBe(403);
      const stamped = Date.parse(res.headers.get("date") ?? "");
      expect(Math.abs(stamped - (Date.now() - TWENTY_MINUTES_MS))).toBeLessThan(60_000);
      const session = aws.issueSessionCredentials(ACCOUNT, "discovery", { durationSeconds: 900 });
      expect(Math.abs(session.expiresAtMs - (Date.now() - TWENTY_MINUTES_MS + 900_000))).toBeLessThan(60_000);
    });
  });

  describe("validated fault settings", () => {
    it("refuses a misspelt operation with 400 listing the valid ones, and keeps the settings it had", async () => {
      aws.faults.set({ errorRate: 0.5 });
      const res = await fetch(`${aws.url}/__sandbox/faults`, { method: "PUT", body: JSON.stringify({ errorRate: 1, operations: ["sts:GetCallerIdentiy"] }) });
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: string; field: string; validOperations: string[] };
      expect(body.field).toBe("operations");
      expect(body.error).toContain('"sts:GetCallerIdentiy"');
      expect(body.validOperations).toEqual([...AWS_OPERATIONS]);
      expect(aws.faults.current.errorRate).toBe(0.5);
      expect(() => aws.faults.set({ operations: ["lambda:ListFunction"] })).toThrow(FaultSettingsError);
    });

    it("lists its operation names over the admin route", async () => {
      const res = await fetch(`${aws.url}/__sandbox/operations`);
      expect(((await res.json()) as { operations: string[] }).operations).toContain("lambda:ListAliases");
    });

    it("counts an unserved STS action as sts:Unknown, whatever its text", async () => {
      const res = await fetch(aws.url, { method: "POST", body: "Action=GetSessionToken&Version=2011-06-15", headers: { "content-type": "application/x-www-form-urlencoded" } });
      expect(res.status).toBe(403);
      expect(aws.counters.get("sts:Unknown")).toBe(1);
      expect(aws.counters.get("sts:GetSessionToken")).toBe(0);
    });
  });
});
