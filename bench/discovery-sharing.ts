// What one discovery interval costs when many upstreams share one AWS account's credential but each
// filters its own team's functions: the shared listing (filter applied locally) against one sweep per
// filter (the provider without `widen`). Writes bench/results/discovery.md.
// Run: npx tsx bench/discovery-sharing.ts   (TEAMS=10 PER_TEAM=20 FUNCTIONS=1000 to change the sizes)
import { mkdirSync, writeFileSync } from "node:fs";
import { AwsProvider } from "../src/cloud/aws/aws-provider.js";
import type { AwsCloudProvider, AwsDiscoverRequest } from "../src/cloud/provider.js";
import { SharedProvider } from "../src/cloud/shared/shared-provider.js";
import { parseFunctionFilter } from "../src/model/function-filter.js";
import { silentCloudTelemetry } from "../src/runtime/telemetry.js";
import { createAwsEmulator } from "../src/sandbox/aws/index.js";

const TEAMS = Number(process.env["TEAMS"] ?? 10);
const PER_TEAM = Number(process.env["PER_TEAM"] ?? 20);
const FUNCTIONS = Number(process.env["FUNCTIONS"] ?? 1000);
const ACCOUNT = "400000000001";
const REGION = "eu-west-1";

/** The same provider with sharing across filters switched off: every filter pays for its own sweep. */
function withoutWiden(provider: AwsProvider): AwsCloudProvider {
  return {
    name: provider.name,
    verify: (r) => provider.verify(r),
    discover: (r, c) => provider.discover(r, c),
    verifyKey: (r) => provider.verifyKey(r),
    discoverKey: (r) => provider.discoverKey(r),
  };
}

const aws = await createAwsEmulator();
const rows: string[] = [];
try {
  const keys = aws.addUser(ACCOUNT, "platform", { permissions: { lambdaList: ["*"] } });
  const perTeam = Math.floor(FUNCTIONS / TEAMS);
  for (let t = 0; t < TEAMS; t++) for (let i = 0; i < perTeam; i++) aws.addFunction(ACCOUNT, REGION, { name: `team${t}-fn-${i}` });
  const upstreams: AwsDiscoverRequest[] = Array.from({ length: TEAMS * PER_TEAM }, (_, i) => ({
    kind: "aws",
    region: REGION,
    credentials: { kind: "awsKeys", ...keys },
    qualifiers: ["latest"],
    filter: parseFunctionFilter(`team${i % TEAMS}-*`, "bench"),
  }));
  for (const [label, wrap] of [
    ["one sweep per filter (no widen)", withoutWiden],
    ["shared listing, filtered locally", (p: AwsProvider) => p],
  ] as const) {
    const provider = new AwsProvider({
      settings: { stsEndpoint: aws.url, lambdaEndpoint: aws.url, allowAmbientCredentials: false, lambdaRequestsPerSecond: 14, aliasConcurrency: 4 },
    });
    const verifier = new SharedProvider(wrap(provider), { cacheTtlMs: 600_000, clock: { now: Date.now }, telemetry: silentCloudTelemetry() });
    aws.counters.reset();
    const started = performance.now();
    const results = await Promise.all(upstreams.map((u) => verifier.discover(u)));
    const seconds = (performance.now() - started) / 1000;
    const listed = results.filter((r) => r.status === "listed" && r.functions.length === perTeam).length;
    if (listed !== upstreams.length) throw new Error(`${label}: ${listed} of ${upstreams.length} upstreams got their ${perTeam} functions`);
    rows.push(`| ${label} | ${aws.counters.get("lambda:ListFunctions")} | ${aws.counters.get("lambda:ListFunctions", "throttled")} | ${seconds.toFixed(1)} s |`);
    provider.close();
  }
  const table = [
    `# Discovery sharing benchmark (${new Date().toISOString().slice(0, 10)}, ${TEAMS * PER_TEAM} upstreams of ${TEAMS} teams on one credential, ${perTeam * TEAMS} functions in one account-region, Lambda paced at 14 requests/s, sandbox on loopback, 2-core machine)`,
    "",
    "One discovery interval, every upstream asking at once; each team's upstreams filter `team<N>-*`.",
    "",
    "| discovery | ListFunctions calls | of them throttled | interval took |",
    "|---|---|---|---|",
    ...rows,
    "",
  ].join("\n");
  mkdirSync("bench/results", { recursive: true });
  writeFileSync("bench/results/discovery.md", table);
  process.stdout.write(table);
} finally {
  await aws.close();
}
