// `credbroker demo` (npm start): the sandbox, its sample fleet and a broker, with a live table and a short scripted story.
import { Writable } from "node:stream";
import { buildConfig } from "../config.js";
import { brokerSettingsFor, startSandbox, SAMPLE_AWS, type Sandbox } from "../sandbox/index.js";
import { renderUpstreamTable } from "./live-table.js";
import { startBroker, type Broker } from "./run.js";
import { waitForStopSignal } from "./signals.js";

export interface DemoOptions {
  out: NodeJS.WritableStream;
  /** Stop by itself after this many seconds (0: run until Ctrl-C). */
  durationSeconds: number;
  /** Redraw in place (a terminal) or print a new table only when something changed (a log, a pipe). */
  interactive: boolean;
}

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
    act: (s) => {
      const secret = structuredClone(s.kube.get({ group: "", version: "v1", resource: "secrets" }, "team-orders", "aws-wrong")!);
      (secret.data as Record<string, string>).aws_secret_access_key = Buffer.from(SAMPLE_AWS.secretAccessKey).toString("base64");
      s.kube.apply(secret);
    },
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

function annotate(sandbox: Sandbox, namespace: string, name: string, key: string, value: string): void {
  const u = structuredClone(sandbox.kube.get({ group: "gloo.solo.io", version: "v1", resource: "upstreams" }, namespace, name)!);
  const meta = u.metadata as { annotations?: Record<string, string> };
  meta.annotations = { ...meta.annotations, [key]: value };
  sandbox.kube.apply(u);
}

function brokerConfig(sandbox: Sandbox) {
  return buildConfig({ flags: { ...brokerSettingsFor(sandbox.info), "http.port": "0", "controller.backoffMaxMs": "3s", "log.level": "info" } });
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
  const sandbox = await startSandbox();
  const logs: string[] = [];
  let broker: Broker | undefined;
  try {
    // Broker logs are kept out of the table's way; the story lines say what is happening.
    broker = await startBroker(brokerConfig(sandbox), {
      logDestination: new Writable({
        write(chunk: Buffer, _e, done) {
          // The last lines only: enough to show on a failure, never a growing heap.
          logs.push(chunk.toString("utf8"));
          if (logs.length > 200) logs.shift();
          done();
        },
      }),
    });
    const controller = broker.controller;
    const started = Date.now();
    const said: string[] = [];
    let last = "";
    const draw = (): void => {
      const views = controller.keys().flatMap((k) => controller.view(k) ?? []).filter((v) => v.kind !== "other");
      const table = renderUpstreamTable(views, Number(process.stdout.columns ?? 160));
      const elapsed = Math.floor((Date.now() - started) / 1000);
      const header = `credbroker demo — sandbox ${sandbox.info.kubernetes}, metrics ${broker?.url ?? ""}/metrics — ${elapsed}s${options.durationSeconds > 0 ? ` of ${options.durationSeconds}s` : " (Ctrl-C to stop)"}`;
      const story = said.map((s) => `  • ${s}`).join("\n");
      if (options.interactive) options.out.write(`\x1b[2J\x1b[H${header}\n\n${table}\n\n${story}\n`);
      else if (table !== last) options.out.write(`\n[${elapsed}s]\n${table}\n`);
      last = table;
    };
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
  } catch (err) {
    // The broker's own account of what went wrong (already scrubbed of secrets by its logger).
    process.stderr.write(logs.join(""));
    throw err;
  } finally {
    await broker?.stop();
    await sandbox.close();
  }
}
