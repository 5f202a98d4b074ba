// Fleet scale on loopback: a broker (in its own process) over a mixed cloud fleet with injected latency, from cold start through steady state, reverify and churn, beside the naive baseline and the lower bound; writes bench/RESULTS.md.
// Run: npx tsx bench/fleet-scale.ts [--sizes 1000,5000,20000] [--quick] [--out FILE] [--real-kube]   (--quick: 1,000 only, a 20 s interval and shorter phases; --out: write there instead of bench/RESULTS.md; --real-kube: the 5,000 fleet once more against a real kube-apiserver, built by test/conformance/servers/build.sh)
import { readdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { DEFAULT_LAMBDA_QUALIFIERS } from "../src/model/function-filter.js";
import { fleetFor, LATENCY_MS, minus, runFleet, total, type Calls, type Latencies, type RunPlan, type RunResult } from "./fleet-scale-run.js";
import { stageImage } from "./image-runtime.js";

const { values: args } = parseArgs({ options: { sizes: { type: "string", default: "1000,5000,20000" }, quick: { type: "boolean", default: false }, out: { type: "string" }, "real-kube": { type: "boolean", default: false } } });
const QUICK = args.quick;
const SIZES = QUICK
  ? [1000]
  : args.sizes === "none"
    ? []
    : args.sizes.split(",").map((s) => {
      const n = Number(s.trim());
      if (!Number.isInteger(n) || n < 20) {
        console.error(`--sizes must be whole numbers of at least 20, not ${JSON.stringify(s)}`);
        process.exit(2);
      }
      return n;
    });

/**
 * controller.verifyIntervalMs of a run: shortened so one interval fits the run, except above 5,000
 * where the default (300 s) stays: 20,000 upstreams every 60 s would be 333 passes a second, five
 * times the default's load, more than this 2-core machine serves; 5,000 at 60 s (83 a second) is
 * already more than 20,000 at the default (67).
 */
function intervalFor(size: number): number {
  return QUICK ? 20_000 : size > 5_000 ? 300_000 : 60_000;
}
/** The broker's peak RSS over a fleet of 20: its modules and runtime, the floor under every size's figure. */
const FLOOR_SIZE = 20;
const floor: { rssBytes?: number } = {};
// --out: another file for a run of some sizes only, so RESULTS.md keeps the run it holds.
const OUT = args.out !== undefined ? resolve(args.out) : fileURLToPath(new URL("./RESULTS.md", import.meta.url));
const started = new Date();
// The broker runs as in the image: the bundle built from the current source, the Dockerfile's Node options and ENV.
const IMAGE = stageImage();

function planFor(size: number, mode: RunPlan["mode"]): RunPlan {
  return {
    image: IMAGE,
    size,
    mode,
    quick: QUICK,
    intervalMs: intervalFor(size),
    // Ten times the 5,000 target and five times the 20,000 one, so a miss is measured (and the later phases run) rather than cut off.
    coldTimeoutMs: QUICK ? 90_000 : Math.max(120_000, Math.min(1_200_000, size * 60)),
    churnMs: mode === "naive" ? 0 : QUICK ? 60_000 : 120_000,
    reverifySamples: mode === "naive" ? 0 : QUICK ? 20 : 40,
    steady: true,
    progress: (line) => console.log(line),
  };
}

// ---------------------------------------------------------------- bounds and models

interface Bound {
  credentialRegions: { aws: number; awsEc2: number; discovery: number };
  /** The calls one rotated Secret needs: its credential-regions verified again, its discovering ones swept again. */
  perRotation: (secret: string) => number;
  calls: Calls;
  /** Cold start: the calls' latency over the configured concurrency, or Lambda's per-account-region pacing, whichever is longer. */
  criticalPathMs: number;
  /** The configured start rate alone: cloud upstreams ÷ controller.globalRatePerSecond. */
  rateFloorMs: number;
  listPages: number;
}

function boundFor(size: number, r: RunResult): Bound {
  const fleet = fleetFor(size);
  const aws = fleet.credentials.filter((c) => c.kind === "aws");
  const ec2 = fleet.credentials.filter((c) => c.kind === "awsEc2");
  const azure = fleet.credentials.filter((c) => c.kind === "azure");
  const awsCR = aws.reduce((n, c) => n + c.regions.length, 0);
  const ec2CR = ec2.reduce((n, c) => n + c.regions.length, 0);
  const discCR = aws.reduce((n, c) => n + c.discoveryRegions.length, 0);
  const qualifiers: readonly string[] = DEFAULT_LAMBDA_QUALIFIERS;
  const entries = fleet.functionsPerRegion * (qualifiers.includes("versions") ? 1 + fleet.functionVersions : 1);
  const listPages = Math.ceil(entries / 50);
  const aliasCalls = qualifiers.includes("aliases") ? fleet.functionsPerRegion : 0;
  const apps = fleet.upstreams.azure.length;
  const discoveringApps = fleet.azureDiscovery;
  const calls: Calls = {
    "sts:GetCallerIdentity": awsCR + ec2CR,
    "lambda:ListFunctions": discCR * listPages,
    ...(aliasCalls > 0 ? { "lambda:ListAliases": discCR * aliasCalls } : {}),
    "entra:token": azure.length,
    "arm:sites.get": apps,
    "arm:functions.list": discoveringApps,
    "arm:host.listKeys": discoveringApps,
    "arm:functions.listKeys": discoveringApps,
  };
  const { concurrency, globalRatePerSecond, lambdaRequestsPerSecond } = r.config;
  // Lambda calls of one account-region share its quota, and its credentials' listings queue behind each other.
  const perAccountRegion = new Map<string, number>();
  for (const c of aws) for (const region of c.discoveryRegions) perAccountRegion.set(`${c.accountId}/${region}`, (perAccountRegion.get(`${c.accountId}/${region}`) ?? 0) + listPages + aliasCalls);
  const pacingMs = (Math.max(0, ...perAccountRegion.values()) / Math.max(1, lambdaRequestsPerSecond)) * 1000;
  const cloudUpstreams = fleet.upstreams.aws.length + fleet.upstreams.azure.length + fleet.upstreams.awsEc2.length;
  // One status write per cloud upstream is needed too.
  const workMs = total(calls) * LATENCY_MS.cloud + cloudUpstreams * LATENCY_MS.kubernetes;
  return {
    credentialRegions: { aws: awsCR, awsEc2: ec2CR, discovery: discCR },
    perRotation: (secret) => {
      const cred = fleet.credentials.find((x) => x.secret === secret);
      return cred === undefined ? 0 : cred.regions.length + cred.discoveryRegions.length * (listPages + aliasCalls);
    },
    calls,
    criticalPathMs: Math.max(workMs / Math.max(1, concurrency), pacingMs),
    rateFloorMs: (cloudUpstreams / Math.max(1, globalRatePerSecond)) * 1000,
    listPages,
  };
}

// ---------------------------------------------------------------- rendering

const MB = 2 ** 20;
const fmtMs = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? "–" : n >= 1000 ? `${(n / 1000).toFixed(1)} s` : `${n.toFixed(0)} ms`);
const num = (n: number) => n.toLocaleString("en-US");
const listed = (c: Calls) =>
  Object.entries(c)
    .filter(([, v]) => v !== 0)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k} ${num(v)}`)
    .join(", ") || "none";
const ratio = (a: number, b: number) => (b === 0 ? "–" : `${(a / b).toFixed(2)}×`);
const upstreamWrites = (c: Calls) => total(Object.fromEntries(Object.entries(c).filter(([op]) => / upstreams/.test(op))));
const leaseWrites = (c: Calls) => total(Object.fromEntries(Object.entries(c).filter(([op]) => / leases/.test(op))));
const eventWrites = (c: Calls) => total(Object.fromEntries(Object.entries(c).filter(([op]) => / events/.test(op))));
const sumOps = (c: Calls, prefix: string) => total(Object.fromEntries(Object.entries(c).filter(([op]) => op.startsWith(prefix))));

type Verdict = "met" | "missed" | "–";
const verdict = (ok: boolean | undefined): Verdict => (ok === undefined ? "–" : ok ? "met" : "missed");

function coldTarget(size: number): number | undefined {
  return size === 5000 ? 30_000 : size === 20000 ? 120_000 : undefined;
}
function rssTarget(size: number): number | undefined {
  return size === 5000 ? 256 * MB : size === 20000 ? 512 * MB : undefined;
}

function latencyRow(label: string, l: Latencies | undefined, targetMs: number | undefined): string {
  if (l === undefined) return `| ${label} | not measured | ${targetMs === undefined ? "–" : `p99 ≤ ${fmtMs(targetMs)}`} | – |`;
  const codes = listed(l.codes);
  return `| ${label} | p50 ${fmtMs(l.p50)}, p99 ${fmtMs(l.p99)}, max ${fmtMs(l.max)} (${l.samples} requests; answers ${codes}; queue ${Number.isNaN(l.queueAtStart) ? "–" : l.queueAtStart} at the start; ${l.note ?? ""}) | ${targetMs === undefined ? "–" : `p99 ≤ ${fmtMs(targetMs)}`} | ${targetMs === undefined ? "–" : verdict(l.p99 <= targetMs && (l.codes["200"] ?? 0) === l.samples)} |`;
}

function renderSize({ size, tuned, naive }: SizeResult): string[] {
  const bound = boundFor(size, tuned);
  const lines: string[] = [];
  const f = tuned.fleet;
  lines.push(`## ${num(size)} cloud upstreams`, "");
  lines.push(
    `Fleet: ${num(f.aws)} AWS Lambda, ${num(f.azure)} Azure, ${num(f.awsEc2)} awsEc2 over 50 namespaces, plus ${num(f.kube)} kube upstreams (held, never verified); ` +
      `credentials ${listed(f.credentials)} (one per 20 upstreams) in ${f.awsAccounts} AWS accounts of 10 credentials, 4 regions, 100 functions per account-region with 2 versions and an alias each; ` +
      `discovery on every other cloud upstream (default qualifiers: ${DEFAULT_LAMBDA_QUALIFIERS.join(", ")}). Distinct credential-regions: ${num(bound.credentialRegions.aws)} Lambda, ${num(bound.credentialRegions.awsEc2)} awsEc2; ${num(bound.credentialRegions.discovery)} of them discover.`,
    "",
  );
  const c = tuned.config;
  lines.push(
    `Broker settings: defaults (controller.concurrency ${c.concurrency}, controller.globalRatePerSecond ${c.globalRatePerSecond}, aws.lambdaRequestsPerSecond ${c.lambdaRequestsPerSecond}) except ` +
      (c.verifyIntervalMs === 300_000 ? "" : `controller.verifyIntervalMs ${c.verifyIntervalMs / 1000} s (so one interval fits the run; above 5,000 the default 300 s stays, since 20,000 at 60 s would be five times the default's load), `) +
      `controller.cacheTtlMs ${c.cacheTtlMs / 1000} s (the default ratio to the interval, 240 of 300 s) and status.heartbeatIntervalMs 1 s (so every verification rewrites lastVerified and the harness sees each one; those writes are the heartbeats).`,
    "",
  );
  for (const [name, r] of [["broker", tuned], ["naive baseline", naive]] as const) {
    if (r.error !== undefined) lines.push(`**${name}: the run failed: ${r.error}**`, "");
    if (r.end.brokerWarnings > 0) lines.push(`${name}: the broker logged ${r.end.brokerWarnings} warnings or errors; the first: ${r.end.firstWarnings.map((w) => `\`${w.replace(/`/g, "'")}\``).join("; ")}`, "");
  }

  const tc = tuned.cold;
  const nc = naive.cold;
  const ct = coldTarget(size);
  const rt = rssTarget(size);
  const callsBound = total(bound.calls);
  lines.push("### Cold start (broker start → every cloud upstream has its status)", "");
  lines.push("| measure | broker | naive baseline | lower bound | measured ÷ bound | target | |", "|---|---|---|---|---|---|---|");
  const wall = (r: typeof tc) => (r === undefined ? "not reached" : r.unfinished ?? fmtMs(r.wallMs));
  lines.push(
    `| wall time | ${wall(tc)} | ${wall(nc)} | ${fmtMs(bound.criticalPathMs)} critical path at concurrency ${c.concurrency} (the configured start rate alone: ${fmtMs(bound.rateFloorMs)}) | ${tc === undefined ? "–" : ratio(tc.wallMs, bound.criticalPathMs)} | ${ct === undefined ? "–" : `≤ ${fmtMs(ct)}`} | ${ct === undefined || tc === undefined ? "–" : verdict(tc.unfinished === undefined && tc.wallMs <= ct)} |`,
  );
  lines.push(`| states at the end | ${tc === undefined ? "–" : listed(tc.byState)} | ${nc === undefined ? "–" : listed(nc.byState)} | | | | |`);
  lines.push(
    `| cloud calls | ${tc === undefined ? "–" : num(total(tc.calls))} | ${nc === undefined ? "–" : num(total(nc.calls))} | ${num(callsBound)} | ${tc === undefined ? "–" : ratio(total(tc.calls), callsBound)} | ≤ 1.1× bound | ${tc === undefined ? "–" : verdict(total(tc.calls) <= 1.1 * callsBound)} |`,
  );
  const ops = new Set([...Object.keys(bound.calls), ...Object.keys(tc?.calls ?? {}), ...Object.keys(nc?.calls ?? {})]);
  for (const op of [...ops].sort()) {
    const m = tc?.calls[op] ?? 0;
    const b = bound.calls[op] ?? 0;
    lines.push(`| &nbsp;&nbsp;${op} | ${num(m)} | ${num(nc?.calls[op] ?? 0)} | ${num(b)} | ${ratio(m, b)} | | |`);
  }
  const writesRow = (r: typeof tc) => (r === undefined ? "–" : `${num(total(r.kubeWrites))} (upstreams ${num(upstreamWrites(r.kubeWrites))}, events ${num(eventWrites(r.kubeWrites))}, leases ${num(leaseWrites(r.kubeWrites))})`);
  lines.push(`| Kubernetes writes | ${writesRow(tc)} | ${writesRow(nc)} | ${num(f.cloud)} (one status per cloud upstream) | ${tc === undefined ? "–" : ratio(upstreamWrites(tc.kubeWrites), f.cloud)} | | |`);
  const vaultRow = (r: typeof tc) => (r === undefined ? "–" : `logins ${num(sumOps(r.vault, "login"))}, reads ${num(sumOps(r.vault, "kv read"))}${listed(minus(r.vault, {})) === "none" ? "" : ` (${listed(r.vault)})`}`);
  lines.push(`| Vault | ${vaultRow(tc)} | ${vaultRow(nc)} | 1 login (every fleet secret is in Kubernetes) | | | |`);
  lines.push(
    `| broker peak RSS (VmHWM) | ${tc === undefined ? "–" : `${(tc.peakRssBytes / MB).toFixed(0)} MB`} | ${nc === undefined ? "–" : `${(nc.peakRssBytes / MB).toFixed(0)} MB`} | ${floor.rssBytes === undefined ? "" : `floor ${(floor.rssBytes / MB).toFixed(0)} MB: the same broker over ${FLOOR_SIZE} upstreams (its modules and runtime)`} | | ${rt === undefined ? "–" : `≤ ${rt / MB} MB`} | ${rt === undefined || tc === undefined ? "–" : verdict(tc.peakRssBytes <= rt)} |`,
  );
  lines.push(`| broker CPU seconds (user + system, start-up included) | ${tc === undefined ? "–" : tc.cpuSeconds.toFixed(1)} | ${nc === undefined ? "–" : nc.cpuSeconds.toFixed(1)} | | | | |`);
  lines.push(`| broker peak RSS / CPU seconds over the whole run | ${(tuned.end.peakRssBytes / MB).toFixed(0)} MB / ${tuned.end.cpuSeconds.toFixed(1)} | ${(naive.end.peakRssBytes / MB).toFixed(0)} MB / ${naive.end.cpuSeconds.toFixed(1)} | | | ${rt === undefined ? "–" : `≤ ${rt / MB} MB`} | ${rt === undefined ? "–" : verdict(tuned.end.peakRssBytes <= rt)} |`);
  if (tc !== undefined && tc.wallMs > c.cacheTtlMs)
    lines.push("", `The cold start took longer than controller.cacheTtlMs (${fmtMs(c.cacheTtlMs)}): credential-regions verified early in it expire and are called again before it ends, which the bound does not count.`);
  lines.push("");

  const ts = tuned.steady;
  const ns = naive.steady;
  lines.push(`### Steady state (one interval, ${c.verifyIntervalMs / 1000} s, after the cold start's queue drained)`, "");
  lines.push("| measure | broker | naive baseline | lower bound per interval | measured ÷ bound | target | |", "|---|---|---|---|---|---|---|");
  if (ts === undefined) lines.push("| – | not reached | | | | | |");
  else {
    const perCR = bound.credentialRegions.aws + bound.credentialRegions.awsEc2;
    lines.push(
      `| Kubernetes writes beyond heartbeats (status changes of more than lastVerified) | ${num(ts.nonHeartbeatChanges)} | ${ns === undefined ? "–" : num(ns.nonHeartbeatChanges)} | 0 | | 0 | ${verdict(ts.nonHeartbeatChanges === 0)} |`,
    );
    lines.push(`| Kubernetes writes in all (heartbeats seen: ${num(ts.heartbeatChanges)}) | ${listed(ts.kubeWrites)} | ${ns === undefined ? "–" : listed(ns.kubeWrites)} | | | | |`);
    lines.push(`| cloud calls | ${num(total(ts.calls))} | ${ns === undefined ? "–" : num(total(ns.calls))} | ${num(callsBound)} | ${ratio(total(ts.calls), callsBound)} | ≤ 1.1× bound | ${verdict(total(ts.calls) <= 1.1 * callsBound)} |`);
    lines.push(
      `| STS GetCallerIdentity against distinct credential-regions | ${num(ts.calls["sts:GetCallerIdentity"] ?? 0)} for ${num(perCR)} | ${ns === undefined ? "–" : num(ns.calls["sts:GetCallerIdentity"] ?? 0)} | ${num(perCR)} | ${ratio(ts.calls["sts:GetCallerIdentity"] ?? 0, perCR)} | | |`,
    );
    lines.push(`| every cloud call | ${listed(ts.calls)} | ${ns === undefined ? "–" : listed(ns.calls)} | ${listed(bound.calls)} | | | |`);
  }
  const rf = tuned.refresh;
  if (rf !== undefined) {
    const within = Math.abs(rf.meanMs - c.verifyIntervalMs) <= 0.05 * c.verifyIntervalMs;
    lines.push(
      `| achieved refresh interval (successive lastVerified of one key; keys a reverify or rotation touched left out from then on) | mean ${fmtMs(rf.meanMs)}, median ${fmtMs(rf.medianMs)}, p5 ${fmtMs(rf.p5Ms)}, p95 ${fmtMs(rf.p95Ms)} (${num(rf.intervals)} intervals of ${num(rf.keys)} keys; ${num(rf.keysWithoutSecond)} untouched keys seen verified once only; ${num(rf.touchedBeforeSecond)} touched before their second verification, left out) | | ${fmtMs(c.verifyIntervalMs)} configured | ${ratio(rf.meanMs, c.verifyIntervalMs)} | within 5%${size === 20000 ? "" : " (at 20,000)"} | ${verdict(within && rf.keysWithoutSecond === 0)} |`,
    );
  }
  lines.push("");

  lines.push("### Reverify latency (POST /v1/reverify one upstream, wait: true)", "");
  lines.push("| when | broker | target | |", "|---|---|---|---|");
  lines.push(latencyRow("idle (after the cold start drained)", tuned.reverifyIdle, 500));
  lines.push(latencyRow("during the cold-start pass", tuned.reverifyDuringCold, 2_000));
  lines.push(latencyRow("during the periodic pass (steady state)", tuned.reverifyDuringPass, 2_000));
  lines.push("");

  const ch = tuned.churn;
  lines.push("### Churn (1% of the credential Secrets rotated per minute: a new IAM key, then the Secret)", "");
  if (ch === undefined) lines.push("not reached", "");
  else {
    const steadyPerMs = ts === undefined ? 0 : total(ts.calls) / ts.windowMs;
    const expected = steadyPerMs * ch.windowMs;
    lines.push("| measure | broker |", "|---|---|");
    lines.push(`| rotations | ${ch.rotations} over ${fmtMs(plan(tuned).churnMs)} (each Secret serves 20 upstreams) |`);
    lines.push(`| time to reflect (rotation → every upstream of the Secret verified since) | p50 ${fmtMs(ch.reflectMs.p50)}, p99 ${fmtMs(ch.reflectMs.p99)}, max ${fmtMs(ch.reflectMs.max)}${ch.unfinished === undefined ? "" : `; ${ch.unfinished}`} |`);
    lines.push(`| cloud calls over the churn window (${fmtMs(ch.windowMs)}) | ${num(total(ch.calls))} (${listed(ch.calls)}); the steady rate would spend ${num(Math.round(expected))}, ${total(ch.calls) <= expected ? "so none can be told apart for the rotations" : `so about ${num(Math.round(total(ch.calls) - expected))} for the rotations, ${ch.rotations === 0 ? "–" : num(Math.round((total(ch.calls) - expected) / ch.rotations))} each`} (bound: ${num(ch.rotatedSecrets.reduce((n, sct) => n + bound.perRotation(sct), 0))} in all: each rotated credential's regions verified again and its discovering regions swept again) |`);
    lines.push(`| Kubernetes writes over the churn window | ${listed(ch.kubeWrites)} |`);
    lines.push("");
  }

  const perHour = f.aws * bound.listPages * 3600;
  lines.push("### Gloo's function discovery (a labelled model, not measured)", "");
  lines.push(
    `Gloo's FDS sweeps ListFunctions for every AWS upstream about once a second: ${num(f.aws)} AWS upstreams × ${bound.listPages} pages (100 functions, 50 a page) × 3,600 = **${num(perHour)} ListFunctions calls per hour**, ` +
      `against the broker's ${ts === undefined ? "–" : num(Math.round((sumOps(ts.calls, "lambda:") * 3_600_000) / ts.windowMs))} Lambda calls per hour at the steady rate measured above (and a bound of ${num(Math.round(((bound.calls["lambda:ListFunctions"] ?? 0) * 3_600_000) / c.verifyIntervalMs))} at one sweep per discovering credential-region per interval).`,
    "",
  );
  return lines;
}

function plan(r: RunResult): Omit<RunPlan, "progress"> {
  return r.plan;
}

/** The same fleet against the sandbox's Kubernetes and a real kube-apiserver, side by side: where they differ, the sandbox is wrong. */
function renderReal(real: RunResult, sandbox: RunResult | undefined): string[] {
  const size = real.plan.size;
  const both = (f: (r: RunResult) => string) => `${sandbox === undefined ? "–" : f(sandbox)} | ${f(real)}`;
  const writes = (c: Calls | undefined) => (c === undefined ? "–" : `${num(total(c))} (${listed(c)})`);
  const lat = (l: Latencies | undefined) => (l === undefined ? "–" : `p50 ${fmtMs(l.p50)}, p99 ${fmtMs(l.p99)}`);
  const lines = [
    `## ${num(size)} cloud upstreams against a real kube-apiserver`,
    "",
    "The same fleet, broker settings and clouds; Kubernetes is a real kube-apiserver and etcd (the conformance tier's, test/conformance/servers) with Gloo's Upstream CRD and the deployment's RBAC, the broker as its service account (secrets from Kubernetes only, so no Vault login), writes counted from the API server's audit log, statuses seen through a watch. No latency is injected into it. No naive baseline here.",
    "",
    ...(real.error === undefined ? [] : [`**The run failed: ${real.error}**`, ""]),
    `| measure | sandbox's Kubernetes (${sandbox === undefined ? "not in this run: see bench/RESULTS.md" : "the run above"}) | real kube-apiserver |`,
    "|---|---|---|",
    `| cold start wall time | ${both((r) => (r.cold === undefined ? "–" : `${fmtMs(r.cold.wallMs)}${r.cold.unfinished === undefined ? "" : ` (${r.cold.unfinished})`}`))} |`,
    `| states at the end | ${both((r) => (r.cold === undefined ? "–" : listed(r.cold.byState)))} |`,
    `| cold cloud calls | ${both((r) => (r.cold === undefined ? "–" : num(total(r.cold.calls))))} |`,
    `| cold Kubernetes writes | ${both((r) => writes(r.cold?.kubeWrites))} |`,
    `| broker peak RSS / CPU seconds, cold | ${both((r) => (r.cold === undefined ? "–" : `${(r.cold.peakRssBytes / MB).toFixed(0)} MB / ${r.cold.cpuSeconds.toFixed(1)}`))} |`,
    `| steady: writes beyond heartbeats | ${both((r) => (r.steady === undefined ? "–" : num(r.steady.nonHeartbeatChanges)))} |`,
    `| steady: cloud calls in ${fmtMs(real.config.verifyIntervalMs)} | ${both((r) => (r.steady === undefined ? "–" : num(total(r.steady.calls))))} |`,
    `| steady: Kubernetes writes | ${both((r) => writes(r.steady?.kubeWrites))} |`,
    `| achieved refresh interval | ${both((r) => (r.refresh === undefined ? "–" : `mean ${fmtMs(r.refresh.meanMs)}, p5 ${fmtMs(r.refresh.p5Ms)}, p95 ${fmtMs(r.refresh.p95Ms)}; ${num(r.refresh.keysWithoutSecond)} untouched keys verified once only`))} |`,
    `| reverify idle | ${both((r) => lat(r.reverifyIdle))} |`,
    `| reverify during the cold start / the periodic pass | ${both((r) => `${lat(r.reverifyDuringCold)} / ${lat(r.reverifyDuringPass)}`)} |`,
    `| churn: time to reflect | ${both((r) => (r.churn === undefined ? "–" : `p50 ${fmtMs(r.churn.reflectMs.p50)}, p99 ${fmtMs(r.churn.reflectMs.p99)}; ${r.churn.unreflected} not reflected`))} |`,
    `| broker warnings logged | ${both((r) => `${num(r.end.brokerWarnings)}${r.end.firstWarnings.length === 0 ? "" : ` (first: ${r.end.firstWarnings[0]?.slice(0, 160).replace(/\|/g, "\\|") ?? ""})`}`)} |`,
    "",
  ];
  return lines;
}

/** bench/results/fleet-scale-*.md: sizes run on their own with --out (they take long), listed so RESULTS.md points at them. */
function otherRuns(): string[] {
  const dir = fileURLToPath(new URL("./results/", import.meta.url));
  const files = readdirSync(dir).filter((f) => /^fleet-scale-.+\.md$/.test(f)).sort();
  return files.length === 0 ? [] : [`Sizes run on their own (\`--out\`): ${files.map((f) => `[results/${f}](results/${f})`).join(", ")}.`, ""];
}

function render(all: SizeResult[], real?: RunResult): string {
  const cpu = cpus();
  const out: string[] = [
    "# Fleet-scale benchmark",
    "",
    `Generated by \`npx tsx bench/fleet-scale.ts${QUICK ? " --quick" : ` --sizes ${args.sizes}`}${args.out === undefined ? "" : ` --out ${args.out}`}\` on ${started.toISOString().slice(0, 16).replace("T", " ")} UTC.`,
    "",
    ...(args.out === undefined ? otherRuns() : []),
    `Machine: ${cpu.length} cores, ${cpu[0]?.model.trim() ?? "unknown CPU"}, ${(totalmem() / 2 ** 30).toFixed(1)} GB RAM; Node ${process.version}.`,
    "",
    `The sandbox (Kubernetes, Vault, AWS and Azure emulators) runs in the harness process with injected latency per call: cloud ${LATENCY_MS.cloud} ms (AWS and Azure), Vault ${LATENCY_MS.vault} ms, Kubernetes ${LATENCY_MS.kubernetes} ms. ` +
      `The broker runs as the image runs it (deploy/Dockerfile, bundled first by scripts/bundle.ts): ${IMAGE.description}, in a process of its own, so its peak RSS (VmHWM) and CPU seconds (/proc) are its own; ` +
      `it runs ${[...new Set(all.flatMap((r) => [r.tuned.memoryLimit, r.naive.memoryLimit]).filter((m) => m !== ""))].join("; ") || "unconstrained"}. ` +
      "The harness reads the Upstreams from the emulator's store every second (every 2 s above 8,000) to see statuses and lastVerified; calls are the emulators' own counters. " +
      "The naive baseline is the same fleet on a fresh sandbox with `controller.shareResults: false`: no verification or discovery is shared, in flight or cached (the secret caches stay). " +
      "The lower bound: one STS call per distinct credential-region, one ListFunctions sweep per discovering credential-region, one Entra token per principal and the per-app ARM calls that cannot be shared (every app read once; a discovering app's functions, host keys and its one function key listed once); " +
      "its critical path is that work at the configured concurrency, or the busiest account-region's Lambda calls at aws.lambdaRequestsPerSecond, whichever is longer. Every phase has a deadline and says so when it is missed." +
      (QUICK ? " **--quick: 1,000 only, a 20 s interval, one minute of churn; the targets are for the full run.**" : ""),
    "",
  ];
  for (const r of all) out.push(...renderSize(r));
  if (real !== undefined) out.push(...renderReal(real, all.find((r) => r.size === real.plan.size)?.tuned));
  return out.join("\n");
}

// ---------------------------------------------------------------- the run (last, so everything above is initialised)

interface SizeResult {
  size: number;
  tuned: RunResult;
  naive: RunResult;
}


const results: SizeResult[] = [];
console.log(`the broker as the image runs it: ${IMAGE.description}`);
console.log(`the floor: the broker over ${FLOOR_SIZE} upstreams, cold start only`);
const floorRun = await runFleet({ ...planFor(FLOOR_SIZE, "tuned"), coldTimeoutMs: 60_000, churnMs: 0, reverifySamples: 0, steady: false });
if (floorRun.error === undefined) floor.rssBytes = floorRun.end.peakRssBytes;
for (const size of SIZES) {
  console.log(`fleet of ${size} cloud upstreams (+${size} kube): broker with the defaults`);
  const tuned = await runFleet(planFor(size, "tuned"));
  console.log(`fleet of ${size}: naive baseline (controller.shareResults false)`);
  const naive = await runFleet(planFor(size, "naive"));
  results.push({ size, tuned, naive });
  // Written after every size, so a long run that is stopped keeps what it measured.
  writeFileSync(OUT, render(results));
}
if (args["real-kube"]) {
  const size = QUICK ? 1000 : 5000;
  console.log(`fleet of ${size} against a real kube-apiserver: broker with the defaults`);
  const real = await runFleet({ ...planFor(size, "tuned"), kube: "real" });
  writeFileSync(OUT, render(results, real));
}
console.log(`wrote ${OUT}`);
process.exit(0);
