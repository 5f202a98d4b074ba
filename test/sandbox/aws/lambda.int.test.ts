// Lambda in the AWS emulator, driven by the real @aws-sdk/client-lambda over a socket.
import {
  GetFunctionCommand,
  LambdaClient,
  ListAliasesCommand,
  ListFunctionsCommand,
  ListVersionsByFunctionCommand,
  type FunctionConfiguration,
} from "@aws-sdk/client-lambda";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createAwsEmulator, type AwsEmulator, type AwsKeyPair } from "../../../src/sandbox/aws/index.js";
import { signedFetch } from "./signed-fetch.js";

const ACCOUNT = "123456789012";
const FLEET_ACCOUNT = "444455556666";
const QUOTA_ACCOUNT = "777788889999";
const EAST = "us-east-1";
const WEST = "eu-west-1";

interface SdkError {
  name: string;
  message: string;
  Reason?: string;
  $metadata: { httpStatusCode?: number };
  $response?: { headers: Record<string, string> };
}

async function failure(promise: Promise<unknown>): Promise<SdkError> {
  try {
    await promise;
  } catch (err) {
    return err as SdkError;
  }
  throw new Error("expected the call to fail");
}

describe("AWS emulator: Lambda", () => {
  let aws: AwsEmulator;
  let nowMs = Date.now();
  let reader: AwsKeyPair;
  let eastOnly: AwsKeyPair;
  let fleetReader: AwsKeyPair;
  let quotaReader: AwsKeyPair;
  const clients: { destroy(): void }[] = [];

  function lambda(credentials: AwsKeyPair & { sessionToken?: string }, region = EAST): LambdaClient {
    const client = new LambdaClient({ endpoint: aws.url, region, credentials, maxAttempts: 1 });
    clients.push(client);
    return client;
  }

  beforeAll(async () => {
    aws = await createAwsEmulator({ clock: () => nowMs });
    aws.applySeed({
      accounts: [
        {
          id: ACCOUNT,
          users: [
            { name: "reader", lambdaRegions: ["*"] },
            { name: "east-only", lambdaRegions: [EAST] },
          ],
          roles: [{ name: "lister", trust: [ACCOUNT], lambdaRegions: [WEST] }],
          functions: [
            { region: EAST, name: "orders", versions: 3, aliases: [{ name: "live", version: 3, description: "production" }, { name: "canary", version: 2 }, { name: "dev", version: "$LATEST" }] },
            { region: EAST, name: "payments" },
            { region: WEST, name: "eu-orders", versions: 1 },
          ],
        },
      ],
    });
    // Keys added after the seed so the test holds them; the seed returns generated keys as well.
    reader = aws.addAccessKey(ACCOUNT, "reader");
    eastOnly = aws.addAccessKey(ACCOUNT, "east-only");
    fleetReader = aws.addUser(FLEET_ACCOUNT, "fleet", { permissions: { lambdaList: ["*"] } });
    aws.addFunctions(FLEET_ACCOUNT, EAST, 5_000, "fleet");
    quotaReader = aws.addUser(QUOTA_ACCOUNT, "quota", { permissions: { lambdaList: ["*"] } });
    aws.addFunction(QUOTA_ACCOUNT, EAST, { name: "probe" });
  });

  beforeEach(() => {
    nowMs = Date.now();
    aws.faults.reset();
    aws.counters.reset();
    aws.resetLambdaQuota();
  });

  afterAll(async () => {
    for (const client of clients) client.destroy();
    await aws.close();
  });

  it("pages through 5,000 functions with ListFunctions, returning each exactly once", async () => {
    const client = lambda(fleetReader);
    const seen = new Map<string, number>();
    let marker: string | undefined;
    let pages = 0;
    do {
      const page = await client.send(new ListFunctionsCommand({ ...(marker === undefined ? {} : { Marker: marker }), MaxItems: 50 }));
      pages += 1;
      expect(page.Functions!.length).toBeLessThanOrEqual(50);
      for (const fn of page.Functions!) seen.set(fn.FunctionName!, (seen.get(fn.FunctionName!) ?? 0) + 1);
      marker = page.NextMarker;
      // Stay inside the 15 rps quota the way a well-behaved client would: one page per emulated second.
      nowMs += 1_000;
    } while (marker !== undefined);
    expect(pages).toBe(100);
    expect(seen.size).toBe(5_000);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    expect(seen.has("fleet-0001") && seen.has("fleet-5000")).toBe(true);
    expect(aws.counters.callsFor("lambda:ListFunctions", FLEET_ACCOUNT, EAST, "ok")).toBe(100);
  });

  it("caps a page at 50 even when MaxItems asks for more", async () => {
    const page = await lambda(fleetReader).send(new ListFunctionsCommand({ MaxItems: 500 }));
    expect(page.Functions).toHaveLength(50);
    expect(page.NextMarker).toBeTypeOf("string");
  });

  it("lists only $LATEST without FunctionVersion, and every version with FunctionVersion=ALL", async () => {
    const client = lambda(reader);
    const latest = await client.send(new ListFunctionsCommand({}));
    expect(latest.Functions!.map((f) => [f.FunctionName, f.Version, f.FunctionArn])).toEqual([
      ["orders", "$LATEST", `arn:aws:lambda:${EAST}:${ACCOUNT}:function:orders`],
      ["payments", "$LATEST", `arn:aws:lambda:${EAST}:${ACCOUNT}:function:payments`],
    ]);
    expect(latest.NextMarker).toBeUndefined();
    const all = await client.send(new ListFunctionsCommand({ FunctionVersion: "ALL" }));
    expect(all.Functions!.map((f) => f.FunctionArn)).toEqual([
      `arn:aws:lambda:${EAST}:${ACCOUNT}:function:orders`,
      `arn:aws:lambda:${EAST}:${ACCOUNT}:function:orders:1`,
      `arn:aws:lambda:${EAST}:${ACCOUNT}:function:orders:2`,
      `arn:aws:lambda:${EAST}:${ACCOUNT}:function:orders:3`,
      `arn:aws:lambda:${EAST}:${ACCOUNT}:function:payments`,
    ]);
    const fn: FunctionConfiguration = all.Functions![1]!;
    expect(fn).toMatchObject({ FunctionName: "orders", Version: "1", Runtime: "nodejs22.x" });
    expect(fn.LastModified).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$/);
  });

  it("pages FunctionVersion=ALL across a function's versions without losing or repeating entries", async () => {
    const client = lambda(reader);
    const arns: string[] = [];
    let marker: string | undefined;
    do {
      const page = await client.send(new ListFunctionsCommand({ FunctionVersion: "ALL", MaxItems: 2, ...(marker === undefined ? {} : { Marker: marker }) }));
      arns.push(...page.Functions!.map((f) => f.FunctionArn!));
      marker = page.NextMarker;
    } while (marker !== undefined);
    expect(arns).toHaveLength(5);
    expect(new Set(arns).size).toBe(5);
  });

  it("lists versions with ListVersionsByFunction ($LATEST first, qualified ARNs), paged by Marker", async () => {
    const client = lambda(reader);
    const first = await client.send(new ListVersionsByFunctionCommand({ FunctionName: "orders", MaxItems: 3 }));
    expect(first.Versions!.map((v) => v.Version)).toEqual(["$LATEST", "1", "2"]);
    expect(first.Versions![0]!.FunctionArn).toBe(`arn:aws:lambda:${EAST}:${ACCOUNT}:function:orders:$LATEST`);
    const rest = await client.send(new ListVersionsByFunctionCommand({ FunctionName: "orders", MaxItems: 3, Marker: first.NextMarker! }));
    expect(rest.Versions!.map((v) => v.Version)).toEqual(["3"]);
    expect(rest.NextMarker).toBeUndefined();
    // The function named by ARN: the `:` separators travel percent-encoded and are signed double-encoded.
    const byArn = await client.send(new ListVersionsByFunctionCommand({ FunctionName: `arn:aws:lambda:${EAST}:${ACCOUNT}:function:payments` }));
    expect(byArn.Versions!.map((v) => v.Version)).toEqual(["$LATEST"]);
  });

  it("lists aliases with ListAliases, optionally filtered by FunctionVersion", async () => {
    const client = lambda(reader);
    const aliases = await client.send(new ListAliasesCommand({ FunctionName: "orders" }));
    expect(aliases.Aliases).toEqual([
      expect.objectContaining({ Name: "canary", FunctionVersion: "2", AliasArn: `arn:aws:lambda:${EAST}:${ACCOUNT}:function:orders:canary` }),
      expect.objectContaining({ Name: "dev", FunctionVersion: "$LATEST" }),
      expect.objectContaining({ Name: "live", FunctionVersion: "3", Description: "production" }),
    ]);
    expect(aliases.Aliases![0]!.RevisionId).toMatch(/^[0-9a-f-]{36}$/);
    const onThree = await client.send(new ListAliasesCommand({ FunctionName: `${ACCOUNT}:function:orders`, FunctionVersion: "3" }));
    expect(onThree.Aliases!.map((a) => a.Name)).toEqual(["live"]);
  });

  it("resolves qualifiers such as $LATEST and aliases in the path (GetFunction)", async () => {
    const client = lambda(reader);
    expect((await client.send(new GetFunctionCommand({ FunctionName: "orders:$LATEST" }))).Configuration?.Version).toBe("$LATEST");
    expect((await client.send(new GetFunctionCommand({ FunctionName: "orders:live" }))).Configuration?.Version).toBe("3");
    expect((await client.send(new GetFunctionCommand({ FunctionName: "orders", Qualifier: "2" }))).Configuration?.FunctionArn).toBe(`arn:aws:lambda:${EAST}:${ACCOUNT}:function:orders:2`);
  });

  it("answers ResourceNotFoundException (404) for an unknown function", async () => {
    const err = await failure(lambda(reader).send(new ListAliasesCommand({ FunctionName: "nope" })));
    expect(err.name).toBe("ResourceNotFoundException");
    expect(err.$metadata.httpStatusCode).toBe(404);
    expect(err.message).toBe(`Function not found: arn:aws:lambda:${EAST}:${ACCOUNT}:function:nope`);
  });

  it("answers AccessDeniedException (403) in a region the identity has no Lambda permission for", async () => {
    await expect(lambda(eastOnly, EAST).send(new ListFunctionsCommand({}))).resolves.toBeDefined();
    const err = await failure(lambda(eastOnly, WEST).send(new ListFunctionsCommand({})));
    expect(err.name).toBe("AccessDeniedException");
    expect(err.$metadata.httpStatusCode).toBe(403);
    expect(err.message).toBe(
      `User: arn:aws:iam::${ACCOUNT}:user/east-only is not authorized to perform: lambda:ListFunctions on resource: * because no identity-based policy allows the lambda:ListFunctions action`,
    );
    expect(aws.counters.callsFor("lambda:ListFunctions", ACCOUNT, WEST, "denied")).toBe(1);
  });

  it("applies an assumed role's permissions to its session", async () => {
    const sts = new STSClient({ endpoint: aws.url, region: EAST, credentials: reader, maxAttempts: 1 });
    clients.push(sts);
    const creds = (await sts.send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${ACCOUNT}:role/lister`, RoleSessionName: "discover" }))).Credentials!;
    const session = { accessKeyId: creds.AccessKeyId!, secretAccessKey: creds.SecretAccessKey!, sessionToken: creds.SessionToken! };
    const west = await lambda(session, WEST).send(new ListFunctionsCommand({}));
    expect(west.Functions!.map((f) => f.FunctionName)).toEqual(["eu-orders"]);
    const err = await failure(lambda(session, EAST).send(new ListFunctionsCommand({})));
    expect(err.name).toBe("AccessDeniedException");
    expect(err.message).toContain(`User: arn:aws:sts::${ACCOUNT}:assumed-role/lister/discover is not authorized`);
  });

  it("routes by the region of the credential scope: same key, different function sets", async () => {
    const east = await lambda(reader, EAST).send(new ListFunctionsCommand({}));
    const west = await lambda(reader, WEST).send(new ListFunctionsCommand({}));
    expect(east.Functions!.map((f) => f.FunctionName)).toEqual(["orders", "payments"]);
    expect(west.Functions!.map((f) => f.FunctionArn)).toEqual([`arn:aws:lambda:${WEST}:${ACCOUNT}:function:eu-orders`]);
    expect(aws.counters.get("lambda:ListFunctions")).toBe(2);
    expect(aws.counters.callsFor("lambda:ListFunctions", ACCOUNT, EAST)).toBe(1);
    expect(aws.counters.callsFor("lambda:ListFunctions", ACCOUNT, WEST)).toBe(1);
  });

  it("answers InvalidSignatureException (403) for a wrong secret", async () => {
    const err = await failure(lambda({ ...reader, secretAccessKey: "x".repeat(40) }).send(new ListFunctionsCommand({})));
    expect(err.name).toBe("InvalidSignatureException");
    expect(err.$metadata.httpStatusCode).toBe(403);
  });

  it("answers UnrecognizedClientException (403) for an unknown key", async () => {
    const err = await failure(lambda({ accessKeyId: "AKIAUNKNOWNUNKNOWN00", secretAccessKey: reader.secretAccessKey }).send(new ListFunctionsCommand({})));
    expect(err.name).toBe("UnrecognizedClientException");
    expect(err.$metadata.httpStatusCode).toBe(403);
    expect(err.message).toBe("The security token included in the request is invalid.");
  });

  it("answers ExpiredTokenException (403) for an expired session", async () => {
    const creds = aws.issueSessionCredentials(ACCOUNT, "lister", { durationSeconds: 900 });
    nowMs += 900_000;
    const err = await failure(lambda(creds, WEST).send(new ListFunctionsCommand({})));
    expect(err.name).toBe("ExpiredTokenException");
    expect(err.$metadata.httpStatusCode).toBe(403);
  });

  it("throttles the 16th control-plane call within one second per account and region with 429 TooManyRequestsException", async () => {
    const east = lambda(quotaReader, EAST);
    // ListFunctions, ListAliases and ListVersionsByFunction share the bucket (burst 15).
    for (let i = 0; i < 5; i++) {
      await east.send(new ListFunctionsCommand({}));
      await east.send(new ListAliasesCommand({ FunctionName: "probe" }));
      await east.send(new ListVersionsByFunctionCommand({ FunctionName: "probe" }));
    }
    const err = await failure(east.send(new ListFunctionsCommand({})));
    expect(err.name).toBe("TooManyRequestsException");
    expect(err.$metadata.httpStatusCode).toBe(429);
    expect(err.Reason).toBe("CallerRateLimitExceeded");
    expect(err.message).toBe("Rate exceeded");
    // GetFunction is outside the shared quota, and another region of the same account has its own bucket.
    await expect(east.send(new GetFunctionCommand({ FunctionName: "probe" }))).resolves.toBeDefined();
    await expect(lambda(quotaReader, WEST).send(new ListFunctionsCommand({}))).resolves.toBeDefined();
    // One emulated second refills the bucket.
    nowMs += 1_000;
    await expect(east.send(new ListFunctionsCommand({}))).resolves.toBeDefined();
    expect(aws.counters.callsFor("lambda:ListFunctions", QUOTA_ACCOUNT, EAST, "throttled")).toBe(1);
    expect(aws.counters.get("lambda:ListFunctions", "throttled")).toBe(1);
  });

  it("answers a throttled call with Retry-After and Lambda's error body", async () => {
    aws.setLambdaRateLimit(1);
    try {
      const call = (): Promise<Response> =>
        signedFetch({ endpoint: aws.url, pathAndQuery: "/2015-03-31/functions/?MaxItems=1", region: "ap-south-1", service: "lambda", ...quotaReader, nowMs });
      expect((await call()).status).toBe(200);
      const res = await call();
      expect(res.status).toBe(429);
      expect(res.headers.get("retry-after")).toBe("1");
      expect(res.headers.get("x-amzn-errortype")).toBe("TooManyRequestsException");
      expect(res.headers.get("x-amzn-requestid")).toMatch(/^[0-9a-f-]{36}$/);
      expect(await res.json()).toEqual({ Reason: "CallerRateLimitExceeded", Type: "User", message: "Rate exceeded" });
    } finally {
      aws.setLambdaRateLimit(15);
    }
  });

  it("answers injected throttling with 429 and injected errors with ServiceException (500)", async () => {
    aws.faults.set({ throttleRate: 1, operations: ["lambda:ListAliases"] });
    const throttled = await failure(lambda(reader).send(new ListAliasesCommand({ FunctionName: "orders" })));
    expect(throttled.name).toBe("TooManyRequestsException");
    expect(throttled.$metadata.httpStatusCode).toBe(429);
    await expect(lambda(reader).send(new ListFunctionsCommand({}))).resolves.toBeDefined();
    aws.faults.set({ throttleRate: 0, errorRate: 1 });
    const broken = await failure(lambda(reader).send(new ListAliasesCommand({ FunctionName: "orders" })));
    expect(broken.name).toBe("ServiceException");
    expect(broken.$metadata.httpStatusCode).toBe(500);
    expect(aws.counters.callsFor("lambda:ListAliases", ACCOUNT, EAST, "throttled")).toBe(1);
    expect(aws.counters.callsFor("lambda:ListAliases", ACCOUNT, EAST, "error")).toBe(1);
  });

  it("rejects a Marker it did not issue with InvalidParameterValueException", async () => {
    const err = await failure(lambda(reader).send(new ListFunctionsCommand({ Marker: "not-a-marker" })));
    expect(err.name).toBe("InvalidParameterValueException");
    expect(err.$metadata.httpStatusCode).toBe(400);
  });

  it("serves the admin counters route, unaffected by faults", async () => {
    await lambda(reader).send(new ListFunctionsCommand({}));
    aws.faults.set({ outage: true });
    const res = await fetch(`${aws.url}/__sandbox/counters`);
    expect(await res.json()).toEqual({ total: 1, operations: { "lambda:ListFunctions": { ok: 1 } } });
  });
});
