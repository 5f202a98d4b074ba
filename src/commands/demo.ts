// `credbroker demo` (npm start): the sandbox, its sample fleet and a broker, with a live table, a short scripted story and a guide to poking it.
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { stringify } from "yaml";
import { buildConfig } from "../config.js";
import type { Controller, UpstreamView } from "../controller/controller.js";
import type { JsonObject } from "../model/fields.js";
import { brokerSettingsFor, startSandbox, SAMPLE_AWS, type Sandbox } from "../sandbox/index.js";
import { SECRETS, UPSTREAMS } from "../sandbox/kube/index.js";
import { GUIDE_ROTATED_SECRET, renderOnceReport, renderPokeGuide } from "./demo-guide.js";
import { renderUpstreamTable } from "./live-table.js";
import { startBroker, type Broker } from "./run.js";
import { waitForStopSignal } from "./signals.js";

export interface DemoOptions {
  out: NodeJS.WritableStream;
  /** Where `--once` says what it waits for and why it failed; the live demo's failures go here too. */
  err: NodeJS.WritableStream;
  /** Stop by itself after this many seconds (0: run until Ctrl-C); with `once`, the deadline (0: ONCE_DEADLINE_SECONDS). */
  durationSeconds: number;
  /** Redraw in place (a terminal) or print a new table only when something changed (a log, a pipe). */
  interactive: boolean;
  /** No story, no redraw: wait until the fleet settles, print its final states on `out`, exit. */
  once?: { output: "table" | "json" };
}

/** How long `--once` waits for the fleet to settle when no `--duration` is given. */
export const ONCE_DEADLINE_SECONDS = 60;
/** The fleet counts as settled once nothing changed (and nothing was queued) for this long. */
const SETTLED_FOR_MS = 1000;
const SETTLE_POLL_MS = 100;

interface Step {
  atSeconds: number;
  say: string;
  act: (sandbox: Sandbox) => void;
}

/** The story: a bad key fixed, Vault sealed and unsealed (verdicts survive the outage), discovery switched on. */
const STORY: Step[] = [
  {
    atSeconds: 6,
    say: "rotating team-orders/aws-wrong to the right key: orders-wrong-key turns Accepted",
    act: (s) => s.kube.apply(withRightKey(s.kube.get(SECRETS, GUIDE_ROTATED_SECRET.namespace, GUIDE_ROTATED_SECRET.name)!)),
  },
  {
    atSeconds: 12,
    say: "sealing Vault and forcing payments-vault to re-read it: SecretResolved goes Unknown, the verdict stays Accepted (the next routine pass uses the cached copy)",
    act: (s) => {
      s.vault.seal();
      annotate(s, "team-payments", "payments-vault", "credbroker.io/reverify", "demo-sealed");
    },
  },
  {
    atSeconds: 20,
    say: "unsealing Vault: payments-vault recovers by itself",
    act: (s) => s.vault.unseal(),
  },
  {
    atSeconds: 26,
    say: "enabling discovery on orders-legacy: its Lambda functions are published into its spec",
    act: (s) => annotate(s, "team-orders", "orders-legacy", "discovery.solo.io/function_discovery", "enabled"),
  },
];

function withRightKey(secret: JsonObject): JsonObject {
  const fixed = structuredClone(secret);
  (fixed.data as Record<string, string>).aws_secret_access_key = Buffer.from(SAMPLE_AWS.secretAccessKey).toString("base64");
  return fixed;
}

function annotate(sandbox: Sandbox, namespace: string, name: string, key: string, value: string): void {
  const u = structuredClone(sandbox.kube.get(UPSTREAMS, namespace, name)!);
  const meta = u.metadata as { annotations?: Record<string, string> };
  meta.annotations = { ...meta.annotations, [key]: value };
  sandbox.kube.apply(u);
}

/** The demo's own files: the API token and the rotation manifests, in a folder only the user can read. */
interface DemoFiles {
  dir: string;
  tokenFile: string;
  brokenManifest: string;
  fixedManifest: string;
}

/** Writes the token and manifests (mode 0600) into a new temporary folder; removes it again if a write fails. I/O. */
async function writeDemoFiles(sandbox: Sandbox): Promise<DemoFiles> {
  const dir = await mkdtemp(join(tmpdir(), "credbroker-demo-"));
  try {
    const files = { dir, tokenFile: join(dir, "api-token"), brokenManifest: join(dir, "aws-wrong.broken.yaml"), fixedManifest: join(dir, "aws-wrong.fixed.yaml") };
    await writeFile(files.tokenFile, `${randomBytes(24).toString("base64url")}\n`, { mode: 0o600 });
    // The seeded Secret holds the wrong key; only name and namespace are kept, so `kubectl replace` is unconditional.
    const seeded = sandbox.kube.get(SECRETS, GUIDE_ROTATED_SECRET.namespace, GUIDE_ROTATED_SECRET.name)!;
    const manifest = (s: JsonObject): string => stringify({ apiVersion: "v1", kind: "Secret", metadata: { name: GUIDE_ROTATED_SECRET.name, namespace: GUIDE_ROTATED_SECRET.namespace }, type: s.type, data: s.data });
    await writeFile(files.brokenManifest, manifest(seeded), { mode: 0o600 });
    await writeFile(files.fixedManifest, manifest(withRightKey(seeded)), { mode: 0o600 });
    return files;
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

function brokerConfig(sandbox: Sandbox, files: DemoFiles) {
  return buildConfig({
    flags: { ...brokerSettingsFor(sandbox.info), "http.port": "0", "http.auth": "token-file", "http.tokenFile": files.tokenFile, "controller.backoffMaxMs": "3s", "log.level": "info" },
  });
}

function cloudViews(controller: Controller): UpstreamView[] {
  return controller.keys().flatMap((k) => controller.view(k) ?? []).filter((v) => v.kind !== "other");
}

/** The fleet's states when every cloud upstream has a verdict and no work is queued or running, else undefined. */
function settledSnapshot(controller: Controller): string | undefined {
  const views = cloudViews(controller);
  const { ready, inFlight } = controller.progress();
  if (!controller.ready() || views.length === 0 || views.some((v) => v.state === "Unverified") || ready > 0 || inFlight > 0) return undefined;
  return JSON.stringify(views);
}

/** Polls until the snapshot has held still for SETTLED_FOR_MS, the deadline passes, or a stop signal arrives. */
function untilSettled(controller: Controller, deadlineAtMs: number, stopSignal: Promise<unknown>): Promise<"settled" | "deadline" | "stopped"> {
  return new Promise((resolve) => {
    let last: string | undefined;
    let since = Date.now();
    const finish = (outcome: "settled" | "deadline" | "stopped"): void => {
      clearInterval(poll);
      resolve(outcome);
    };
    const poll = setInterval(() => {
      const now = Date.now();
      const snapshot = settledSnapshot(controller);
      if (snapshot === undefined || snapshot !== last) {
        last = snapshot;
        since = now;
      } else if (now - since >= SETTLED_FOR_MS) return finish("settled");
      if (now >= deadlineAtMs) finish("deadline");
    }, SETTLE_POLL_MS);
    void stopSignal.then(() => finish("stopped"));
  });
}

/** Runs the demo; resolves with the exit code when the duration ends or on SIGINT/SIGTERM (also one received while starting). I/O. */
export async function runDemo(options: DemoOptions): Promise<number> {
  const signal = waitForStopSignal();
  try {
    return await demo(options, signal.received);
  } finally {
    signal.dispose();
  }
}

async function demo(options: DemoOptions, stopSignal: Promise<unknown>): Promise<number> {
  const started = Date.now();
  const sandbox = await startSandbox();
  const logs: string[] = [];
  let files: DemoFiles | undefined;
  let broker: Broker | undefined;
  try {
    files = await writeDemoFiles(sandbox);
    // Broker logs are kept out of the table's way; the story lines say what is happening.
    broker = await startBroker(brokerConfig(sandbox, files), {
      logDestination: new Writable({
        write(chunk: Buffer, _e, done) {
          // The last lines only: enough to show on a failure, never a growing heap.
          logs.push(chunk.toString("utf8"));
          if (logs.length > 200) logs.shift();
          done();
        },
      }),
    });
    if (options.once !== undefined) return await once(options, options.once.output, broker, files, started, stopSignal);
    const guide = renderPokeGuide({ kubeconfig: sandbox.info.kubeconfig, brokerUrl: broker.url, ...files });
    return await live(options, sandbox, broker, guide, stopSignal);
  } catch (err) {
    // The broker's own account of what went wrong (already scrubbed of secrets by its logger).
    options.err.write(logs.join(""));
    throw err;
  } finally {
    await broker?.stop();
    await sandbox.close();
    if (files !== undefined) await rm(files.dir, { recursive: true, force: true });
  }
}

/** `--once`: the final states on `out` (nothing else goes there), or exit 1 with a line on `err` when the fleet never settles. */
async function once(options: DemoOptions, output: "table" | "json", broker: Broker, files: DemoFiles, started: number, stopSignal: Promise<unknown>): Promise<number> {
  const deadlineSeconds = options.durationSeconds > 0 ? options.durationSeconds : ONCE_DEADLINE_SECONDS;
  options.err.write(`credbroker demo: broker at ${broker.url}, API token in ${files.tokenFile} (both gone at exit); waiting up to ${deadlineSeconds}s for the fleet to settle\n`);
  const outcome = await untilSettled(broker.controller, started + deadlineSeconds * 1000, stopSignal);
  const views = cloudViews(broker.controller);
  if (outcome === "settled") {
    options.out.write(renderOnceReport(views, output));
    return 0;
  }
  const { ready, inFlight } = broker.controller.progress();
  const unverified = views.filter((v) => v.state === "Unverified").length;
  const why = outcome === "deadline" ? `did not settle within ${deadlineSeconds}s (raise --duration)` : "was stopped by a signal before it settled";
  options.err.write(`credbroker demo: the fleet ${why}: ${unverified} of ${views.length} upstreams Unverified, ${ready} queued, ${inFlight} in flight\n${renderUpstreamTable(views)}\n`);
  return 1;
}

/** The live table and the story until the duration ends or a stop signal arrives; the guide stays in view. */
async function live(options: DemoOptions, sandbox: Sandbox, broker: Broker, guide: string, stopSignal: Promise<unknown>): Promise<number> {
  const controller = broker.controller;
  const started = Date.now();
  const said: string[] = [];
  let last = "";
  const draw = (): void => {
    const table = renderUpstreamTable(cloudViews(controller), Number(process.stdout.columns ?? 160));
    const elapsed = Math.floor((Date.now() - started) / 1000);
    const header = `credbroker demo — sandbox ${sandbox.info.kubernetes}, broker ${broker.url} (API, /metrics) — ${elapsed}s${options.durationSeconds > 0 ? ` of ${options.durationSeconds}s` : " (Ctrl-C to stop)"}`;
    const story = said.map((s) => `  • ${s}`).join("\n");
    if (options.interactive) options.out.write(`\x1b[2J\x1b[H${header}\n\n${table}\n\n${story}${story === "" ? "" : "\n\n"}${guide}\n`);
    else if (table !== last) options.out.write(`\n[${elapsed}s]\n${table}\n`);
    last = table;
  };
  if (!options.interactive) options.out.write(`${guide}\n`);
  const timers = STORY.filter((s) => options.durationSeconds === 0 || s.atSeconds < options.durationSeconds).map((step) =>
    setTimeout(() => {
      said.push(step.say);
      if (!options.interactive) options.out.write(`\n[${step.atSeconds}s] ${step.say}\n`);
      step.act(sandbox);
    }, step.atSeconds * 1000),
  );
  const ticker = setInterval(draw, options.interactive ? 1000 : 250);
  let timer: NodeJS.Timeout | undefined;
  const ended = options.durationSeconds > 0 ? new Promise<void>((resolve) => (timer = setTimeout(resolve, options.durationSeconds * 1000))) : new Promise<void>(() => undefined);
  await Promise.race([stopSignal, ended]);
  clearTimeout(timer);
  for (const t of timers) clearTimeout(t);
  clearInterval(ticker);
  draw();
  return 0;
}
