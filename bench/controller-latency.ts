// Latency of the reactions DESIGN.md promises: annotation added → functions published, reverify → fresh verification,
// and the cost of a fleet: first verification of N upstreams and a resync. Writes bench/results/controller.md.
// Run: npx tsx bench/controller-latency.ts   (ROUNDS=20 FLEET=1000 to change the sizes)
import { mkdirSync, writeFileSync } from "node:fs";
import { Writable } from "node:stream";
import { buildConfig } from "../src/config.js";
import { startBroker } from "../src/commands/run.js";
import type { JsonObject } from "../src/model/fields.js";
import { readOwnStatus } from "../src/model/status.js";
import { brokerSettingsFor, generateFleet, startSandbox, type Sandbox } from "../src/sandbox/index.js";
import { UPSTREAMS } from "../src/sandbox/kube/index.js";

const ROUNDS = Number(process.env["ROUNDS"] ?? 20);
const FLEET = Number(process.env["FLEET"] ?? 1000);

async function until(probe: () => boolean, timeoutMs = 30_000): Promise<number> {
  const start = performance.now();
  while (!probe()) {
    if (performance.now() - start > timeoutMs) throw new Error("timed out");
    await new Promise((resolve) => setImmediate(resolve));
  }
  return performance.now() - start;
}

function stats(samples: number[]): { p50: number; p95: number; max: number } {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
  return { p50: at(0.5), p95: at(0.95), max: s.at(-1) ?? NaN };
}

function configFor(sandbox: Sandbox) {
  return buildConfig({
    flags: {
      ...brokerSettingsFor(sandbox.info),
      "http.port": "0",
      "controller.globalRatePerSecond": "5000",
      "controller.concurrency": "32",
      "log.level": "warn",
    },
  });
}

const quiet = new Writable({ write: (_c, _e, done) => done() });
const sandbox = await startSandbox();
const rows: string[] = [];
try {
  sandbox.seed(generateFleet({ upstreams: FLEET, credentials: 10, functionsPerRegion: 50 }));
  const get = (ns: string, name: string) => sandbox.kube.get(UPSTREAMS, ns, name);
  const fleetAccepted = () => {
    let n = 0;
    for (const u of sandbox.kube.list(UPSTREAMS)) if ((u.metadata as { namespace: string }).namespace.startsWith("fleet-") && readOwnStatus(u, "credbroker")?.state === "Accepted") n++;
    return n === FLEET;
  };

  const stsBefore = sandbox.aws.counters.get("sts:GetCallerIdentity");
  const started = performance.now();
  const broker = await startBroker(configFor(sandbox), { logDestination: quiet });
  await until(fleetAccepted, 300_000);
  const firstPass = performance.now() - started;
  const stsCalls = sandbox.aws.counters.get("sts:GetCallerIdentity") - stsBefore;

  const discovery: number[] = [];
  const reverify: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    // Annotation added, with a filter never seen before so the sweep is not served from the shared cache.
    const u = structuredClone(get("fleet-1", `u-${i * 10 + 1}`)!) as JsonObject & { metadata: { annotations?: Record<string, string> } };
    u.metadata.annotations = { ...u.metadata.annotations, "discovery.solo.io/function_discovery": "enabled", "credbroker.io/function-filter": `fn-*,!round-${i}` };
    sandbox.kube.apply(u);
    discovery.push(await until(() => ((get("fleet-1", `u-${i * 10 + 1}`)!.spec as { aws: { lambdaFunctions?: unknown[] } }).aws.lambdaFunctions?.length ?? 0) > 0));

    const v = structuredClone(get("fleet-2", `u-${i * 10 + 2}`)!) as JsonObject & { metadata: { annotations?: Record<string, string> } };
    const calls = sandbox.aws.counters.get("sts:GetCallerIdentity");
    v.metadata.annotations = { ...v.metadata.annotations, "credbroker.io/reverify": `round-${i}` };
    sandbox.kube.apply(v);
    reverify.push(await until(() => sandbox.aws.counters.get("sts:GetCallerIdentity") > calls));
  }
  await broker.stop();

  const patchesBefore = sandbox.kube.counters.get("patch upstreams");
  const resyncStart = performance.now();
  const second = await startBroker(configFor(sandbox), { logDestination: quiet });
  await until(() => second.controller.progress().reconciled >= FLEET && second.controller.progress().ready === 0 && second.controller.progress().inFlight === 0, 300_000);
  const resync = performance.now() - resyncStart;
  const resyncWrites = sandbox.kube.counters.get("patch upstreams") - patchesBefore;
  await second.stop();

  const d = stats(discovery);
  const r = stats(reverify);
  const f = (n: number) => n.toFixed(0);
  rows.push(
    `| annotation added → functions published (cold sweep of 50 functions) | ${ROUNDS} | ${f(d.p50)} ms | ${f(d.p95)} ms | ${f(d.max)} ms |`,
    `| reverify annotation changed → fresh STS call | ${ROUNDS} | ${f(r.p50)} ms | ${f(r.p95)} ms | ${f(r.max)} ms |`,
  );
  const table = [
    `# Controller benchmark (${new Date().toISOString().slice(0, 10)}, ${FLEET} upstreams over 10 credentials in 2 regions, sandbox on loopback, 2-core machine)`,
    "",
    "| reaction | rounds | p50 | p95 | max |",
    "|---|---|---|---|---|",
    ...rows,
    "",
    "| fleet pass | result |",
    "|---|---|",
    `| first verification of ${FLEET} upstreams (start to all Accepted) | ${(firstPass / 1000).toFixed(1)} s, ${stsCalls} GetCallerIdentity calls |`,
    `| resync of the unchanged fleet by a new replica | ${(resync / 1000).toFixed(1)} s, ${resyncWrites} Kubernetes writes |`,
    "",
  ].join("\n");
  mkdirSync("bench/results", { recursive: true });
  writeFileSync("bench/results/controller.md", table);
  process.stdout.write(table);
} finally {
  await sandbox.close();
}
