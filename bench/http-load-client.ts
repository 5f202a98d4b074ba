// The child process of bench/http-load.ts: the sandbox with a generated fleet, and the open-loop load generator that drives the broker's API.
import { Agent, request } from "node:http";
import { performance } from "node:perf_hooks";
import { brokerSettingsFor, generateFleet, startSandbox, type Sandbox } from "../src/sandbox/index.js";

export type Route = "get" | "list" | "reverify" | "reverifyWait";
export const ROUTES: readonly Route[] = ["get", "list", "reverify", "reverifyWait"];

export interface RouteResult {
  sent: number;
  answered: number;
  byStatus: Record<string, number>;
  /** Requests that got no answer, by error code (reset, refused, timeout). */
  errors: Record<string, number>;
  /** Sent later than LATE_MS after their scheduled time (no free socket, or the generator itself behind). */
  late: number;
  /** Not sent at all: MAX_OUTSTANDING requests were already unanswered. */
  notSent: number;
  /** From the scheduled send time to the last byte of the answer, so a queue on our side counts too. */
  latencyMs: { p50: number; p99: number; max: number };
  /** The first body of each non-2xx status. */
  samples: Record<string, string>;
}

export interface LoadResult {
  routes: Record<Route, RouteResult>;
  /** First scheduled send to the last one sent. */
  sendWindowMs: number;
  /** First scheduled send to the last answer of the no-wait routes. */
  answerWindowMs: number;
  /** The generator's own worst lateness in reaching a scheduled send. */
  maxLagMs: number;
  /** CPU time of this process (sandbox and generator) over the send window. */
  cpuMs: number;
}

export interface CloudCounters {
  stsCalls: number;
  awsCalls: number;
  /** Patches of upstreams and their status subresource: what the broker wrote. */
  kubeWrites: number;
}

export interface RunOrder {
  url: string;
  token: string;
  rate: number;
  seconds: number;
}

export type ParentMessage = { type: "start"; fleet: number } | { type: "counters" } | ({ type: "run" } & RunOrder) | { type: "close" };
export type ChildMessage =
  | { type: "started"; settings: Record<string, string>; upstreams: number }
  | { type: "counters"; counters: CloudCounters }
  | { type: "result"; result: LoadResult }
  | { type: "closed" }
  | { type: "failed"; message: string };

const SOCKETS = 64;
const LATE_MS = 10;
const MAX_OUTSTANDING = 2_000;
/** No answer within this is an error ("timeout"); a wait request's own limit is 30 s, so it gets more. */
const DEADLINE_MS = 20_000;
const WAIT_DEADLINE_MS = 45_000;

interface Shot {
  route: Route;
  method: "GET" | "POST";
  path: string;
  body?: string;
}

interface Tally {
  sent: number;
  answered: number;
  byStatus: Record<string, number>;
  errors: Record<string, number>;
  late: number;
  notSent: number;
  latencies: number[];
  samples: Record<string, string>;
}

function percentiles(samples: number[]): RouteResult["latencyMs"] {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
  return { p50: at(0.5), p99: at(0.99), max: s.at(-1) ?? NaN };
}

/** Runs the schedule: `rate` requests a second of the mix plus one reverify with wait a second, for `seconds`. Resolves once every request is answered or failed. */
async function drive(order: RunOrder, keys: readonly string[], namespaces: readonly string[]): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: SOCKETS });
  // The waits hold their connection for seconds; on the shared pool they would starve the mix.
  const waitAgent = new Agent({ keepAlive: true, maxSockets: SOCKETS });
  const emptyTally = (): Tally => ({ sent: 0, answered: 0, byStatus: {}, errors: {}, late: 0, notSent: 0, latencies: [], samples: {} });
  const tallies: Record<Route, Tally> = { get: emptyTally(), list: emptyTally(), reverify: emptyTally(), reverifyWait: emptyTally() };
  const auth = `Bearer ${order.token}`;
  const pick = <T>(list: readonly T[]): T => list[Math.floor(Math.random() * list.length)] as T;
  const reverifyBody = (key: string, wait: boolean) => {
    const [namespace, name] = key.split("/");
    return JSON.stringify({ namespace, name, ...(wait ? { wait: true } : {}) });
  };
  const mix = (): Shot => {
    const roll = Math.random();
    if (roll < 0.5) return { route: "get", method: "GET", path: `/v1/upstreams/${pick(keys)}` };
    if (roll < 0.7) return { route: "list", method: "GET", path: `/v1/upstreams?namespace=${pick(namespaces)}&limit=100` };
    return { route: "reverify", method: "POST", path: "/v1/reverify", body: reverifyBody(pick(keys), false) };
  };

  let outstanding = 0;
  let lastAnswer = 0;
  let lastSent = 0;
  let maxLag = 0;
  let allSent = false;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const settleOne = () => {
    outstanding--;
    if (allSent && outstanding === 0) finish();
  };

  const fire = (shot: Shot, scheduled: number): void => {
    const tally = tallies[shot.route];
    const now = performance.now();
    maxLag = Math.max(maxLag, now - scheduled);
    if (outstanding >= MAX_OUTSTANDING) {
      tally.notSent++;
      return;
    }
    outstanding++;
    tally.sent++;
    lastSent = now;
    const wait = shot.route === "reverifyWait";
    const headers: Record<string, string> = { authorization: auth };
    if (shot.body !== undefined) Object.assign(headers, { "content-type": "application/json", "content-length": String(Buffer.byteLength(shot.body)) });
    const req = request(new URL(shot.path, order.url), { method: shot.method, agent: wait ? waitAgent : agent, headers, signal: AbortSignal.timeout(wait ? WAIT_DEADLINE_MS : DEADLINE_MS) }, (res) => {
      const status = String(res.statusCode ?? 0);
      const keep = (res.statusCode ?? 0) >= 300 && tally.samples[status] === undefined;
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => {
        if (keep) chunks.push(c);
      });
      res.on("error", () => undefined);
      res.on("end", () => {
        const done = performance.now();
        tally.answered++;
        tally.byStatus[status] = (tally.byStatus[status] ?? 0) + 1;
        tally.latencies.push(done - scheduled);
        if (keep) tally.samples[status] = Buffer.concat(chunks).toString("utf8").slice(0, 300);
        if (!wait) lastAnswer = Math.max(lastAnswer, done);
        settleOne();
      });
    });
    req.on("socket", () => {
      if (performance.now() - scheduled > LATE_MS) tally.late++;
    });
    req.on("error", (err: Error & { code?: string }) => {
      const code = err.name === "TimeoutError" || err.name === "AbortError" ? "timeout" : (err.code ?? err.name);
      tally.errors[code] = (tally.errors[code] ?? 0) + 1;
      settleOne();
    });
    req.end(shot.body);
  };

  const cpu = process.cpuUsage();
  const start = performance.now() + 20;
  const total = Math.round(order.rate * order.seconds);
  let i = 0;
  let w = 0;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now();
      for (; i < total && start + (i * 1000) / order.rate <= now; i++) fire(mix(), start + (i * 1000) / order.rate);
      for (; w < order.seconds && start + w * 1000 <= now; w++) fire({ route: "reverifyWait", method: "POST", path: "/v1/reverify", body: reverifyBody(pick(keys), true) }, start + w * 1000);
      if (i < total || w < order.seconds) setTimeout(tick, 1);
      else resolve();
    };
    setTimeout(tick, 1);
  });
  allSent = true;
  const used = process.cpuUsage(cpu);
  if (outstanding > 0) await finished;
  agent.destroy();
  waitAgent.destroy();
  const routes = Object.fromEntries(
    ROUTES.map((r) => {
      const { latencies, ...rest } = tallies[r];
      return [r, { ...rest, latencyMs: percentiles(latencies) } satisfies RouteResult];
    }),
  ) as Record<Route, RouteResult>;
  return { routes, sendWindowMs: lastSent - start, answerWindowMs: lastAnswer - start, maxLagMs: maxLag, cpuMs: (used.user + used.system) / 1000 };
}

function countersOf(sandbox: Sandbox): CloudCounters {
  let kubeWrites = 0;
  for (const [op, outcomes] of Object.entries(sandbox.kube.counters.snapshot())) if (op.startsWith("patch upstreams")) for (const n of Object.values(outcomes)) kubeWrites += n;
  return { stsCalls: sandbox.aws.counters.get("sts:GetCallerIdentity"), awsCalls: sandbox.aws.counters.total(), kubeWrites };
}

function serve(): void {
  let sandbox: Sandbox | undefined;
  let keys: string[] = [];
  let namespaces: string[] = [];
  const send = (m: ChildMessage) => process.send?.(m);
  process.on("message", (m: ParentMessage) => {
    void (async () => {
      switch (m.type) {
        case "start": {
          // The sample world too: its Vault role and RBAC are what the broker's own start-up needs.
          sandbox = await startSandbox();
          const seed = generateFleet({ upstreams: m.fleet, credentials: 10, functionsPerRegion: 50 });
          sandbox.seed(seed);
          for (const o of seed.kubernetes?.objects ?? []) {
            const meta = o.metadata as { namespace?: string; name: string };
            if (o.kind === "Upstream") keys.push(`${meta.namespace ?? ""}/${meta.name}`);
            if (o.kind === "Namespace") namespaces.push(meta.name);
          }
          send({ type: "started", settings: brokerSettingsFor(sandbox.info), upstreams: keys.length });
          return;
        }
        case "counters":
          if (sandbox !== undefined) send({ type: "counters", counters: countersOf(sandbox) });
          return;
        case "run":
          send({ type: "result", result: await drive(m, keys, namespaces) });
          return;
        case "close": {
          const closing = sandbox;
          sandbox = undefined;
          await closing?.close();
          keys = [];
          namespaces = [];
          send({ type: "closed" });
          process.disconnect();
          return;
        }
        default:
          m satisfies never;
      }
    })().catch((err: unknown) => send({ type: "failed", message: err instanceof Error ? err.message : String(err) }));
  });
  // The parent died: nobody will say close.
  process.on("disconnect", () => void (sandbox?.close() ?? Promise.resolve()).finally(() => process.exit(0)));
}

if (process.send === undefined) {
  console.error("bench/http-load-client.ts is started by bench/http-load.ts (npx tsx bench/http-load.ts)");
  process.exit(2);
}
serve();
