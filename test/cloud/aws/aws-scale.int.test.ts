// Sharing and pacing at fleet scale against the AWS emulator: 1,000 upstreams on 10 credentials, and 5,000 functions in one account-region.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AwsProvider } from "../../../src/cloud/aws/aws-provider.js";
import { toDiscoveredLambda } from "../../../src/cloud/aws/lambda-entries.js";
import type { AwsDiscoverRequest } from "../../../src/cloud/provider.js";
import { SharedProvider } from "../../../src/cloud/shared/shared-provider.js";
import type { AwsCredentials } from "../../../src/model/credentials.js";
import { MATCH_ALL, parseFunctionFilter } from "../../../src/model/function-filter.js";
import { lambdaEntries, mergeLambdaFunctions } from "../../support/function-lists.js";
import { Metrics } from "../../../src/observability/metrics.js";
import { createAwsEmulator, type AwsEmulator } from "../../../src/sandbox/aws/index.js";

const REGIONS = ["eu-west-1", "us-east-1"];
const ACCOUNTS = ["100000000001", "100000000002", "100000000003", "100000000004", "100000000005"];

describe("shared verification at fleet scale", () => {
  let aws: AwsEmulator;
  let provider: AwsProvider;
  let metrics: Metrics;
  const credentials: AwsCredentials[] = [];
  let now = 1_000_000;

  beforeAll(async () => {
    aws = await createAwsEmulator();
    for (const account of ACCOUNTS) {
      for (const user of ["gw-a", "gw-b"]) credentials.push({ kind: "awsKeys", ...aws.addUser(account, user, { permissions: { lambdaList: ["*"] } }) });
      for (const region of REGIONS) aws.addFunctions(account, region, 30, "fn");
    }
    metrics = new Metrics();
    provider = new AwsProvider({
      settings: { stsEndpoint: aws.url, lambdaEndpoint: aws.url, allowAmbientCredentials: false, lambdaRequestsPerSecond: 14, aliasConcurrency: 4 },
      telemetry: metrics,
    });
  });

  afterAll(async () => {
    provider.close();
    await aws.close();
  });

  it("costs at most one GetCallerIdentity and one ListFunctions sweep per credential and region per interval for 1,000 concurrent upstreams", async () => {
    const verifier = new SharedProvider(provider, { cacheTtlMs: 60_000, clock: { now: () => now }, telemetry: metrics, concurrency: 8 });
    const upstreams: AwsDiscoverRequest[] = Array.from({ length: 1000 }, (_, i) => ({
      kind: "aws",
      region: REGIONS[i % 2] as string,
      credentials: credentials[Math.floor(i / 2) % 10] as AwsCredentials,
      qualifiers: ["latest"],
      filter: MATCH_ALL,
    }));
    for (let interval = 1; interval <= 2; interval++) {
      aws.counters.reset();
      const results = await Promise.all(upstreams.map(async (u) => ({ verified: await verifier.verify(u), discovered: await verifier.discover(u) })));
      expect(results.every((r) => r.verified.status === "valid" && r.discovered.status === "listed")).toBe(true);
      expect(results.every((r) => r.discovered.status === "listed" && r.discovered.functions.length === 30)).toBe(true);
      // 30 functions fit one page, so a sweep is one ListFunctions call.
      expect(aws.counters.get("sts:GetCallerIdentity")).toBeLessThanOrEqual(20);
      expect(aws.counters.get("lambda:ListFunctions")).toBeLessThanOrEqual(20);
      expect(aws.counters.get("lambda:ListFunctions", "throttled")).toBe(0);
      now += 60_001;
    }
    const rendered = await metrics.render();
    expect(rendered).toMatch(/credbroker_cloud_cache_total\{kind="verify",result="joined"\} \d+/);
    for (const c of credentials) expect(rendered).not.toContain(c.secretAccessKey);
  });

  it("shares one listing between upstreams that differ only by name filter, and lists aliases only for the names each keeps", async () => {
    const account = "300000000001";
    const keys: AwsCredentials = { kind: "awsKeys", ...aws.addUser(account, "teams", { permissions: { lambdaList: ["*"] } }) };
    for (const team of ["orders", "payments", "search"]) {
      for (let i = 0; i < 40; i++) aws.addFunction(account, "eu-west-1", { name: `${team}-${i}`, versions: 1, aliases: [{ name: "live", version: 1 }] });
    }
    const verifier = new SharedProvider(provider, { cacheTtlMs: 60_000, clock: { now: () => now }, telemetry: metrics });
    const team = (prefix: string, qualifiers: AwsDiscoverRequest["qualifiers"]): AwsDiscoverRequest => ({
      kind: "aws",
      region: "eu-west-1",
      credentials: keys,
      qualifiers,
      filter: parseFunctionFilter(`${prefix}-*`, "f"),
    });
    aws.counters.reset();
    const latest = await Promise.all(["orders", "payments", "search"].map((t) => verifier.discover(team(t, ["latest"]))));
    for (const [i, t] of ["orders", "payments", "search"].entries()) {
      const result = latest[i];
      expect(result?.status).toBe("listed");
      if (result?.status !== "listed") return;
      expect(result.functions).toHaveLength(40);
      expect(result.functions.every((f) => f.functionName.startsWith(`${t}-`))).toBe(true);
    }
    // 120 functions are three pages of 50: one sweep for the three teams, not three.
    expect(aws.counters.callsFor("lambda:ListFunctions", account, "eu-west-1")).toBe(3);

    aws.counters.reset();
    const withAliases = await Promise.all(["orders", "payments"].map((t) => verifier.discover(team(t, ["latest", "aliases"]))));
    for (const result of withAliases) expect(result.status === "listed" && result.functions.filter((f) => f.provider === "aws" && f.qualifierKind === "alias")).toHaveLength(40);
    // Aliases are listed per kept function, so each filter pays for its own sweep, and no alias of a third team is asked for.
    expect(aws.counters.callsFor("lambda:ListFunctions", account, "eu-west-1")).toBe(6);
    expect(aws.counters.callsFor("lambda:ListAliases", account, "eu-west-1")).toBe(80);
  });

  it("discovers 5,000 functions in one account-region completely, paced below the 15 rps quota", async () => {
    const account = "200000000001";
    const keys: AwsCredentials = { kind: "awsKeys", ...aws.addUser(account, "big", { permissions: { lambdaList: ["*"] } }) };
    aws.addFunctions(account, "eu-west-1", 5000, "fleet");
    aws.counters.reset();
    const started = Date.now();
    const result = await provider.discover({ kind: "aws", region: "eu-west-1", credentials: keys, qualifiers: ["latest"], filter: MATCH_ALL });
    const elapsedMs = Date.now() - started;
    expect(result.status).toBe("listed");
    if (result.status !== "listed") return;
    expect(result.functions).toHaveLength(5000);
    expect(new Set(result.functions.map((f) => f.functionName)).size).toBe(5000);
    const pages = aws.counters.callsFor("lambda:ListFunctions", account, "eu-west-1", "ok");
    expect(pages).toBe(100);
    // "Rarely": the pace stays under the quota, so at most a stray 429 from scheduling jitter.
    expect(aws.counters.callsFor("lambda:ListFunctions", account, "eu-west-1", "throttled")).toBeLessThanOrEqual(2);
    console.info(`5,000 functions: ${pages} pages in ${elapsedMs} ms (pace 14 rps)`);

    const discovered = toDiscoveredLambda(result.functions);
    const capped = mergeLambdaFunctions({ current: [], discovered: lambdaEntries(discovered, ["latest"], MATCH_ALL), publishedAnnotation: undefined, maxFunctions: 500 });
    expect(capped.items).toHaveLength(500);
    expect(capped.counts).toEqual({ discovered: 5000, published: 500, truncated: true });
    const filtered = lambdaEntries(discovered, ["latest"], parseFunctionFilter("fleet-00*,!fleet-000?", "f"));
    expect(filtered).toHaveLength(90);
    expect(filtered[0]?.logicalName).toBe("fleet-0010");
  }, 60_000);
});
