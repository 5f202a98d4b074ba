// The Controller with in-memory ports, hand-driven watches and a fake clock: what each trigger enqueues, and what follows each reconcile.
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { Controller, type ControllerSettings } from "../../src/controller/controller.js";
import { CredbrokerError } from "../../src/model/errors.js";
import type { JsonObject } from "../../src/model/fields.js";
import type { FunctionListField } from "../../src/model/upstream.js";
import { SETTLE_MS } from "../../src/controller/triggers.js";
import { Metrics } from "../../src/observability/metrics.js";
import { FakeClock } from "../../src/runtime/clock.js";
import type { WatchedObject } from "../../src/runtime/kube/watch-loop.js";
import { scriptedProvider, scriptedRegistry, scriptedSecrets, type Calls, type Script } from "../support/in-memory-ports.js";
import { InMemoryUpstreams } from "../support/in-memory-upstreams.js";
import { HandWatch } from "./hand-driven.js";

const FIELD: FunctionListField = { type: "aws", list: "lambdaFunctions", key: "name", fields: ["name"] };
const IDENTITY = { provider: "aws" as const, account: "123456789012", arn: "arn:aws:iam::123456789012:user/gw" };

const SETTINGS: ControllerSettings = {
  statusKey: "credbroker",
  heartbeatMs: 600_000,
  maxFunctions: 500,
  discoveryMode: "whitelist",
  secretRefPolicy: "any",
  namespaces: [],
  concurrency: 2,
  ratePerSecond: 1000,
  verifyIntervalMs: 300_000,
  backoffMinMs: 1000,
  backoffMaxMs: 60_000,
  watchStallMs: 600_000,
  reconcileTimeoutMs: 30_000,
  leader: { enabled: false, namespace: "", name: "", identity: "", leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2000, shards: 1 },
  requestTimeoutMs: 10_000,
};

function upstream(namespace: string, name: string, annotations: Record<string, string> = {}): JsonObject {
  return { apiVersion: "gloo.solo.io/v1", kind: "Upstream", metadata: { namespace, name, annotations }, spec: { aws: { region: "us-east-1", secretRef: { name: "keys" } } } };
}

function setup(script: Script) {
  const clock = new FakeClock();
  const api = new InMemoryUpstreams();
  const calls: Calls = { resolves: 0, verifies: [], discovers: 0 };
  const metrics = new Metrics();
  const watches: HandWatch[] = [];
  const controller = new Controller({
    kubeConfig: undefined as never,
    api,
    secrets: scriptedSecrets(script, calls),
    providers: scriptedRegistry(scriptedProvider(script, calls, ["aws"], FIELD)),
    settings: SETTINGS,
    logger: pino({ level: "silent" }),
    metrics,
    clock,
    random: () => 0.5,
    createWatch: (options) => {
      const w = new HandWatch(options);
      watches.push(w);
      return w;
    },
  });
  const watch = (resource: "upstreams" | "secrets" | "namespaces") => watches.find((w) => w.options.path.endsWith(`/${resource}`))!;
  /** The API server's side: the object stored and its event delivered. */
  const deliver = (type: "added" | "modified" | "deleted", obj: JsonObject) => watch("upstreams").options.onEvent(type, obj as WatchedObject);
  const add = (obj: JsonObject) => deliver("added", api.put(obj));
  /** Lets `ms` pass on the fake clock, with every reconcile that falls due run to its end. */
  const pass = async (ms = 0) => {
    for (let i = 0; i < 20; i++) await clock.advanceAsync(0);
    await clock.advanceAsync(ms);
    for (let i = 0; i < 20; i++) await clock.advanceAsync(0);
  };
  const count = async (name: "reconciles" | "watchRestarts", labels: Record<string, string>) =>
    (await metrics[name].get()).values.filter((v) => Object.entries(labels).every(([k, val]) => (v.labels as Record<string, unknown>)[k] === val)).reduce((s, v) => s + v.value, 0);
  controller.start();
  // Reconciles start once the namespace labels are known.
  watch("namespaces").options.onSynced();
  return { controller, api, calls, metrics, clock, watch, deliver, add, pass, count };
}

const valid: Script = { verify: { status: "valid", identity: IDENTITY }, discover: { status: "listed", functions: [], warnings: [] } };

describe("Controller", () => {
  let stop: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await stop?.();
    stop = undefined;
  });

  it("verifies a new upstream once; its own write, delivered back by the watch, does not requeue it", async () => {
    const t = setup(valid);
    stop = () => t.controller.stop({ drainTimeoutMs: 0 });
    t.add(upstream("team", "orders"));
    await t.pass();
    expect(t.calls.verifies).toHaveLength(1);
    expect(t.api.writes).toHaveLength(1);
    t.deliver("modified", t.api.stored("team", "orders")!);
    await t.pass(1000);
    expect(t.calls.verifies).toHaveLength(1);
    expect(await t.count("reconciles", { outcome: "written" })).toBe(1);
  });

  it("re-verifies after verifyIntervalMs, and counts the pass that changes nothing as unchanged", async () => {
    const t = setup(valid);
    stop = () => t.controller.stop({ drainTimeoutMs: 0 });
    t.add(upstream("team", "orders"));
    await t.pass();
    await t.pass(SETTINGS.verifyIntervalMs - 1000);
    expect(t.calls.verifies).toHaveLength(1);
    await t.pass(2000);
    expect(t.calls.verifies).toHaveLength(2);
    expect(await t.count("reconciles", { outcome: "unchanged" })).toBe(1);
  });

  it("runs a forced pass (every cache bypassed) when the reverify annotation changes", async () => {
    const t = setup(valid);
    stop = () => t.controller.stop({ drainTimeoutMs: 0 });
    t.add(upstream("team", "orders"));
    await t.pass();
    t.deliver("modified", t.api.edit("team", "orders", (o) => ((o.metadata as JsonObject).annotations = { "credbroker.io/reverify": "1" })));
    await t.pass();
    expect(t.calls.verifies).toEqual([{ fresh: false }, { fresh: true }]);
  });

  it("gathers a burst of edits to one upstream into one reconcile per settle window", async () => {
    const t = setup(valid);
    stop = () => t.controller.stop({ drainTimeoutMs: 0 });
    t.add(upstream("team", "orders"));
    await t.pass();
    expect(t.calls.resolves).toBe(1);
    // A GitOps fight: the filter annotation flips 400 times in 4 s (every 10 ms).
    for (let i = 0; i < 400; i++) {
      const filter = i % 2 === 0 ? "orders-*" : "billing-*";
      t.deliver("modified", t.api.edit("team", "orders", (o) => ((o.metadata as JsonObject).annotations = { "credbroker.io/function-filter": filter })));
      await t.pass(10);
    }
    await t.pass(2000);
    // Without the window every edit that lands after a reconcile ends would run one: hundreds.
    expect(t.calls.resolves - 1).toBeGreaterThanOrEqual(1);
    expect(t.calls.resolves - 1).toBeLessThanOrEqual(6);
    expect(t.api.writes.length).toBeLessThanOrEqual(7);
  });

  it("reconciles a single edit at once: only a second edit within the window waits", async () => {
    const t = setup(valid);
    stop = () => t.controller.stop({ drainTimeoutMs: 0 });
    t.add(upstream("team", "orders"));
    await t.pass();
    const edit = (filter: string) => t.deliver("modified", t.api.edit("team", "orders", (o) => ((o.metadata as JsonObject).annotations = { "credbroker.io/function-filter": filter })));
    edit("orders-*");
    await t.pass(0);
    expect(t.calls.resolves).toBe(2);
    edit("billing-*");
    await t.pass(SETTLE_MS / 2);
    expect(t.calls.resolves).toBe(2);
    await t.pass(SETTLE_MS / 2);
    expect(t.calls.resolves).toBe(3);
    // A window after the last run, an edit is again reconciled at once.
    await t.pass(SETTLE_MS);
    edit("payments-*");
    await t.pass(0);
    expect(t.calls.resolves).toBe(4);
  });

  it("does not make a forced re-verification wait for the settle window", async () => {
    const t = setup(valid);
    stop = () => t.controller.stop({ drainTimeoutMs: 0 });
    t.add(upstream("team", "orders"));
    await t.pass();
    t.deliver("modified", t.api.edit("team", "orders", (o) => ((o.metadata as JsonObject).annotations = { "credbroker.io/reverify": "2" })));
    await t.pass(0);
    expect(t.calls.verifies).toEqual([{ fresh: false }, { fresh: true }]);
  });

  it("retries a throttled verification no sooner than the provider's Retry-After", async () => {
    const throttled: Script = { ...valid, verify: { status: "unknown", error: new CredbrokerError("Throttled", "throttled", { retryAfterMs: 20_000 }) } };
    const t = setup(throttled);
    stop = () => t.controller.stop({ drainTimeoutMs: 0 });
    t.add(upstream("team", "orders"));
    await t.pass();
    expect(t.calls.verifies).toHaveLength(1);
    // The backoff alone (1 s) would have retried long before.
    await t.pass(19_000);
    expect(t.calls.verifies).toHaveLength(1);
    await t.pass(2000);
    expect(t.calls.verifies).toHaveLength(2);
  });

  it("keeps a forced re-verification fresh through its retries until it gets an answer", async () => {
    const script: Script = { ...valid };
    const t = setup(script);
    stop = () => t.controller.stop({ drainTimeoutMs: 0 });
    t.add(upstream("team", "orders"));
    await t.pass();
    script.verify = { status: "unknown", error: new CredbrokerError("Throttled", "throttled", { retryAfterMs: 5000 }) };
    t.deliver("modified", t.api.edit("team", "orders", (o) => ((o.metadata as JsonObject).annotations = { "credbroker.io/reverify": "1" })));
    await t.pass();
    await t.pass(6000);
    script.verify = valid.verify;
    await t.pass(6000);
    // The first pass, the forced one, then its retries: still fresh, since a cached answer is what was to be checked again.
    expect(t.calls.verifies[0]).toEqual({ fresh: false });
    expect(t.calls.verifies.length).toBeGreaterThanOrEqual(3);
    expect(t.calls.verifies.slice(1).every((p) => p.fresh)).toBe(true);
    await t.pass(SETTINGS.verifyIntervalMs);
    expect(t.calls.verifies.at(-1)).toEqual({ fresh: false });
  });

  it("requeues every upstream of a namespace whose labels change, and none elsewhere", async () => {
    const t = setup(valid);
    stop = () => t.controller.stop({ drainTimeoutMs: 0 });
    const ns = (name: string, labels: Record<string, string>) => ({ metadata: { name, labels } }) as unknown as WatchedObject;
    t.watch("namespaces").options.onEvent("added", ns("team", {}));
    t.watch("namespaces").options.onEvent("added", ns("other", {}));
    t.add(upstream("team", "a"));
    t.add(upstream("team", "b"));
    t.add(upstream("other", "c"));
    await t.pass();
    expect(t.calls.verifies).toHaveLength(3);
    t.watch("namespaces").options.onEvent("modified", ns("team", { "discovery.solo.io/function_discovery": "enabled" }));
    await t.pass();
    expect(t.calls.verifies).toHaveLength(5);
    // Changed again within the settle window: the reconcile waits for the window's end.
    t.watch("namespaces").options.onEvent("modified", ns("team", { "discovery.solo.io/function_discovery": "disabled" }));
    await t.pass(SETTLE_MS - 100);
    expect(t.calls.verifies).toHaveLength(5);
    await t.pass(100);
    expect(t.calls.verifies).toHaveLength(7);
  });

  it("forgets a deleted upstream: it leaves the queue, the state gauge and its own series", async () => {
    const t = setup(valid);
    stop = () => t.controller.stop({ drainTimeoutMs: 0 });
    t.add(upstream("team", "orders"));
    await t.pass();
    expect(await t.metrics.render()).toContain('credbroker_upstream_state{namespace="team",name="orders"');
    t.deliver("deleted", t.api.stored("team", "orders")!);
    await t.pass(SETTINGS.verifyIntervalMs * 2);
    expect(t.calls.verifies).toHaveLength(1);
    const rendered = await t.metrics.render();
    expect(rendered).not.toContain('name="orders"');
    expect(rendered).toMatch(/credbroker_upstreams\{state="Accepted"\} 0/);
    expect(t.controller.keys()).toEqual([]);
  });

  it("retries a failed write with backoff and counts it as failed, with the failure's reason", async () => {
    const t = setup(valid);
    stop = () => t.controller.stop({ drainTimeoutMs: 0 });
    t.api.failNext("mergePatch");
    t.add(upstream("team", "orders"));
    await t.pass();
    expect(await t.count("reconciles", { outcome: "failed", reason: "InternalError" })).toBe(1);
    await t.pass(2000);
    expect(t.calls.verifies).toHaveLength(2);
    expect(await t.count("reconciles", { outcome: "written" })).toBe(1);
  });

  it("counts watch restarts by resource and cause", async () => {
    const t = setup(valid);
    stop = () => t.controller.stop({ drainTimeoutMs: 0 });
    t.watch("upstreams").options.onRestart?.("expired");
    t.watch("secrets").options.onRestart?.("stalled");
    t.watch("secrets").options.onRestart?.("stalled");
    expect(await t.count("watchRestarts", { resource: "upstreams", cause: "expired" })).toBe(1);
    expect(await t.count("watchRestarts", { resource: "secrets", cause: "stalled" })).toBe(2);
  });

  it("answers reverify() for a known key with a forced pass, and ignores an unknown one", async () => {
    const t = setup(valid);
    stop = () => t.controller.stop({ drainTimeoutMs: 0 });
    t.add(upstream("team", "orders"));
    await t.pass();
    expect(t.controller.reverify("team/missing")).toBe(false);
    expect(t.controller.reverify("team/orders")).toBe(true);
    await t.pass();
    expect(t.calls.verifies.at(-1)).toEqual({ fresh: true });
  });
});
