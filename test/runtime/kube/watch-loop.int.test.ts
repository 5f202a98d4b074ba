// The list+watch loop against the Kubernetes emulator: initial list, live changes, outages, 410 relists, metadata-only secrets, stalls, server closes and their restart causes; none may crash the process.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createSystemClock } from "../../../src/runtime/clock.js";
import { createWatchLoop, type WatchEventType, type WatchLoop, type WatchLoopOptions, type WatchRestartCause, type WatchedObject } from "../../../src/runtime/kube/watch-loop.js";
import { createKubeEmulator, SECRETS, UPSTREAMS, type KubeEmulator } from "../../../src/sandbox/kube/index.js";
import { adminKubeConfig, upstream, waitFor } from "../../controller/helpers.js";

/** Mirrors what the caller would keep: key → resourceVersion, plus every event and restart cause in order. */
function recorder() {
  const state = new Map<string, string>();
  const events: Array<{ type: WatchEventType; key: string; rv: string; obj: WatchedObject }> = [];
  const restarts: WatchRestartCause[] = [];
  let synced = 0;
  return {
    state,
    events,
    restarts,
    get syncedCalls() {
      return synced;
    },
    onEvent(type: WatchEventType, obj: WatchedObject) {
      const key = obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : obj.metadata.name;
      events.push({ type, key, rv: obj.metadata.resourceVersion, obj });
      if (type === "deleted") state.delete(key);
      else state.set(key, obj.metadata.resourceVersion);
    },
    onSynced() {
      synced++;
    },
  };
}

function emulatorState(emulator: KubeEmulator, namespace: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const o of emulator.list(UPSTREAMS, namespace)) {
    const meta = o["metadata"] as { name: string; namespace: string; resourceVersion: string };
    out.set(`${meta.namespace}/${meta.name}`, meta.resourceVersion);
  }
  return out;
}

/** No (type, key, resourceVersion) reported twice: nothing was duplicated by restarts or relists. */
function expectNoDuplicates(events: Array<{ type: string; key: string; rv: string }>): void {
  const seen = events.map((e) => `${e.type} ${e.key} ${e.rv}`);
  expect(new Set(seen).size).toBe(seen.length);
}

const loops: WatchLoop[] = [];
/** Uncaught exceptions and unhandled rejections while a test ran: every one is a way the loop could crash the process. */
const crashes: Array<{ kind: string; err: unknown }> = [];
const onUncaught = (err: unknown) => crashes.push({ kind: "uncaughtException", err });
const onUnhandled = (err: unknown) => crashes.push({ kind: "unhandledRejection", err });

function startLoop(emulator: KubeEmulator, rec: ReturnType<typeof recorder>, overrides: Partial<WatchLoopOptions> = {}): WatchLoop {
  const loop = createWatchLoop({
    kubeConfig: adminKubeConfig(emulator),
    path: "/apis/gloo.solo.io/v1/namespaces/team-a/upstreams",
    pageSize: 2,
    clock: createSystemClock(),
    random: () => 0.5,
    backoff: { minMs: 20, maxMs: 200 },
    stallTimeoutMs: 10_000,
    onEvent: (type, obj) => rec.onEvent(type, obj),
    onSynced: () => rec.onSynced(),
    onRestart: (cause) => rec.restarts.push(cause),
    ...overrides,
  });
  loops.push(loop);
  loop.start();
  return loop;
}

beforeEach(() => {
  crashes.length = 0;
  process.on("uncaughtException", onUncaught);
  process.on("unhandledRejection", onUnhandled);
});

afterEach(async () => {
  await Promise.all(loops.splice(0).map((l) => l.stop()));
  process.off("uncaughtException", onUncaught);
  process.off("unhandledRejection", onUnhandled);
  expect(crashes).toEqual([]);
});

describe("watch loop", () => {
  let emulator: KubeEmulator;

  beforeAll(async () => {
    // Bookmarks far apart, so a quiet watch is really silent for the stall test.
    emulator = await createKubeEmulator({ tls: true, bookmarkIntervalMs: 60_000 });
  });

  afterAll(async () => {
    await emulator.close();
  });

  it("reports every listed object across pages, then onSynced once, then live changes", async () => {
    for (let i = 0; i < 5; i++) emulator.apply(upstream("team-a", `u${i}`));
    emulator.apply(upstream("team-b", "elsewhere"));
    const rec = recorder();
    const loop = startLoop(emulator, rec);
    await waitFor("initial sync", () => loop.synced);
    expect(rec.syncedCalls).toBe(1);
    expect([...rec.state.keys()].sort()).toEqual(["team-a/u0", "team-a/u1", "team-a/u2", "team-a/u3", "team-a/u4"]);
    expect(rec.events.every((e) => e.type === "added")).toBe(true);

    emulator.apply(upstream("team-a", "u0", "eu-west-1"));
    emulator.delete(UPSTREAMS, "team-a", "u1");
    emulator.apply(upstream("team-a", "u5"));
    await waitFor("live changes", () => rec.events.length === 8);
    expect(rec.events.slice(5).map((e) => [e.type, e.key])).toEqual([
      ["modified", "team-a/u0"],
      ["deleted", "team-a/u1"],
      ["added", "team-a/u5"],
    ]);
    expect((rec.events[5]!.obj["spec"] as { aws: { region: string } }).aws.region).toBe("eu-west-1");
    expect(rec.state).toEqual(emulatorState(emulator, "team-a"));
    expect(loop.lastResourceVersion).toBe(emulator.resourceVersion);
    expect(rec.syncedCalls).toBe(1);
  });

  it("restarts by itself after an outage and catches up on changes made during it, deletes included", async () => {
    const rec = recorder();
    const loop = startLoop(emulator, rec);
    await waitFor("initial sync", () => loop.synced);
    const before = loop.restarts;

    emulator.faults.set({ outage: true });
    await waitFor("the loop noticing the outage", () => loop.restarts > before);
    const keys = [...rec.state.keys()];
    emulator.apply(upstream("team-a", keys[0]!.split("/")[1]!, "ap-south-1"));
    emulator.delete(UPSTREAMS, "team-a", keys[1]!.split("/")[1]!);
    emulator.apply(upstream("team-a", "born-in-outage"));
    emulator.faults.set({ outage: false });

    const expected = emulatorState(emulator, "team-a");
    await waitFor("catch-up after the outage", () => JSON.stringify([...rec.state].sort()) === JSON.stringify([...expected].sort()));
    expect(rec.events.filter((e) => e.type === "deleted").map((e) => e.key)).toEqual([keys[1]]);
    expectNoDuplicates(rec.events);
    expect(rec.syncedCalls).toBe(1);
    // Dropped connections and refused requests are errors; a short outage leaves the history intact, so no relist.
    expect(rec.restarts.length).toBeGreaterThan(0);
    expect(new Set(rec.restarts)).toEqual(new Set(["error"]));
    expect(rec.restarts).toHaveLength(loop.restarts);
  });

  it("lists secrets as metadata only: no event ever carries data", async () => {
    emulator.apply({ apiVersion: "v1", kind: "Secret", metadata: { name: "aws-creds", namespace: "team-a" }, data: { aws_access_key_id: Buffer.from("AKIAEXAMPLE").toString("base64") } });
    const rec = recorder();
    const loop = startLoop(emulator, rec, { path: "/api/v1/namespaces/team-a/secrets", metadataOnly: true });
    await waitFor("initial sync", () => loop.synced);
    emulator.apply({ apiVersion: "v1", kind: "Secret", metadata: { name: "aws-creds", namespace: "team-a" }, data: { aws_access_key_id: Buffer.from("AKIAROTATED").toString("base64") } });
    emulator.apply({ apiVersion: "v1", kind: "Secret", metadata: { name: "azure-creds", namespace: "team-a" }, stringData: { azure_client_secret: "s3cr3t" } });
    await waitFor("secret changes", () => rec.events.some((e) => e.key === "team-a/azure-creds"));
    expect(rec.events.map((e) => [e.type, e.key])).toEqual([
      ["added", "team-a/aws-creds"],
      ["modified", "team-a/aws-creds"],
      ["added", "team-a/azure-creds"],
    ]);
    for (const e of rec.events) {
      expect(e.obj["data"]).toBeUndefined();
      expect(e.obj["stringData"]).toBeUndefined();
      expect(e.obj["kind"]).toBe("PartialObjectMetadata");
    }
    expect(emulator.get(SECRETS, "team-a", "aws-creds")?.["data"]).toBeDefined();
  });

  it("restarts a watch that stays silent past the stall timeout, and keeps delivering", async () => {
    const rec = recorder();
    const loop = startLoop(emulator, rec, { stallTimeoutMs: 200 });
    await waitFor("initial sync", () => loop.synced);
    const listed = rec.events.length;
    await waitFor("two stall restarts", () => loop.restarts >= 2);
    expect(rec.events).toHaveLength(listed);
    emulator.apply(upstream("team-a", "after-stall"));
    await waitFor("an event after stall restarts", () => rec.state.has("team-a/after-stall"));
    expectNoDuplicates(rec.events);
    expect(rec.restarts.slice(0, 2)).toEqual(["stalled", "stalled"]);
  });

  it("restarts a watch the server closed at its timeoutSeconds, and reports it as closed", async () => {
    const rec = recorder();
    // timeoutSeconds is spread up to twice the base: random 0.5 asks for floor(1 × 1.5) = 1 s.
    const loop = startLoop(emulator, rec, { watchTimeoutSeconds: 1 });
    await waitFor("initial sync", () => loop.synced);
    await waitFor("the server closing the watch", () => loop.restarts >= 1);
    expect(rec.restarts[0]).toBe("closed");
    emulator.apply(upstream("team-a", "after-close"));
    await waitFor("an event after the watch was reopened", () => rec.state.has("team-a/after-close"));
    expectNoDuplicates(rec.events);
  });

  it("reports nothing after stop", async () => {
    const rec = recorder();
    const loop = startLoop(emulator, rec);
    const witness = recorder();
    const witnessLoop = startLoop(emulator, witness);
    await waitFor("initial sync", () => loop.synced && witnessLoop.synced);
    await loop.stop();
    const count = rec.events.length;
    emulator.apply(upstream("team-a", "after-stop"));
    await waitFor("the witness seeing the change", () => witness.state.has("team-a/after-stop"));
    expect(rec.events).toHaveLength(count);
  });
});

describe("watch loop with a short history window", () => {
  let emulator: KubeEmulator;

  beforeAll(async () => {
    emulator = await createKubeEmulator({ tls: true, historyLimit: 3, bookmarkIntervalMs: 60_000 });
  });

  afterAll(async () => {
    await emulator.close();
  });

  it("relists on 410 Gone without losing or duplicating anything", async () => {
    for (let i = 0; i < 6; i++) emulator.apply(upstream("team-a", `u${i}`));
    const rec = recorder();
    const loop = startLoop(emulator, rec);
    await waitFor("initial sync", () => loop.synced);
    const listsBefore = emulator.counters.get("list upstreams", "ok");

    emulator.faults.set({ outage: true });
    const restarts = loop.restarts;
    await waitFor("the loop noticing the outage", () => loop.restarts > restarts);
    // More changes than the history holds, so a watch from the old resourceVersion gets 410.
    emulator.delete(UPSTREAMS, "team-a", "u0");
    emulator.delete(UPSTREAMS, "team-a", "u1");
    emulator.apply(upstream("team-a", "u2", "eu-central-1"));
    for (let i = 0; i < 5; i++) emulator.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: `churn-${i}` } });
    emulator.apply(upstream("team-a", "u6"));
    emulator.faults.set({ outage: false });

    const expected = emulatorState(emulator, "team-a");
    await waitFor("catch-up after 410", () => JSON.stringify([...rec.state].sort()) === JSON.stringify([...expected].sort()));
    expect(emulator.counters.get("list upstreams", "ok")).toBeGreaterThan(listsBefore);
    const afterOutage = rec.events.slice(6).map((e) => `${e.type} ${e.key}`).sort();
    // Unchanged u3..u5 are not reported again; only real differences are.
    expect(afterOutage).toEqual(["added team-a/u6", "deleted team-a/u0", "deleted team-a/u1", "modified team-a/u2"]);
    expectNoDuplicates(rec.events);
    expect(rec.syncedCalls).toBe(1);
    expect(rec.restarts).toContain("error");
    expect(rec.restarts).toContain("expired");
  });
});
