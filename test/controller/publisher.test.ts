// publish() on the in-memory UpstreamApi: write order, generations, the heartbeat on a fake clock, lease loss, Events and concurrent edits.
import { describe, expect, it } from "vitest";
import { NotLeaderError, publish, type PublishDeps, type PublishReport } from "../../src/controller/publisher.js";
import type { Evaluation } from "../../src/model/evaluation.js";
import type { JsonObject } from "../../src/model/fields.js";
import { generationOf } from "../../src/model/object-meta.js";
import { readOwnStatus } from "../../src/model/status.js";
import { FakeClock } from "../../src/runtime/clock.js";
import { InMemoryUpstreams } from "../support/in-memory-upstreams.js";
import { verifiedEvaluation } from "../support/evaluations.js";

const START = Date.parse("2026-12-02T00:00:00Z");
const HEARTBEAT_MS = 600_000;

const verified: Evaluation = verifiedEvaluation(["alpha", "beta"]);
const { discovered: _discovered, ...verifiedOnly } = verified;

function harness(canWrite: (api: InMemoryUpstreams) => boolean = () => true) {
  const api = new InMemoryUpstreams();
  const clock = new FakeClock(START);
  const writes: string[] = [];
  const deps: PublishDeps = {
    api,
    settings: { statusKey: "credbroker", heartbeatMs: HEARTBEAT_MS, maxFunctions: 500, reportedBy: "credbroker" },
    clock,
    canWrite: () => canWrite(api),
    onWrite: (kind, result) => writes.push(`${kind}:${result}`),
  };
  const stored = api.put({ apiVersion: "gloo.solo.io/v1", kind: "Upstream", metadata: { namespace: "team", name: "orders" }, spec: { aws: { region: "us-east-1", secretRef: { name: "keys" } } } });
  return { api, clock, writes, deps, stored };
}

function report(result: Awaited<ReturnType<typeof publish>>): PublishReport {
  if (result.status === "gone" || result.status === "superseded") throw new Error(`expected a report, got ${result.status}`);
  return result;
}

const lastVerifiedOf = (obj: JsonObject | undefined) => readOwnStatus(obj, "credbroker")?.details.lastVerified;

describe("publish", () => {
  it("writes the function list first and the status second", async () => {
    const { api, writes, deps, stored } = harness();
    await publish(stored, verified, deps);
    expect(api.writes.map((w) => Object.keys(w.patch).sort())).toEqual([
      ["metadata", "spec"],
      ["metadata", "status"],
    ]);
    expect(writes).toEqual(["spec:made", "status:made", "event:made"]);
    // Each write carried the resourceVersion the one before produced.
    expect((api.writes[0]!.patch.metadata as JsonObject).resourceVersion).toBe((stored.metadata as JsonObject).resourceVersion);
    expect((api.writes[1]!.patch.metadata as JsonObject).resourceVersion).not.toBe((stored.metadata as JsonObject).resourceVersion);
  });

  it("stores an observedGeneration equal to the generation both writes produced", async () => {
    const { api, deps, stored } = harness();
    const result = report(await publish(stored, verified, deps));
    const now = api.stored("team", "orders")!;
    expect(generationOf(now)).toBe(generationOf(stored) + 2);
    expect(readOwnStatus(now, "credbroker")!.details.observedGeneration).toBe(generationOf(now));
    expect(result.entry.details.observedGeneration).toBe(generationOf(now));
    expect(result.object).toEqual(now);
  });

  it("stores an observedGeneration equal to the generation when only the status is written", async () => {
    const { api, deps, stored } = harness();
    await publish(stored, verifiedOnly, deps);
    const now = api.stored("team", "orders")!;
    expect(generationOf(now)).toBe(generationOf(stored) + 1);
    expect(readOwnStatus(now, "credbroker")!.details.observedGeneration).toBe(generationOf(now));
  });

  it("writes nothing within the heartbeat and a new lastVerified once it has passed", async () => {
    const { api, clock, writes, deps, stored } = harness();
    const first = report(await publish(stored, verifiedOnly, deps));
    expect(lastVerifiedOf(first.object)).toBe("2026-12-02T00:00:00.000Z");

    clock.advance(HEARTBEAT_MS - 1);
    writes.length = 0;
    const within = report(await publish(first.object, verifiedOnly, deps));
    expect(within).toMatchObject({ spec: "unchanged", status: "unchanged" });
    expect(writes).toEqual(["status:skipped"]);
    expect(api.writes).toHaveLength(1);
    expect(lastVerifiedOf(api.stored("team", "orders"))).toBe("2026-12-02T00:00:00.000Z");

    clock.advance(1);
    const due = report(await publish(within.object, verifiedOnly, deps));
    expect(due.status).toBe("patched");
    expect(api.writes).toHaveLength(2);
    expect(lastVerifiedOf(api.stored("team", "orders"))).toBe("2026-12-02T00:10:00.000Z");
    // The same verdict again: no transition, so no second Event.
    expect(api.events).toHaveLength(1);
  });

  it("writes lastVerified at once when forced, within the heartbeat", async () => {
    const { api, clock, deps, stored } = harness();
    const first = report(await publish(stored, verifiedOnly, deps));
    clock.advance(1000);
    const forced = report(await publish(first.object, verifiedOnly, deps, { forced: true }));
    expect(forced.status).toBe("patched");
    expect(lastVerifiedOf(api.stored("team", "orders"))).toBe("2026-12-02T00:00:01.000Z");
  });

  it("stores the evaluation's verifiedAtMs as lastVerified, not the time of the pass, for a shared answer", async () => {
    const { api, deps, stored } = harness();
    const shared: Evaluation = { ...verifiedOnly, verifiedAtMs: START - 45_000 };
    const result = report(await publish(stored, shared, deps));
    expect(lastVerifiedOf(api.stored("team", "orders"))).toBe("2026-12-01T23:59:15.000Z");
    expect(result.entry.details.lastVerified).toBe("2026-12-01T23:59:15.000Z");
  });

  it("never stores a lastVerified later than now when verifiedAtMs is ahead of the clock", async () => {
    const { api, deps, stored } = harness();
    await publish(stored, { ...verifiedOnly, verifiedAtMs: START + 5000 }, deps);
    expect(lastVerifiedOf(api.stored("team", "orders"))).toBe("2026-12-02T00:00:00.000Z");
  });

  it("publishes and counts event:failed when the Event cannot be recorded", async () => {
    const { api, writes, deps, stored } = harness();
    api.failNext("recordEvent");
    const result = report(await publish(stored, verified, deps));
    expect(result).toMatchObject({ spec: "patched", status: "patched" });
    expect(writes).toEqual(["spec:made", "status:made", "event:failed"]);
    expect(api.calls.recordEvent).toBe(1);
    expect(readOwnStatus(api.stored("team", "orders"), "credbroker")!.state).toBe("Accepted");
  });

  it("records one Event naming the transition on the object the status write produced", async () => {
    const { api, deps, stored } = harness();
    const result = report(await publish(stored, verified, deps));
    const meta = result.object.metadata as JsonObject;
    expect(api.events).toEqual([{ namespace: "team", name: "orders", uid: meta.uid, resourceVersion: meta.resourceVersion, type: "Normal", reason: "Published", message: "new → Accepted" }]);
  });

  it("throws NotLeaderError and writes no status when the lease is lost between the spec and the status", async () => {
    const { api, writes, deps, stored } = harness((a) => a.writes.length === 0);
    await expect(publish(stored, verified, deps)).rejects.toBeInstanceOf(NotLeaderError);
    expect(writes).toEqual(["spec:made"]);
    const now = api.stored("team", "orders")!;
    expect((now.spec as { aws: JsonObject }).aws.lambdaFunctions).toHaveLength(2);
    expect(now.status).toBeUndefined();
    expect(api.events).toEqual([]);
  });

  it("merges a concurrent metadata edit (409 on the same spec) instead of overwriting it", async () => {
    const { api, writes, deps, stored } = harness();
    api.beforeNextPatch((obj) => {
      (obj.metadata as JsonObject).labels = { team: "orders" };
    });
    const result = report(await publish(stored, verified, deps));
    expect(writes).toEqual(["spec:conflict", "spec:made", "status:made", "event:made"]);
    expect(api.calls.get).toBe(1);
    expect(result).toMatchObject({ spec: "patched", status: "patched" });
    const now = api.stored("team", "orders")!;
    expect((now.metadata as JsonObject).labels).toEqual({ team: "orders" });
    expect((now.spec as { aws: JsonObject }).aws.lambdaFunctions).toHaveLength(2);
    expect(readOwnStatus(now, "credbroker")!.details.observedGeneration).toBe(generationOf(now));
  });

  it("keeps another reporter's status when its write lands between credbroker's spec and status writes", async () => {
    const { api, writes, deps, stored } = harness();
    api.beforeNextPatch(() => undefined);
    api.beforeNextPatch((obj) => {
      obj.status = { statuses: { "gloo-system": { state: "Accepted", reportedBy: "gloo" } } };
    });
    await publish(stored, verified, deps);
    expect(writes).toEqual(["spec:made", "status:conflict", "status:made", "event:made"]);
    const now = api.stored("team", "orders")!;
    expect(Object.keys((now.status as { statuses: JsonObject }).statuses).sort()).toEqual(["credbroker", "gloo-system"]);
    expect(readOwnStatus(now, "credbroker")!.details.observedGeneration).toBe(generationOf(now));
  });

  it("answers superseded with the fresh object when the spec changed before the status write", async () => {
    const { api, writes, deps, stored } = harness();
    api.beforeNextPatch((obj) => {
      (obj.spec as { aws: JsonObject }).aws.region = "eu-west-1";
    });
    const result = await publish(stored, verifiedOnly, deps);
    expect(result).toEqual({ status: "superseded", object: api.stored("team", "orders") });
    expect(writes).toEqual(["status:conflict"]);
    expect(api.stored("team", "orders")!.status).toBeUndefined();
  });

  it("answers gone when the object was deleted", async () => {
    const { api, deps, stored } = harness();
    api.delete("team", "orders");
    const result = await publish(stored, verified, deps);
    expect(result).toEqual({ status: "gone", object: stored });
    expect(api.calls.get).toBe(0);
  });

  it("gives up with a retryable error when the object keeps changing under the same spec", async () => {
    const { api, deps, stored } = harness();
    for (let i = 0; i < 5; i++) {
      api.beforeNextPatch((obj) => {
        (obj.metadata as JsonObject).labels = { edit: String(i) };
      });
    }
    await expect(publish(stored, verifiedOnly, deps)).rejects.toMatchObject({ reason: "InternalError", retryable: true });
    expect(api.patches.map((p) => p.answer)).toEqual(["conflict", "conflict", "conflict", "conflict", "conflict"]);
  });

  it("rethrows the API's error when a write fails", async () => {
    const { api, deps, stored } = harness();
    const refused = new Error("HTTP 503");
    api.failNext("mergePatch", refused);
    await expect(publish(stored, verified, deps)).rejects.toBe(refused);
  });
});
