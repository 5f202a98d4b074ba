// One fleet-scale run for bench/fleet-scale.ts: a sandbox with a mixed fleet and injected latency in this process, the broker in a process of its own, and the phases measured against them.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildConfig, type Config } from "../src/config.js";
import type { JsonObject } from "../src/model/fields.js";
import { awsKeySecret, generateMixedFleet, rotatedFleetKeys, type FleetCredential, type MixedFleet } from "../src/sandbox/fleet.js";
import type { Sandbox } from "../src/sandbox/index.js";
import { writeConfigFile } from "../test/support/broker-process.js";
import { snapshotOps, type Calls } from "./counters.js";
import { realKube, sandboxKube, type KubeSide } from "./kube-side.js";
import type { ImageRuntime } from "./image-runtime.js";
import { createMemoryCgroup, deploymentMemoryLimit, type MemoryCgroup } from "./memory-cgroup.js";

const STATUS_KEY = "credbroker";

export const LATENCY_MS = { cloud: 25, vault: 5, kubernetes: 2 } as const;

export type Mode = "tuned" | "naive";

export interface RunPlan {
  size: number;
  mode: Mode;
  quick: boolean;
  /** controller.verifyIntervalMs of the run. */
  intervalMs: number;
  /** Phase deadlines. */
  coldTimeoutMs: number;
  /** Churn: how long secrets are rotated for (0: no churn phase). */
  churnMs: number;
  /** Reverify samples per latency phase (0: none). */
  reverifySamples: number;
  /** Run the steady window (naive runs do, to count its calls). */
  steady: boolean;
  /** The Kubernetes: the sandbox's emulator (default) or a real kube-apiserver (the conformance tier's servers). */
  kube?: "sandbox" | "real";
  /** How the broker is run: the image's bundle, options and environment (stageImage). */
  image: ImageRuntime;
  progress: (line: string) => void;
}

export type { Calls } from "./counters.js";

export interface Latencies {
  samples: number;
  p50: number;
  p99: number;
  max: number;
  codes: Record<string, number>;
  /** Broker queue depth (credbroker_queue_depth) when the phase began. */
  queueAtStart: number;
  note?: string;
}

export interface PhaseOutcome {
  /** Set when the phase hit its deadline: "did not finish within X". */
  unfinished?: string;
}

export interface ColdResult extends PhaseOutcome {
  wallMs: number;
  withStatus: number;
  byState: Record<string, number>;
  calls: Calls;
  kubeWrites: Calls;
  vault: Calls;
  peakRssBytes: number;
  cpuSeconds: number;
}

export interface SteadyResult extends PhaseOutcome {
  windowMs: number;
  calls: Calls;
  kubeWrites: Calls;
  /** Status changes of more than lastVerified seen by the poller in the window. */
  nonHeartbeatChanges: number;
  heartbeatChanges: number;
}

export interface RefreshResult {
  keys: number;
  intervals: number;
  medianMs: number;
  meanMs: number;
  p5Ms: number;
  p95Ms: number;
  /** Untouched keys verified once only: never refreshed while watched. */
  keysWithoutSecond: number;
  /** Keys a reverify or rotation touched before their second verification: left out, not a miss. */
  touchedBeforeSecond: number;
}

export interface ChurnResult extends PhaseOutcome {
  rotations: number;
  /** `namespace/name` of every Secret rotated, in order. */
  rotatedSecrets: string[];
  windowMs: number;
  reflectMs: { p50: number; p99: number; max: number };
  unreflected: number;
  calls: Calls;
  kubeWrites: Calls;
}

export interface RunResult {
  plan: Omit<RunPlan, "progress">;
  fleet: { cloud: number; aws: number; azure: number; awsEc2: number; kube: number; credentials: Record<string, number>; awsAccounts: number };
  config: Pick<Config["controller"], "concurrency" | "globalRatePerSecond" | "verifyIntervalMs" | "cacheTtlMs"> & { lambdaRequestsPerSecond: number; heartbeatIntervalMs: number };
  cold?: ColdResult;
  reverifyDuringCold?: Latencies;
  reverifyIdle?: Latencies;
  steady?: SteadyResult;
  refresh?: RefreshResult;
  reverifyDuringPass?: Latencies;
  churn?: ChurnResult;
  end: { peakRssBytes: number; cpuSeconds: number; brokerWarnings: number; firstWarnings: string[] };
  /** The broker's memory limit, as the results state it. */
  memoryLimit: string;
  error?: string;
}

export function fleetFor(size: number): MixedFleet {
  return generateMixedFleet({ cloudUpstreams: size });
}

// ---------------------------------------------------------------- helpers

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const now = () => performance.now();

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const CLOCK_TICKS = 100;

/** Peak RSS (VmHWM) and CPU seconds (user + system) of a process, from /proc. */
function procStats(pid: number): { peakRssBytes: number; cpuSeconds: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const cpu = (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / CLOCK_TICKS;
    return { peakRssBytes: hwm, cpuSeconds: cpu };
  } catch {
    return { peakRssBytes: 0, cpuSeconds: 0 };
  }
}

export function percentile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

export function minus(a: Calls, b: Calls): Calls {
  const out: Calls = {};
  for (const [k, v] of Object.entries(a)) if (v - (b[k] ?? 0) !== 0) out[k] = v - (b[k] ?? 0);
  return out;
}

export const total = (c: Calls) => Object.values(c).reduce((a, b) => a + b, 0);

function cloudCalls(sandbox: Sandbox): Calls {
  return { ...snapshotOps(sandbox.aws.counters), ...snapshotOps(sandbox.azure.counters) };
}

function vaultCalls(sandbox: Sandbox): Calls {
  const all = snapshotOps(sandbox.vault.counters);
  return Object.fromEntries(Object.entries(all).filter(([op]) => op.startsWith("login") || op.startsWith("kv ") || op.endsWith("-self")));
}

/** Sums a Prometheus text metric over the series whose labels include `where`. */
function metricSum(text: string, name: string, where: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== "{" && rest[0] !== " ") continue;
    if (Object.entries(where).some(([k, v]) => !rest.includes(`${k}="${v}"`))) continue;
    const value = Number(line.slice(line.lastIndexOf(" ") + 1));
    if (Number.isFinite(value)) sum += value;
  }
  return sum;
}

// ---------------------------------------------------------------- status poller

interface KeyTrack {
  state: string | undefined;
  fingerprint: string | undefined;
  /** Distinct lastVerified values seen, in ms, in order. */
  verified: number[];
}

/** Reads the Upstreams from the emulator's store every `everyMs`: who has a status, each key's lastVerified history, and which changes were more than a heartbeat. */
class StatusPoller {
  readonly keys = new Map<string, KeyTrack>();
  nonHeartbeat = 0;
  heartbeat = 0;
  private feeding: { stop(): void; catchUp(): void } | undefined;
  private readonly cloud: Set<string>;

  constructor(
    private readonly kube: KubeSide,
    cloudKeys: readonly string[],
    private readonly everyMs: number,
  ) {
    this.cloud = new Set(cloudKeys);
    for (const k of cloudKeys) this.keys.set(k, { state: undefined, fingerprint: undefined, verified: [] });
  }

  start(): void {
    this.feeding = this.kube.feed((obj) => this.see(obj), this.everyMs);
  }

  stop(): void {
    this.feeding?.stop();
  }

  /** Sees the current state now (the end of a window). */
  poll(): void {
    this.feeding?.catchUp();
  }

  private see(obj: Readonly<JsonObject>): void {
    const meta = obj.metadata as { namespace?: string; name?: string } | undefined;
    const key = `${meta?.namespace ?? ""}/${meta?.name ?? ""}`;
    if (!this.cloud.has(key)) return;
    const track = this.keys.get(key);
    const statuses = (obj.status as { statuses?: Record<string, unknown> } | undefined)?.statuses;
    const entry = statuses?.[STATUS_KEY] as { state?: string; details?: Record<string, unknown> } | undefined;
    if (track === undefined || entry === undefined) return;
    const { lastVerified, observedGeneration, ...details } = entry.details ?? {};
    void observedGeneration;
    const fingerprint = JSON.stringify({ ...entry, details });
    const verifiedMs = typeof lastVerified === "string" ? Date.parse(lastVerified) : NaN;
    const newVerification = Number.isFinite(verifiedMs) && verifiedMs !== track.verified.at(-1);
    if (track.fingerprint !== undefined) {
      if (fingerprint !== track.fingerprint) this.nonHeartbeat++;
      else if (newVerification) this.heartbeat++;
    }
    if (newVerification) track.verified.push(verifiedMs);
    track.fingerprint = fingerprint;
    track.state = entry.state;
  }

  withStatus(): number {
    let n = 0;
    for (const t of this.keys.values()) if (t.state !== undefined) n++;
    return n;
  }

  byState(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const t of this.keys.values()) out[t.state ?? "none"] = (out[t.state ?? "none"] ?? 0) + 1;
    return out;
  }
}

// ---------------------------------------------------------------- broker process

interface BrokerProc {
  pid: number;
  url: string;
  warnings(): { count: number; first: string[] };
  exited(): boolean;
  kill(): Promise<void>;
}

async function startBrokerProcess(flags: Record<string, unknown>, dir: string, cgroupDir: string | undefined, image: ImageRuntime): Promise<BrokerProc> {
  const configFile = await writeConfigFile(flags, dir);
  // The bundle as the image runs it (stageImage): no compiler in its RSS or CPU, no node_modules to fall back on.
  // BENCH_BROKER_NODE_ARGS (space-separated) reaches the broker's node only, e.g. --heapsnapshot-signal=SIGUSR2 to profile it.
  const nodeArgs = [...image.nodeArgs, ...(process.env["BENCH_BROKER_NODE_ARGS"] ?? "").split(" ").filter((a) => a !== "")];
  const argv = [...nodeArgs, image.script, "run", "--config", configFile];
  // The container's environment: the image's ENV, nothing of the harness's (no NODE_OPTIONS, no CREDBROKER_*).
  const env = { PATH: process.env["PATH"] ?? "/usr/bin:/bin", HOME: process.env["HOME"] ?? "/", ...image.env };
  const options = { cwd: image.appDir, env, stdio: ["ignore", "pipe", "pipe"] as ("ignore" | "pipe")[] };
  // In the cgroup from its first instruction: the shell moves itself there, then becomes node (same pid).
  const child: ChildProcess =
    cgroupDir === undefined
      ? spawn(process.execPath, argv, options)
      : spawn("/bin/sh", ["-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', cgroupDir, process.execPath, ...argv], options);
  const first: string[] = [];
  let count = 0;
  let partial = "";
  const collect = (chunk: Buffer) => {
    const lines = (partial + chunk.toString("utf8")).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) {
      if (line.trim() === "") continue;
      count++;
      if (first.length < 5) first.push(line.slice(0, 300));
    }
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const exit = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const killOnExit = (): void => void child.kill("SIGKILL");
  process.once("exit", killOnExit);
  return {
    pid: child.pid ?? 0,
    url: `http://127.0.0.1:${String(flags["http.port"])}`,
    warnings: () => ({ count, first: [...first] }),
    exited: () => child.exitCode !== null || child.signalCode !== null,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exit;
      clearTimeout(timer);
      process.off("exit", killOnExit);
    },
  };
}

async function getText(url: string, timeoutMs = 10_000): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return res.text();
}

async function reverifyOnce(url: string, key: string): Promise<{ ms: number; code: string }> {
  const [namespace, name] = key.split("/");
  const started = now();
  try {
    const res = await fetch(`${url}/v1/reverify`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ namespace, name, wait: true, timeoutSeconds: 30 }),
      signal: AbortSignal.timeout(40_000),
    });
    await res.arrayBuffer();
    return { ms: now() - started, code: String(res.status) };
  } catch (err) {
    return { ms: now() - started, code: err instanceof Error && err.name === "TimeoutError" ? "timeout" : "error" };
  }
}

function summarize(samples: { ms: number; code: string }[], queueAtStart: number, note?: string): Latencies {
  const sorted = samples.map((s) => s.ms).sort((a, b) => a - b);
  const codes: Record<string, number> = {};
  for (const s of samples) codes[s.code] = (codes[s.code] ?? 0) + 1;
  return { samples: samples.length, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), max: sorted.at(-1) ?? NaN, codes, queueAtStart, ...(note === undefined ? {} : { note }) };
}

/** Polls `probe` until true or `timeoutMs`; resolves the time taken, or undefined at the deadline. */
async function until(probe: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 250): Promise<number | undefined> {
  const start = now();
  for (;;) {
    if (await probe()) return now() - start;
    if (now() - start > timeoutMs) return undefined;
    await sleep(everyMs);
  }
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(0)} s`;

// ---------------------------------------------------------------- the run

/** Starts a sandbox and a broker for `plan`, runs its phases in order (each bounded), stops both. Never throws: a failure is `error`. */
export async function runFleet(plan: RunPlan): Promise<RunResult> {
  const { progress } = plan;
  const fleet = fleetFor(plan.size);
  const cloudKeys = [...fleet.upstreams.aws, ...fleet.upstreams.azure, ...fleet.upstreams.awsEc2];
  const credentialCounts: Record<string, number> = {};
  for (const c of fleet.credentials) credentialCounts[c.kind] = (credentialCounts[c.kind] ?? 0) + 1;
  const { progress: _p, ...planOut } = plan;
  void _p;
  const result: RunResult = {
    plan: planOut,
    fleet: {
      cloud: cloudKeys.length,
      aws: fleet.upstreams.aws.length,
      azure: fleet.upstreams.azure.length,
      awsEc2: fleet.upstreams.awsEc2.length,
      kube: fleet.upstreams.kube.length,
      credentials: credentialCounts,
      awsAccounts: fleet.seed.aws?.accounts.length ?? 0,
    },
    config: { concurrency: 0, globalRatePerSecond: 0, verifyIntervalMs: 0, cacheTtlMs: 0, lambdaRequestsPerSecond: 0, heartbeatIntervalMs: 0 },
    end: { peakRssBytes: 0, cpuSeconds: 0, brokerWarnings: 0, firstWarnings: [] },
    memoryLimit: "",
  };
  const dir = await mkdtemp(join(tmpdir(), "credbroker-fleet-scale-"));
  let sandbox: Sandbox | undefined;
  let kube: KubeSide | undefined;
  let broker: BrokerProc | undefined;
  let cgroup: MemoryCgroup | undefined;
  let poller: StatusPoller | undefined;
  /** Keys a reverify or a rotation touched: left out of the refresh-interval figures from then on. */
  const touched = new Map<string, number>();
  try {
    const seedStart = now();
    kube = plan.kube === "real" ? await realKube() : await sandboxKube(dir, LATENCY_MS.kubernetes);
    sandbox = kube.sandbox;
    await kube.seed(fleet.seed);
    progress(`  seeded ${cloudKeys.length} cloud + ${fleet.upstreams.kube.length} kube upstreams in ${((now() - seedStart) / 1000).toFixed(1)} s (${kube.kind === "real" ? "a real kube-apiserver" : "the sandbox's Kubernetes"})`);
    sandbox.aws.faults.set({ latencyMs: LATENCY_MS.cloud });
    sandbox.azure.faults.set({ latencyMs: LATENCY_MS.cloud });
    sandbox.vault.faults.set({ latencyMs: LATENCY_MS.vault });

    const port = await freePort();
    const flags: Record<string, unknown> = {
      ...kube.brokerFlags(),
      "http.port": port,
      "http.auth": "none",
      "http.allowAnonymousOnLoopback": true,
      "http.requestsPerMinute": 1_000_000,
      "http.maxQueuedReverify": 1_000_000,
      "log.level": "warn",
      "controller.verifyIntervalMs": `${plan.intervalMs}ms`,
      // Every verification rewrites lastVerified, so the poller sees each one (and those writes are the heartbeats).
      "status.heartbeatIntervalMs": "1s",
      // The default TTL is 0.8 of the default interval (240 of 300 s); kept in that ratio, or a shortened interval would be served from the cache.
      "controller.cacheTtlMs": `${Math.round(plan.intervalMs * 0.8)}ms`,
      // The naive baseline: no result shared, in flight or cached (the secret caches stay: one read per Secret, as before).
      "controller.shareResults": plan.mode !== "naive",
    };
    const config = buildConfig({ flags: Object.fromEntries(Object.entries(flags).map(([k, v]) => [k, String(v)])) });
    result.config = {
      concurrency: config.controller.concurrency,
      globalRatePerSecond: config.controller.globalRatePerSecond,
      verifyIntervalMs: config.controller.verifyIntervalMs,
      cacheTtlMs: config.controller.cacheTtlMs,
      lambdaRequestsPerSecond: config.aws.lambdaRequestsPerSecond,
      heartbeatIntervalMs: config.status.heartbeatIntervalMs,
    };

    poller = new StatusPoller(kube, cloudKeys, cloudKeys.length > 8_000 ? 2_000 : 1_000);
    poller.start();
    const sb = sandbox;
    const k8s = kube;
    const callsAt = () => ({ calls: cloudCalls(sb), kube: k8s.writes(), vault: vaultCalls(sb) });
    const metrics = async () => getText(`${broker?.url ?? ""}/metrics`).catch(() => "");
    const queueDepth = async () => {
      const text = await metrics();
      return text === "" ? NaN : metricSum(text, "credbroker_queue_depth") + metricSum(text, "credbroker_queue_in_flight");
    };

    // ---- cold start
    const before = callsAt();
    const coldStart = now();
    cgroup = createMemoryCgroup(`credbroker-bench-${process.pid}-${plan.mode}-${plan.size}`, deploymentMemoryLimit());
    result.memoryLimit = cgroup.description;
    broker = await startBrokerProcess(flags, dir, cgroup.dir, plan.image);
    const b = broker;
    progress(`  broker pid ${b.pid} (${plan.mode}); waiting for every cloud upstream to have a status (up to ${seconds(plan.coldTimeoutMs)})`);
    // Reverify during the cold-start pass: one a second, in the background, once the API answers.
    const coldSamples: { ms: number; code: string }[] = [];
    let coldDone = false;
    let coldQueue = NaN;
    const coldReverify = (async () => {
      if (plan.reverifySamples === 0) return;
      await until(async () => coldDone || (await fetch(`${b.url}/readyz`, { signal: AbortSignal.timeout(2_000) }).then((r) => r.ok, () => false)), 60_000, 500);
      coldQueue = await queueDepth();
      for (let i = 0; i < plan.reverifySamples && !coldDone; i++) {
        const key = cloudKeys[(cloudKeys.length - 1 - i * 7) % cloudKeys.length] ?? "";
        touched.set(key, Date.now());
        const started = now();
        coldSamples.push(await reverifyOnce(b.url, key));
        await sleep(Math.max(0, 1_000 - (now() - started)));
      }
    })();
    let lastReport = now();
    const coldMs = await until(() => {
      if (b.exited()) return true;
      if (now() - lastReport > 10_000) {
        lastReport = now();
        progress(`    ${poller?.withStatus() ?? 0}/${cloudKeys.length} with a status after ${((now() - coldStart) / 1000).toFixed(0)} s`);
      }
      return poller?.withStatus() === cloudKeys.length;
    }, plan.coldTimeoutMs);
    coldDone = true;
    await coldReverify;
    if (b.exited()) throw new Error(`the broker exited during the cold start: ${b.warnings().first.join(" | ")}`);
    const afterCold = callsAt();
    const coldStats = procStats(b.pid);
    result.cold = {
      wallMs: coldMs ?? now() - coldStart,
      withStatus: poller.withStatus(),
      byState: poller.byState(),
      calls: minus(afterCold.calls, before.calls),
      kubeWrites: minus(afterCold.kube, before.kube),
      vault: minus(afterCold.vault, before.vault),
      ...coldStats,
      ...(coldMs === undefined ? { unfinished: `did not finish within ${seconds(plan.coldTimeoutMs)} (${poller.withStatus()} of ${cloudKeys.length} had a status)` } : {}),
    };
    if (coldSamples.length > 0) result.reverifyDuringCold = summarize(coldSamples, coldQueue, "one a second from the API's readiness until every upstream had a status");
    progress(`  cold start: ${result.cold.unfinished ?? `${((coldMs ?? 0) / 1000).toFixed(1)} s`}; ${total(result.cold.calls)} cloud calls, peak RSS ${(coldStats.peakRssBytes / 2 ** 20).toFixed(0)} MB, ${coldStats.cpuSeconds.toFixed(1)} CPU s`);
    if (coldMs === undefined) return result;

    // ---- drain, then reverify while idle
    const drained = await until(async () => (await queueDepth()) === 0, Math.min(60_000, plan.intervalMs / 2), 250);
    if (plan.reverifySamples > 0) {
      const q = await queueDepth();
      const samples: { ms: number; code: string }[] = [];
      for (let i = 0; i < plan.reverifySamples; i++) {
        const key = cloudKeys[(i * 13 + 5) % cloudKeys.length] ?? "";
        touched.set(key, Date.now());
        samples.push(await reverifyOnce(b.url, key));
      }
      result.reverifyIdle = summarize(samples, q, drained === undefined ? `the queue did not drain within ${seconds(Math.min(60_000, plan.intervalMs / 2))}; sent anyway` : "sequential, after the cold start's queue drained");
      progress(`  reverify idle: p50 ${result.reverifyIdle.p50.toFixed(0)} ms, p99 ${result.reverifyIdle.p99.toFixed(0)} ms`);
    }

    // ---- steady state over one interval
    if (plan.steady) {
      const s0 = callsAt();
      const hb0 = poller.heartbeat;
      const nh0 = poller.nonHeartbeat;
      const start = now();
      await sleep(plan.intervalMs);
      poller.poll();
      const s1 = callsAt();
      result.steady = {
        windowMs: now() - start,
        calls: minus(s1.calls, s0.calls),
        kubeWrites: minus(s1.kube, s0.kube),
        nonHeartbeatChanges: poller.nonHeartbeat - nh0,
        heartbeatChanges: poller.heartbeat - hb0,
      };
      progress(`  steady: ${total(result.steady.calls)} cloud calls, ${total(result.steady.kubeWrites)} Kubernetes writes (${result.steady.nonHeartbeatChanges} beyond heartbeats) in ${seconds(result.steady.windowMs)}`);
    }

    // ---- reverify during the periodic pass
    if (plan.reverifySamples > 0 && plan.mode === "tuned") {
      const q = await queueDepth();
      const samples: { ms: number; code: string }[] = [];
      for (let i = 0; i < plan.reverifySamples; i++) {
        const key = cloudKeys[(i * 17 + 11) % cloudKeys.length] ?? "";
        touched.set(key, Date.now());
        const started = now();
        samples.push(await reverifyOnce(b.url, key));
        await sleep(Math.max(0, 500 - (now() - started)));
      }
      result.reverifyDuringPass = summarize(samples, q, "two a second during the steady periodic pass");
      progress(`  reverify during the periodic pass: p50 ${result.reverifyDuringPass.p50.toFixed(0)} ms, p99 ${result.reverifyDuringPass.p99.toFixed(0)} ms`);
    }

    // ---- churn: 1% of the secrets rotated per minute
    if (plan.churnMs > 0) result.churn = await churn(plan, k8s, fleet, poller, touched, progress, callsAt);

    // ---- achieved refresh interval, from every key no reverify or rotation touched first
    poller.poll();
    result.refresh = refreshOf(poller, touched, plan.intervalMs);
  } catch (err) {
    result.error = err instanceof Error ? err.message : String(err);
    progress(`  failed: ${result.error}`);
  } finally {
    poller?.stop();
    if (broker !== undefined) {
      const stats = procStats(broker.pid);
      result.end = { ...stats, brokerWarnings: broker.warnings().count, firstWarnings: broker.warnings().first };
      await broker.kill();
    }
    cgroup?.remove();
    await kube?.close();
    await rm(dir, { recursive: true, force: true });
  }
  return result;
}

function refreshOf(poller: StatusPoller, touched: Map<string, number>, intervalMs: number): RefreshResult {
  const diffs: number[] = [];
  let keys = 0;
  let without = 0;
  let touchedEarly = 0;
  for (const [key, track] of poller.keys) {
    const cutoff = touched.get(key) ?? Infinity;
    // The first lastVerified is the cold start's (or one stored before it): every later one is a periodic run.
    const times = track.verified.filter((t) => t < cutoff - 1_000);
    if (times.length < 2) {
      if (touched.has(key)) touchedEarly++;
      else without++;
      continue;
    }
    keys++;
    for (let i = 1; i < times.length; i++) diffs.push((times[i] ?? 0) - (times[i - 1] ?? 0));
  }
  diffs.sort((a, b) => a - b);
  void intervalMs;
  return { keys, intervals: diffs.length, medianMs: percentile(diffs, 0.5), meanMs: diffs.reduce((a, b) => a + b, 0) / Math.max(1, diffs.length), p5Ms: percentile(diffs, 0.05), p95Ms: percentile(diffs, 0.95), keysWithoutSecond: without, touchedBeforeSecond: touchedEarly };
}

async function churn(
  plan: RunPlan,
  kube: KubeSide,
  fleet: MixedFleet,
  poller: StatusPoller,
  touched: Map<string, number>,
  progress: (line: string) => void,
  callsAt: () => { calls: Calls; kube: Calls; vault: Calls },
): Promise<ChurnResult> {
  // AWS keys only: an IAM user takes a second key, so the old one stays valid while the Secret catches up, as a real rotation does.
  const candidates = fleet.credentials.filter((c) => c.kind !== "azure");
  const perMinute = Math.max(1, Math.round(fleet.credentials.length * 0.01));
  const rotations = Math.min(candidates.length, Math.max(1, Math.round((perMinute * plan.churnMs) / 60_000)));
  const gapMs = plan.churnMs / rotations;
  const c0 = callsAt();
  const start = now();
  const rotated: { cred: FleetCredential; atMs: number; reflectedMs?: number }[] = [];
  for (let r = 0; r < rotations; r++) {
    const cred = candidates[(r * 37) % candidates.length] as FleetCredential;
    const keys = rotatedFleetKeys(cred.index, 1 + r);
    kube.sandbox.seed({ aws: { accounts: [{ id: cred.accountId, users: [{ name: `fleet-user-${cred.index}`, ...keys, lambdaRegions: ["us-east-1", "eu-west-1", "us-west-2", "ap-southeast-2"] }] }] } });
    const [namespace = "", name = ""] = cred.secret.split("/");
    const atMs = Date.now();
    await kube.apply(awsKeySecret(namespace, name, keys));
    for (const u of cred.upstreams) touched.set(u, Math.min(touched.get(u) ?? Infinity, atMs));
    rotated.push({ cred, atMs });
    const next = start + (r + 1) * gapMs;
    // Check for reflections while waiting for the next rotation.
    while (now() < next) {
      markReflected(rotated, poller);
      await sleep(Math.min(500, Math.max(0, next - now())));
    }
  }
  const reflectDeadlineMs = Math.max(60_000, plan.intervalMs * 2);
  const waited = await until(() => markReflected(rotated, poller) === 0, reflectDeadlineMs, 500);
  const windowMs = now() - start;
  const c1 = callsAt();
  const times = rotated.flatMap((r) => (r.reflectedMs === undefined ? [] : [r.reflectedMs])).sort((a, b) => a - b);
  const unreflected = rotated.filter((r) => r.reflectedMs === undefined).length;
  progress(`  churn: ${rotations} rotations over ${seconds(plan.churnMs)}; reflected p50 ${percentile(times, 0.5).toFixed(0)} ms, ${unreflected} not reflected`);
  return {
    rotations,
    rotatedSecrets: rotated.map((r) => r.cred.secret),
    windowMs,
    reflectMs: { p50: percentile(times, 0.5), p99: percentile(times, 0.99), max: times.at(-1) ?? NaN },
    unreflected,
    calls: minus(c1.calls, c0.calls),
    kubeWrites: minus(c1.kube, c0.kube),
    ...(waited === undefined ? { unfinished: `${unreflected} rotations not reflected within ${seconds(reflectDeadlineMs)} of the last` } : {}),
  };
}

/** A rotation is reflected once every upstream of its Secret has a lastVerified from its second or later. Returns how many are not yet. */
function markReflected(rotated: { cred: FleetCredential; atMs: number; reflectedMs?: number }[], poller: StatusPoller): number {
  let pending = 0;
  for (const r of rotated) {
    if (r.reflectedMs !== undefined) continue;
    const floor = Math.floor(r.atMs / 1000) * 1000;
    const latest = r.cred.upstreams.map((u) => poller.keys.get(u)?.verified.at(-1) ?? 0);
    // Observed time, so the figure includes up to one poll of delay rather than trusting a rounded timestamp.
    if (latest.every((t) => t >= floor && t > 0)) r.reflectedMs = Date.now() - r.atMs;
    else pending++;
  }
  return pending;
}
