// HTTP load run on loopback: a broker over a generated fleet takes an open-loop mix of reads and reverify requests from a child process; prints and writes bench/results/http-load.md.
// Run: npx tsx bench/http-load.ts [--rate 1000] [--seconds 30] [--fleet 1000]   (exits 1 if any 5xx or unanswered request)
// The broker runs alone in this process, so RSS, heap and event-loop delay are its own; the sandbox and the load generator share the child.
import { fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { buildConfig } from "../src/config.js";
import { startBroker, type Broker } from "../src/commands/run.js";
import type { ChildMessage, CloudCounters, LoadResult, ParentMessage, Route, RouteResult } from "./http-load-client.js";

interface Readable {
  get(): Promise<{ values: { value: number; labels: Partial<Record<string, string | number>> }[] }>;
}

const { values: args } = parseArgs({ options: { rate: { type: "string", default: "1000" }, seconds: { type: "string", default: "30" }, fleet: { type: "string", default: "1000" } } });
function positive(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`--${name} must be a whole number of at least 1, not ${JSON.stringify(text)}`);
    process.exit(2);
  }
  return n;
}
const RATE = positive("rate", args.rate);
const SECONDS = positive("seconds", args.seconds);
const FLEET = positive("fleet", args.fleet);

async function until(what: string, probe: () => boolean | Promise<boolean>, timeoutMs: number): Promise<number> {
  const start = performance.now();
  while (!(await probe())) {
    if (performance.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return performance.now() - start;
}

/** The metric's values summed by one label, over the series that carry `where`. */
async function byLabel(metric: Readable, label: string, where: Record<string, string> = {}): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await metric.get()).values) {
    if (Object.entries(where).some(([k, want]) => v.labels[k] !== want)) continue;
    const key = String(v.labels[label] ?? "");
    out[key] = (out[key] ?? 0) + v.value;
  }
  return out;
}

const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
const minus = (a: Record<string, number>, b: Record<string, number>) => Object.fromEntries(Object.entries(a).map(([k, v]) => [k, v - (b[k] ?? 0)]).filter(([, v]) => v !== 0)) as Record<string, number>;
const listed = (r: Record<string, number>) => Object.entries(r).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k} ${v}`).join(", ") || "none";
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;
/** An event-loop delay sample (ns, the whole 1 ms interval) as the delay beyond it, in ms. */
const lag = (ns: number) => Math.max(0, ns / 1e6 - 1);
const ms = (n: number) => (Number.isNaN(n) ? "–" : n >= 1000 ? `${(n / 1000).toFixed(2)} s` : `${n.toFixed(n < 10 ? 1 : 0)} ms`);

// A full collection before the baseline and after the drain, so "retained" separates what the broker keeps from garbage not yet collected.
setFlagsFromString("--expose-gc");
const collect = runInNewContext("gc") as () => void;

// The child: sandbox and load generator, answering one message per message.
const child = fork(fileURLToPath(new URL("./http-load-client.ts", import.meta.url)), [], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
const replies: ((m: ChildMessage) => void)[] = [];
child.on("message", (m: ChildMessage) => replies.shift()?.(m));
child.on("exit", (code) => {
  for (const reply of replies.splice(0)) reply({ type: "failed", message: `the load generator exited with code ${code}` });
});
function ask<T extends ChildMessage["type"]>(message: ParentMessage, expect: T): Promise<Extract<ChildMessage, { type: T }>> {
  return new Promise((resolve, reject) => {
    replies.push((m) => (m.type === expect ? resolve(m as Extract<ChildMessage, { type: T }>) : reject(new Error(m.type === "failed" ? m.message : `the load generator answered ${m.type}, not ${expect}`))));
    child.send(message);
  });
}

// Warnings and errors of the broker: counted, the first few kept for the report.
const brokerLog: string[] = [];
let brokerLogLines = 0;
// "stopped leading shard" at the end is the graceful stop, not a finding.
let brokerStopping = false;
const logSink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    if (!brokerStopping)
      for (const line of chunk.toString("utf8").split("\n").filter((l) => l !== "")) if (brokerLogLines++ < 5) brokerLog.push(line.slice(0, 400));
    done();
  },
});

const workDir = await mkdtemp(join(tmpdir(), "credbroker-load-"));
let broker: Broker | undefined;
let failed = false;
try {
  const { settings, upstreams } = await ask({ type: "start", fleet: FLEET }, "started");
  const token = randomBytes(24).toString("base64url");
  const tokenFile = join(workDir, "tokens");
  await writeFile(tokenFile, `${token}\n`, { mode: 0o600 });
  const config = buildConfig({
    flags: { ...settings, "http.port": "0", "http.auth": "token-file", "http.tokenFile": tokenFile, "http.requestsPerMinute": "1000000", "log.level": "warn" },
  });
  const started = performance.now();
  const b = await startBroker(config, { logDestination: logSink });
  broker = b;
  const { controller, metrics } = b;
  const fleetKeys = () => controller.select({}).filter((k) => k.startsWith("fleet-"));
  await until("every fleet upstream to have a status", () => controller.ready() && fleetKeys().length === upstreams && fleetKeys().every((k) => controller.view(k)?.state !== "Unverified"), 150_000);
  const settleMs = performance.now() - started;
  // The first pass's last writes and their watch events, so the run starts from a quiet broker.
  await until("the first pass to finish", () => controller.progress().ready === 0 && controller.progress().inFlight === 0, 30_000).catch(() => undefined);
  const byState: Record<string, number> = {};
  for (const k of fleetKeys()) {
    const state = controller.view(k)?.state ?? "Unverified";
    byState[state] = (byState[state] ?? 0) + 1;
  }
  const states = listed(byState);
  console.log(`settled   ${upstreams} fleet upstreams in ${(settleMs / 1000).toFixed(1)} s (${states}); driving ${RATE} requests/s for ${SECONDS} s`);

  const snapshot = async () => ({
    answers: await byLabel(metrics.reverifyRequests, "answer"),
    reconciles: await byLabel(metrics.reconciles, "outcome"),
    codes: await byLabel(metrics.httpRequests, "code"),
    verifyCache: await byLabel(metrics.cloudCache, "result", { kind: "verify" }),
    cloud: (await ask({ type: "counters" }, "counters")).counters,
  });
  collect();
  const baseline = process.memoryUsage();
  const peak = { rss: baseline.rss, heapUsed: baseline.heapUsed, queueDepth: 0, reverifyQueued: 0 };
  let runStart = Infinity;
  let cpuAtStart = process.cpuUsage();
  /** The broker's CPU over the send window, taken by the first sample after it ends. */
  let windowCpu: { cpuMs: number; overMs: number } | undefined;
  const gauge = async (g: Readable) => sum(await byLabel(g, ""));
  const sample = async () => {
    const now = performance.now();
    if (windowCpu === undefined && now >= runStart + SECONDS * 1000) {
      const used = process.cpuUsage(cpuAtStart);
      windowCpu = { cpuMs: (used.user + used.system) / 1000, overMs: now - runStart };
    }
    const m = process.memoryUsage();
    peak.rss = Math.max(peak.rss, m.rss);
    peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed);
    peak.queueDepth = Math.max(peak.queueDepth, await gauge(metrics.queueDepth));
    peak.reverifyQueued = Math.max(peak.reverifyQueued, await gauge(metrics.reverifyQueued));
  };
  const sampler = setInterval(() => void sample(), 250);
  // Sampled every 1 ms; each sample is the interval, so the 1 ms is taken off when reported.
  const delay = monitorEventLoopDelay({ resolution: 1 });
  const before = await snapshot();
  delay.enable();
  runStart = performance.now();
  cpuAtStart = process.cpuUsage();
  const { result } = await ask({ type: "run", url: b.url, token, rate: RATE, seconds: SECONDS }, "result");
  delay.disable();
  const answered = await snapshot();
  const answeredMs = performance.now() - runStart;
  const endOfRun = process.memoryUsage();
  await until("the reverify queue to drain", async () => (await gauge(metrics.reverifyQueued)) === 0 && controller.progress().ready === 0 && controller.progress().inFlight === 0, 90_000).catch(() => undefined);
  clearInterval(sampler);
  await sample();
  const drained = await snapshot();
  const drainedMs = performance.now() - runStart;
  const end = process.memoryUsage();
  collect();
  const retained = process.memoryUsage();

  const report = render({ result, settleMs, baseline, peak, endOfRun, end, retained, delay, before, answered, drained, answeredMs, drainedMs, windowCpu, controllerSettings: config.controller });
  process.stdout.write(report);
  mkdirSync(fileURLToPath(new URL("./results/", import.meta.url)), { recursive: true });
  writeFileSync(fileURLToPath(new URL("./results/http-load.md", import.meta.url)), report);
  const fiveXx = Object.values(result.routes).reduce((n, r) => n + Object.entries(r.byStatus).reduce((m, [code, c]) => m + (code.startsWith("5") ? c : 0), 0), 0);
  const serverFiveXx = sum(Object.fromEntries(Object.entries(minus(drained.codes, before.codes)).filter(([code]) => code.startsWith("5"))));
  const lost = Object.values(result.routes).reduce((n, r) => n + sum(r.errors), 0);
  if (fiveXx > 0 || serverFiveXx > 0 || lost > 0) {
    failed = true;
    console.error(`FAILED: ${fiveXx} 5xx answers seen by the client, ${serverFiveXx} counted by the broker, ${lost} requests without an answer`);
  }
} catch (err) {
  failed = true;
  console.error(err);
} finally {
  brokerStopping = true;
  await broker?.stop();
  if (child.connected) await ask({ type: "close" }, "closed").catch(() => undefined);
  await rm(workDir, { recursive: true, force: true });
  if (brokerLogLines > 0) console.error(`the broker logged ${brokerLogLines} warnings or errors; the first:\n${brokerLog.join("\n")}`);
}
process.exit(failed ? 1 : 0);

type Snapshot = { answers: Record<string, number>; reconciles: Record<string, number>; codes: Record<string, number>; verifyCache: Record<string, number>; cloud: CloudCounters };

function render(r: {
  result: LoadResult;
  settleMs: number;
  baseline: NodeJS.MemoryUsage;
  peak: { rss: number; heapUsed: number; queueDepth: number; reverifyQueued: number };
  endOfRun: NodeJS.MemoryUsage;
  end: NodeJS.MemoryUsage;
  retained: NodeJS.MemoryUsage;
  delay: ReturnType<typeof monitorEventLoopDelay>;
  before: Snapshot;
  answered: Snapshot;
  drained: Snapshot;
  answeredMs: number;
  drainedMs: number;
  windowCpu: { cpuMs: number; overMs: number } | undefined;
  controllerSettings: { concurrency: number; globalRatePerSecond: number };
}): string {
  const { routes } = r.result;
  const names: Record<Route, string> = {
    get: "GET /v1/upstreams/{ns}/{name} (50%)",
    list: "GET /v1/upstreams?namespace=…&limit=100 (20%)",
    reverify: "POST /v1/reverify one upstream, no wait (30%)",
    reverifyWait: "POST /v1/reverify one upstream, wait: true (1/s)",
  };
  const row = (name: string, x: RouteResult) =>
    `| ${name} | ${x.sent} | ${x.answered} | ${listed(x.byStatus)} | ${listed(x.errors)} | ${x.late} | ${x.notSent} | ${ms(x.latencyMs.p50)} | ${ms(x.latencyMs.p99)} | ${ms(x.latencyMs.max)} |`;
  const mixed = (["get", "list", "reverify"] as const).map((k) => routes[k]);
  const mixSent = mixed.reduce((n, x) => n + x.sent, 0);
  const mixAnswered = mixed.reduce((n, x) => n + x.answered, 0);
  const asked = routes.reverify.sent + routes.reverifyWait.sent;
  // "took": from the first scheduled request to the snapshot.
  const coalescing = (label: string, to: Snapshot, tookMs: number) => {
    const answers = minus(to.answers, r.before.answers);
    const reconciles = minus(to.reconciles, r.before.reconciles);
    return `| ${label} | ${asked} | ${answers["queued"] ?? 0} | ${answers["joined"] ?? 0} | ${sum(reconciles)} (${listed(reconciles)}) | ${listed(minus(to.verifyCache, r.before.verifyCache))} | ${to.cloud.stsCalls - r.before.cloud.stsCalls} (${to.cloud.awsCalls - r.before.cloud.awsCalls} AWS calls in all) | ${to.cloud.kubeWrites - r.before.cloud.kubeWrites} | ${ms(tookMs)} |`;
  };
  const cpu = cpus();
  return [
    `# HTTP load run (${new Date().toISOString().slice(0, 10)}, ${RATE} requests/s for ${SECONDS} s against ${FLEET} upstreams, loopback)`,
    "",
    `Machine: ${cpu.length} × ${cpu[0]?.model.trim() ?? "unknown CPU"}, ${mb(totalmem())}; Node ${process.version}. One broker with the controller's defaults`,
    `(${r.controllerSettings.concurrency} reconciles in flight, ${r.controllerSettings.globalRatePerSecond} started a second), \`http.auth\` token-file, \`http.requestsPerMinute\` 1,000,000. The broker runs alone in`,
    "the parent process; the sandbox and the open-loop load generator (64 keep-alive sockets for the mix, another pool for the waits) in a",
    `child. The fleet (10 credentials, 2 regions) settled in ${(r.settleMs / 1000).toFixed(1)} s before the run. Latency runs from the scheduled send time.`,
    "",
    "| route | sent | answered | status codes | no answer | late (> 10 ms) | not sent | p50 | p99 | max |",
    "|---|---|---|---|---|---|---|---|---|---|",
    ...(Object.keys(names) as Route[]).map((k) => row(names[k], routes[k])),
    "",
    ...(Object.keys(names) as Route[]).flatMap((k) => Object.entries(routes[k].samples).map(([code, body]) => `- ${names[k]}: first ${code} answer \`${body}\``)),
    ...(Object.values(routes).some((x) => Object.keys(x.samples).length > 0) ? [""] : []),
    "| measure | value |",
    "|---|---|",
    `| achieved rate (mix) | ${((mixSent / r.result.sendWindowMs) * 1000).toFixed(0)} sent/s over ${(r.result.sendWindowMs / 1000).toFixed(1)} s; ${((mixAnswered / r.result.answerWindowMs) * 1000).toFixed(0)} answered/s until the last answer at ${(r.result.answerWindowMs / 1000).toFixed(1)} s |`,
    `| load generator's worst lag behind its schedule | ${ms(r.result.maxLagMs)} |`,
    `| CPU over the send window | broker ${r.windowCpu === undefined ? "–" : `${((r.windowCpu.cpuMs / r.windowCpu.overMs) * 100).toFixed(0)}%`} of a core; sandbox + generator ${((r.result.cpuMs / r.result.sendWindowMs) * 100).toFixed(0)}% |`,
    `| broker RSS (250 ms samples) | ${mb(r.baseline.rss)} settled, peak ${mb(r.peak.rss)}, ${mb(r.endOfRun.rss)} at the last answer, ${mb(r.end.rss)} drained, ${mb(r.retained.rss)} after a full GC |`,
    `| broker heap used | ${mb(r.baseline.heapUsed)} settled (after a full GC), peak ${mb(r.peak.heapUsed)}, ${mb(r.endOfRun.heapUsed)} at the last answer, ${mb(r.end.heapUsed)} drained, ${mb(r.retained.heapUsed)} after a full GC |`,
    `| broker event-loop delay during the run (perf_hooks, beyond the 1 ms sampling timer) | p50 ${ms(lag(r.delay.percentile(50)))}, p99 ${ms(lag(r.delay.percentile(99)))}, max ${ms(lag(r.delay.max))} |`,
    `| API answers counted by the broker (credbroker_http_requests_total) | ${listed(minus(r.drained.codes, r.before.codes))} |`,
    `| peak credbroker_queue_depth / credbroker_reverify_queued | ${r.peak.queueDepth} / ${r.peak.reverifyQueued} |`,
    "",
    "Coalescing: each reverify request names one upstream; `queued` and `joined` are credbroker_reverify_requests_total by answer, reconciles",
    "credbroker_reconcile_total by outcome, lookups credbroker_cloud_cache_total{kind=\"verify\"} by result, cloud calls the sandbox's STS",
    "GetCallerIdentity count (a forced run does not take a cached result, though it may join a call already under way).",
    "",
    "| until | upstreams asked | queued | joined | reconciles | shared verification lookups | GetCallerIdentity calls | Kubernetes writes | took |",
    "|---|---|---|---|---|---|---|---|---|",
    coalescing("every request answered", r.answered, r.answeredMs),
    coalescing("the queue drained", r.drained, r.drainedMs),
    "",
  ].join("\n");
}
