// AwsProvider against the AWS emulator and a stand-in proxy: clock skew is transient and heals on the reused client, session tokens and foreign answers are named for what they are.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { AwsProvider, type AwsProviderSettings } from "../../../src/cloud/aws/aws-provider.js";
import type { AwsVerifyRequest } from "../../../src/cloud/provider.js";
import type { AwsCredentials } from "../../../src/model/credentials.js";
import { MATCH_ALL } from "../../../src/model/function-filter.js";
import { Metrics } from "../../../src/observability/metrics.js";
import { createAwsEmulator, type AwsEmulator } from "../../../src/sandbox/aws/index.js";
import { ErrorCollector } from "../leak-check.js";

const ACCOUNT = "111122223333";
const REGION = "eu-west-1";
const TWENTY_MINUTES_MS = 20 * 60_000;
const HTML_PAGE = "<html><body><h1>403 Forbidden</h1><p>Blocked by the corporate proxy</p></body></html>";

/** Real time, whatever a test does to the global Date. */
const realNow = (): number => Math.round(performance.timeOrigin + performance.now());

/** A stand-in for a proxy or firewall: answers every request with `status` and an HTML page. */
async function startHtmlProxy(status: number): Promise<{ url: string; requests: () => number; close: () => Promise<void> }> {
  let requests = 0;
  const server: Server = createServer((req, res) => {
    requests += 1;
    req.resume();
    res.writeHead(status, { "content-type": "text/html; charset=utf-8" });
    res.end(HTML_PAGE);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function gauge(metrics: Metrics): Promise<number | undefined> {
  const line = (await metrics.render()).split("\n").find((l) => l.startsWith('credbroker_clock_offset_seconds{provider="aws"}'));
  return line === undefined ? undefined : Number(line.split(" ").pop());
}

describe("AwsProvider: clock skew, client reuse, session tokens and answers not from AWS", () => {
  let aws: AwsEmulator;
  let keys: AwsCredentials;
  const collector = new ErrorCollector();
  const secrets: string[] = [];
  const providers: AwsProvider[] = [];

  const settings = (extra: Partial<AwsProviderSettings> = {}): AwsProviderSettings => ({
    stsEndpoint: aws.url,
    lambdaEndpoint: aws.url,
    allowAmbientCredentials: false,
    lambdaRequestsPerSecond: 15,
    aliasConcurrency: 2,
    ...extra,
  });
  const track = (p: AwsProvider): AwsProvider => (providers.push(p), p);
  const req = (extra: Partial<AwsVerifyRequest> = {}): AwsVerifyRequest => ({ kind: "aws", region: REGION, credentials: keys, ...extra });

  beforeAll(async () => {
    // The emulator keeps real time even while a test moves the broker's Date.
    aws = await createAwsEmulator({ clock: realNow });
    const k = aws.addUser(ACCOUNT, "gateway", { permissions: { lambdaList: [REGION] } });
    keys = { kind: "awsKeys", ...k };
    secrets.push(k.secretAccessKey);
    aws.addRole(ACCOUNT, "gateway-role", { trust: [ACCOUNT] });
    aws.addFunctions(ACCOUNT, REGION, 3, "fn");
  });

  afterEach(() => {
    vi.useRealTimers();
    aws.faults.reset();
  });

  afterAll(async () => {
    for (const p of providers) p.close();
    await aws.close();
  });

  it("reuses one STS client per credential and region instead of one per call", async () => {
    const provider = track(new AwsProvider({ settings: settings() }));
    for (let i = 0; i < 5; i++) expect(collector.add(await provider.verify(req())).status).toBe("valid");
    expect(provider.clientsMade).toBe(1);
    expect(collector.add(await provider.verify(req({ region: "us-east-1" }))).status).toBe("valid");
    expect(provider.clientsMade).toBe(2);
  });

  it.each([
    ["behind", -TWENTY_MINUTES_MS],
    ["ahead", TWENTY_MINUTES_MS],
  ])("reports a broker clock 20 minutes %s as transient ClockSkew, then verifies on the next attempt", async (_what, brokerOffsetMs) => {
    const metrics = new Metrics();
    const provider = track(new AwsProvider({ settings: settings(), telemetry: metrics }));
    // Only Date is faked: the broker's wall clock is off, timers and sockets run as usual.
    vi.useFakeTimers({ toFake: ["Date"], now: realNow() + brokerOffsetMs });
    const first = collector.add(await provider.verify(req()));
    expect(first).toMatchObject({ status: "unknown", error: { reason: "ClockSkew", retryable: true } });
    if (first.status === "unknown") expect(first.error.message).toContain(`20 min ${brokerOffsetMs < 0 ? "behind" : "ahead of"} AWS's`);
    // The SDK corrected the client's offset from the answer's Date; the reused client signs right.
    expect(collector.add(await provider.verify(req())).status).toBe("valid");
    expect(provider.clientsMade).toBe(1);
    // AWS's clock minus ours, in seconds (the Date header has one-second resolution).
    const offset = await gauge(metrics);
    expect(offset).toBeDefined();
    expect(Math.abs((offset ?? 0) + brokerOffsetMs / 1000)).toBeLessThan(5);
  });

  it("recovers from the emulator's clock running 20 minutes ahead (PUT /__sandbox/faults clockOffsetMs), and again once it is put right", async () => {
    const metrics = new Metrics();
    const provider = track(new AwsProvider({ settings: settings(), telemetry: metrics }));
    const put = await fetch(`${aws.url}/__sandbox/faults`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ clockOffsetMs: TWENTY_MINUTES_MS }) });
    expect(put.status).toBe(200);
    const skewed = collector.add(await provider.verify(req()));
    expect(skewed).toMatchObject({ status: "unknown", error: { reason: "ClockSkew", retryable: true } });
    if (skewed.status === "unknown") expect(skewed.error.message).toContain("20 min behind AWS's");
    expect(collector.add(await provider.verify(req())).status).toBe("valid");
    expect(Math.abs(((await gauge(metrics)) ?? 0) - 1200)).toBeLessThan(5);
    // The clock is fixed: the client still signs 20 minutes ahead once, then follows.
    aws.faults.reset();
    expect(collector.add(await provider.verify(req()))).toMatchObject({ status: "unknown", error: { reason: "ClockSkew" } });
    expect(collector.add(await provider.verify(req())).status).toBe("valid");
    expect(Math.abs((await gauge(metrics)) ?? 99)).toBeLessThan(5);
    expect(provider.clientsMade).toBe(1);
  });

  it("starts new clients from the measured offset, so other credentials and Lambda need no failure of their own", async () => {
    const provider = track(new AwsProvider({ settings: settings() }));
    vi.useFakeTimers({ toFake: ["Date"], now: realNow() - TWENTY_MINUTES_MS });
    expect(collector.add(await provider.verify(req())).status).toBe("unknown");
    const other = aws.addAccessKey(ACCOUNT, "gateway");
    secrets.push(other.secretAccessKey);
    expect(collector.add(await provider.verify(req({ credentials: { kind: "awsKeys", ...other } }))).status).toBe("valid");
    const listed = collector.add(await provider.discover({ ...req(), qualifiers: ["latest"], filter: MATCH_ALL }));
    expect(listed.status).toBe("listed");
  });

  it("still rejects a wrong secret key when the clock is right", async () => {
    const provider = track(new AwsProvider({ settings: settings() }));
    const result = collector.add(await provider.verify(req({ credentials: { ...keys, secretAccessKey: `${keys.secretAccessKey.slice(0, -4)}XXXX` } })));
    expect(result).toMatchObject({ status: "rejected", error: { reason: "InvalidSecretKey", retryable: false } });
  });

  it("rejects a session token that is not its key's own as InvalidSessionToken, naming the session token", async () => {
    const provider = track(new AwsProvider({ settings: settings() }));
    const session = aws.issueSessionCredentials(ACCOUNT, "gateway-role");
    const bogus = `${session.sessionToken.slice(0, -8)}AAAAAAAA`;
    secrets.push(session.secretAccessKey, session.sessionToken, bogus);
    const result = collector.add(await provider.verify(req({ credentials: { kind: "awsKeys", ...session, sessionToken: bogus } })));
    expect(result).toMatchObject({ status: "rejected", error: { reason: "InvalidSessionToken", retryable: false } });
    if (result.status === "rejected") expect(result.error.message).toContain("session token");
  });

  it("reports the broker's own refused credentials as BrokerNotAuthorized, never a verdict on the upstream", async () => {
    const provider = track(
      new AwsProvider({
        settings: settings({ allowAmbientCredentials: true }),
        ambientCredentials: () => Promise.resolve({ accessKeyId: keys.accessKeyId, secretAccessKey: "not-the-brokers-secret-key-000000000000" }),
      }),
    );
    secrets.push("not-the-brokers-secret-key-000000000000");
    const result = collector.add(await provider.verify({ kind: "aws", region: REGION }));
    expect(result).toMatchObject({ status: "unknown", error: { reason: "BrokerNotAuthorized", retryable: true } });
  });

  it.each([403, 401, 502])("reports a Lambda HTTP %s HTML page from a proxy as transient ProviderUnavailable, without the page or SDK boilerplate", async (status) => {
    const proxy = await startHtmlProxy(status);
    try {
      const provider = track(new AwsProvider({ settings: settings({ lambdaEndpoint: proxy.url }) }));
      const result = collector.add(await provider.discover({ ...req(), qualifiers: ["latest"], filter: MATCH_ALL }));
      expect(result).toMatchObject({ status: "unknown", error: { reason: "ProviderUnavailable", retryable: true } });
      expect(proxy.requests()).toBeGreaterThanOrEqual(1);
      if (result.status !== "unknown") return;
      expect(result.error.message).toBe(`aws lambda:ListFunctions failed (HTTP ${status}): the answer is not from AWS (a proxy or firewall in between?)`);
      const rendered = JSON.stringify(result) + String((result.error.cause as Error | undefined)?.message);
      for (const fragment of ["Deserialization", "$response", "<html", "corporate proxy", "SyntaxError"]) expect(rendered).not.toContain(fragment);
    } finally {
      await proxy.close();
    }
  });

  it("reports an STS 403 HTML page as transient ProviderUnavailable, not a verdict on the keys", async () => {
    const proxy = await startHtmlProxy(403);
    try {
      const provider = track(new AwsProvider({ settings: settings({ stsEndpoint: proxy.url }) }));
      const result = collector.add(await provider.verify(req()));
      expect(result).toMatchObject({ status: "unknown", error: { reason: "ProviderUnavailable", retryable: true } });
      if (result.status === "unknown") expect(result.error.message).toContain("not from AWS");
    } finally {
      await proxy.close();
    }
  });

  it("never puts a secret in an error or a result", () => {
    expect(collector.texts.length).toBeGreaterThan(10);
    expect(collector.leaked(secrets)).toEqual([]);
  });
});
