// ReverifyRequests with a fake clock and hand-written deps: coalescing, who answers whom, the cap, timeouts, and the hand-off through the reverify annotation.
import { describe, expect, it } from "vitest";
import type { ReconcileResult } from "../../src/controller/reconcile.js";
import { HAND_OFF_TTL_MS, ReverifyQueueFullError, ReverifyRequests, type ReverifyAnswer, type ReverifyOutcome } from "../../src/controller/reverify-requests.js";
import { reverifyMark } from "../../src/model/annotations.js";
import { CredbrokerError } from "../../src/model/errors.js";
import type { JsonObject } from "../../src/model/fields.js";
import { FakeClock } from "../../src/runtime/clock.js";

interface View {
  key: string;
  state: string;
}

const A = "team/a";
const B = "team/b";
const C = "team/c";

const PUBLISHED: ReconcileResult = { kind: "published", state: "Accepted", reason: "", conditionReason: "Verified", wrote: true, transient: false, object: {} };
const FAILED: ReconcileResult = { kind: "failed", error: new CredbrokerError("Timeout", "reconcile of team/a did not finish within 30000 ms", { retryable: true }) };
const SUPERSEDED: ReconcileResult = { kind: "superseded", object: {} };

/** A promise the test settles by hand. */
function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (err: unknown) => void } {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every pending promise callback run. */
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Follows a request: `outcome` is set once it resolved. */
function track(promise: Promise<ReverifyOutcome<View>>): { outcome: ReverifyOutcome<View> | undefined; error: unknown } {
  const t: { outcome: ReverifyOutcome<View> | undefined; error: unknown } = { outcome: undefined, error: undefined };
  promise.then(
    (o) => (t.outcome = o),
    (err: unknown) => (t.error = err),
  );
  return t;
}

/** An upstream as the watch (or the annotate patch) delivers it: resourceVersion, reverify annotation, credbroker's observedReverify. */
function upstream(resourceVersion: number, annotation: string | undefined, observed?: string): JsonObject {
  const details: JsonObject = { observedGeneration: 1, conditions: [] };
  if (observed !== undefined) details.observedReverify = observed;
  return {
    metadata: { namespace: "team", name: "a", resourceVersion: String(resourceVersion), annotations: annotation === undefined ? {} : { "credbroker.io/reverify": annotation } },
    spec: { aws: { region: "us-east-1" } },
    status: { statuses: { credbroker: { state: "Accepted", reason: "", reportedBy: "credbroker", details } } },
  };
}

function setup(options: { owned?: boolean; maxQueued?: number } = {}) {
  const clock = new FakeClock();
  const state = { owned: options.owned ?? true };
  const queued: string[] = [];
  const annotations: { key: string; token: string; written: ReturnType<typeof deferred<JsonObject | undefined>> }[] = [];
  const answers: ReverifyAnswer[] = [];
  const known = new Set([A, B, C]);
  const requests = new ReverifyRequests<View>({
    clock,
    random: () => 0.5,
    owns: () => state.owned,
    queueForced: (key) => queued.push(key),
    annotate: (key, token) => {
      const written = deferred<JsonObject | undefined>();
      annotations.push({ key, token, written });
      return written.promise;
    },
    view: (key) => (known.has(key) ? { key, state: "Accepted" } : undefined),
    maxQueued: options.maxQueued ?? 100,
    statusKey: "credbroker",
    onAnswer: (answer) => answers.push(answer),
  });
  const wait = (keys: string[], timeoutMs = 30_000) => track(requests.request(keys, { wait: true, timeoutMs }));
  return { clock, state, queued, annotations, answers, known, requests, wait };
}

describe("ReverifyRequests on the shard's leader", () => {
  it("queues a key once and joins a second request for it while it is queued", async () => {
    const t = setup();
    const first = t.wait([A, A]);
    const second = t.wait([A]);
    await flush();
    expect(t.queued).toEqual([A]);
    expect(t.answers).toEqual(["queued", "joined"]);
    expect(t.requests.depth).toBe(1);

    t.requests.runStarted(A);
    expect(t.requests.depth).toBe(0);
    t.requests.runFinished(A, PUBLISHED);
    await flush();
    for (const r of [first, second]) {
      expect(r.outcome).toMatchObject({ queued: [{ key: A, via: "local" }], results: [{ key: A, state: "Accepted" }], failed: [], pending: [], timedOut: false });
    }
    expect(first.outcome?.requestId).not.toBe(second.outcome?.requestId);
    expect(t.clock.pendingTimers).toBe(0);
  });

  it("answers a request that came during a run only with the next run, which it queues", async () => {
    const t = setup();
    const early = t.wait([A]);
    await flush();
    t.requests.runStarted(A);
    const late = t.wait([A]);
    await flush();
    expect(t.queued).toEqual([A, A]);
    expect(t.answers).toEqual(["queued", "queued"]);

    t.requests.runFinished(A, PUBLISHED);
    await flush();
    expect(early.outcome?.results).toHaveLength(1);
    expect(late.outcome).toBeUndefined();

    t.requests.runStarted(A);
    t.requests.runFinished(A, PUBLISHED);
    await flush();
    expect(late.outcome?.results).toEqual([{ key: A, state: "Accepted" }]);
    expect(t.requests.depth).toBe(0);
  });

  it.each([
    ["failed", FAILED],
    ["superseded", SUPERSEDED],
  ])("keeps its waiters after a %s run for the queue's retry, queueing nothing more (the backoff is kept)", async (_kind, result) => {
    const t = setup();
    const r = t.wait([A]);
    await flush();
    t.requests.runStarted(A);
    t.requests.runFinished(A, result);
    await flush();
    expect(r.outcome).toBeUndefined();
    expect(t.queued).toEqual([A]);
    expect(t.requests.depth).toBe(1);

    // A request meanwhile joins the retry instead of queueing another run.
    const joiner = t.wait([A]);
    await flush();
    expect(t.queued).toEqual([A]);
    expect(t.answers).toEqual(["queued", "joined"]);

    t.requests.runStarted(A);
    t.requests.runFinished(A, PUBLISHED);
    await flush();
    expect(r.outcome?.results).toEqual([{ key: A, state: "Accepted" }]);
    expect(joiner.outcome?.results).toEqual([{ key: A, state: "Accepted" }]);
    expect(t.requests.depth).toBe(0);
  });

  it("answers skipped runs (the upstream is no cloud upstream now) with the view as it is", async () => {
    const t = setup();
    const r = t.wait([A]);
    await flush();
    t.requests.runStarted(A);
    t.requests.runFinished(A, { kind: "skipped", because: "static upstream" });
    await flush();
    expect(r.outcome?.results).toEqual([{ key: A, state: "Accepted" }]);
  });

  it("fails waiters with NotFound when the run finds the upstream gone, or it is deleted while queued", async () => {
    const t = setup();
    const byRun = t.wait([A, B]);
    await flush();
    t.requests.runStarted(A);
    t.requests.runFinished(A, { kind: "gone" });
    t.requests.upstreamGone(B);
    await flush();
    expect(byRun.outcome?.failed).toEqual([
      { key: A, code: "NotFound", message: "upstream team/a was deleted" },
      { key: B, code: "NotFound", message: "upstream team/b was deleted" },
    ]);
    expect(byRun.outcome).toMatchObject({ queued: [], results: [], pending: [], timedOut: false });
    expect(t.requests.depth).toBe(0);
  });

  it("fails a key with NotFound when it was answered but the broker no longer knows it", async () => {
    const t = setup();
    const r = t.wait([A]);
    await flush();
    t.requests.runStarted(A);
    t.known.delete(A);
    t.requests.runFinished(A, PUBLISHED);
    await flush();
    expect(r.outcome?.failed).toEqual([{ key: A, code: "NotFound", message: "upstream team/a was deleted" }]);
  });

  it("answers at once without wait, the run still queued", async () => {
    const t = setup();
    const outcome = await t.requests.request([A, B], { wait: false, timeoutMs: 30_000 });
    expect(outcome).toMatchObject({ queued: [{ key: A, via: "local" }, { key: B, via: "local" }], results: [], failed: [], pending: [], timedOut: false });
    expect(t.queued).toEqual([A, B]);
    expect(t.requests.depth).toBe(2);
    expect(t.clock.pendingTimers).toBe(0);
    t.requests.runStarted(A);
    t.requests.runStarted(B);
    expect(t.requests.depth).toBe(0);
  });

  it("times out with the unanswered keys pending and leaves no waiter behind", async () => {
    const t = setup();
    const r = t.wait([A, B], 1000);
    await flush();
    t.requests.runStarted(A);
    t.requests.runFinished(A, PUBLISHED);
    await t.clock.advanceAsync(999);
    expect(r.outcome).toBeUndefined();
    await t.clock.advanceAsync(1);
    expect(r.outcome).toMatchObject({ timedOut: true, results: [{ key: A, state: "Accepted" }], pending: [B], failed: [], queued: [{ key: A, via: "local" }, { key: B, via: "local" }] });
    expect(t.clock.pendingTimers).toBe(0);
    // B's forced run is still queued (it counts), but nobody waits for it any more.
    expect(t.requests.depth).toBe(1);
    t.requests.runStarted(B);
    expect(t.requests.depth).toBe(0);
    t.requests.runFinished(B, PUBLISHED);
    // Nothing is left in any list: a later failed run of B brings nothing back to wait for its retry.
    t.requests.runStarted(B);
    t.requests.runFinished(B, FAILED);
    expect(t.requests.depth).toBe(0);
  });

  it("refuses a request that would pass maxQueued, queueing none of it; keys already queued still join", async () => {
    const t = setup({ maxQueued: 2 });
    const refused = t.requests.request([A, B, C], { wait: false, timeoutMs: 1000 });
    await expect(refused).rejects.toBeInstanceOf(ReverifyQueueFullError);
    await expect(refused).rejects.toMatchObject({ queued: 0, max: 2 });
    expect(t.queued).toEqual([]);
    expect(t.answers).toEqual([]);
    expect(t.requests.depth).toBe(0);

    await t.requests.request([A, B], { wait: false, timeoutMs: 1000 });
    await t.requests.request([B, A], { wait: false, timeoutMs: 1000 });
    expect(t.answers).toEqual(["queued", "queued", "joined", "joined"]);
    await expect(t.requests.request([A, C], { wait: false, timeoutMs: 1000 })).rejects.toMatchObject({ queued: 2, max: 2 });
    expect(t.queued).toEqual([A, B]);
    t.requests.runStarted(A);
    await t.requests.request([C], { wait: false, timeoutMs: 1000 });
    expect(t.queued).toEqual([A, B, C]);
  });
});

describe("ReverifyRequests on a follower (hand-off through the reverify annotation)", () => {
  it("annotates once for two concurrent requests and answers both once the leader's entry observed the token", async () => {
    const t = setup({ owned: false });
    const first = t.wait([A]);
    const second = t.wait([A]);
    await flush();
    expect(t.annotations).toHaveLength(1);
    expect(t.answers).toEqual(["handedOff", "joinedHandOff"]);
    expect(t.queued).toEqual([]);
    expect(t.requests.depth).toBe(1);
    const [annotation] = t.annotations;
    if (annotation === undefined) throw new Error("no annotation written");
    expect(annotation.key).toBe(A);

    annotation.written.resolve(upstream(10, annotation.token, "rv-older"));
    await flush();
    expect(first.outcome).toBeUndefined();

    t.requests.upstreamSeen(A, upstream(11, annotation.token, annotation.token));
    await flush();
    for (const r of [first, second]) expect(r.outcome).toMatchObject({ queued: [{ key: A, via: "leader" }], results: [{ key: A, state: "Accepted" }], failed: [], timedOut: false });
    expect(annotation.token).toBe(first.outcome?.requestId);
    expect(t.requests.depth).toBe(0);
  });

  it("is not answered by an object older than its annotation write, nor by a stale mark", async () => {
    const t = setup({ owned: false });
    const r = t.wait([A]);
    await flush();
    const annotation = t.annotations[0]!;
    annotation.written.resolve(upstream(10, annotation.token));
    await flush();

    // Someone's earlier request, delivered late by the watch: its answer predates ours.
    t.requests.upstreamSeen(A, upstream(9, "kubectl-earlier", "kubectl-earlier"));
    // Our annotation is there, but the entry still carries the mark of an earlier pass.
    t.requests.upstreamSeen(A, upstream(12, annotation.token, "kubectl-earlier"));
    t.requests.upstreamSeen(A, upstream(13, annotation.token));
    await flush();
    expect(r.outcome).toBeUndefined();
    expect(t.requests.depth).toBe(1);

    t.requests.upstreamSeen(A, upstream(14, annotation.token, annotation.token));
    await flush();
    expect(r.outcome?.results).toEqual([{ key: A, state: "Accepted" }]);
  });

  it.each([
    ["a plain token", "kubectl-later"],
    ["an odd value (recorded as its sha256 mark)", "please check again"],
  ])("is answered by %s someone else set after our write, once the leader observed it", async (_label, later) => {
    const t = setup({ owned: false });
    const r = t.wait([A]);
    await flush();
    const annotation = t.annotations[0]!;
    annotation.written.resolve(upstream(10, annotation.token));
    await flush();

    t.requests.upstreamSeen(A, upstream(11, later));
    await flush();
    expect(r.outcome).toBeUndefined();
    t.requests.upstreamSeen(A, upstream(12, later, reverifyMark(later)));
    await flush();
    expect(r.outcome?.results).toEqual([{ key: A, state: "Accepted" }]);
  });

  // The watch can deliver the leader's answer before the PATCH response is handled: kept, then looked at.
  it("is answered when the watch delivers the leader's answer before the annotation write's own answer is handled", async () => {
    const t = setup({ owned: false });
    const r = t.wait([A], 1000);
    await flush();
    const annotation = t.annotations[0]!;
    t.requests.upstreamSeen(A, upstream(11, annotation.token, annotation.token));
    annotation.written.resolve(upstream(10, annotation.token));
    await t.clock.advanceAsync(1000);
    expect(r.outcome).toMatchObject({ timedOut: false, results: [{ key: A, state: "Accepted" }] });
  });

  it("is not answered by an object seen before the write that answers an older request", async () => {
    const t = setup({ owned: false });
    const r = t.wait([A], 1000);
    await flush();
    const annotation = t.annotations[0]!;
    t.requests.upstreamSeen(A, upstream(9, "older-request", "older-request"));
    annotation.written.resolve(upstream(10, annotation.token));
    await flush();
    expect(r.outcome).toBeUndefined();
    await t.clock.advanceAsync(1000);
    expect(r.outcome).toMatchObject({ timedOut: true, pending: [A] });
  });

  it("fails the hand-off's waiters with Unavailable when the annotation cannot be written", async () => {
    const t = setup({ owned: false });
    const first = t.wait([A]);
    const second = t.wait([A]);
    await flush();
    t.annotations[0]!.written.reject(new Error("connect ECONNREFUSED 10.0.0.1:443 token=s3cr3t"));
    await flush();
    for (const r of [first, second]) {
      expect(r.outcome?.failed).toEqual([{ key: A, code: "Unavailable", message: expect.stringContaining("could not hand the re-verification of team/a") as string }]);
      expect(r.outcome?.queued).toEqual([]);
      expect(JSON.stringify(r.outcome)).not.toContain("s3cr3t");
    }
    expect(t.annotations).toHaveLength(1);
    expect(t.requests.depth).toBe(0);
  });

  it("reports a failed hand-off without wait too, once the write has failed", async () => {
    const t = setup({ owned: false });
    const r = track(t.requests.request([A], { wait: false, timeoutMs: 1000 }));
    await flush();
    expect(r.outcome).toBeUndefined();
    t.annotations[0]!.written.reject(new Error("503"));
    await flush();
    expect(r.outcome).toMatchObject({ queued: [], failed: [{ key: A, code: "Unavailable" }] });
  });

  it("fails with NotFound when the upstream is gone at the annotation write", async () => {
    const t = setup({ owned: false });
    const r = t.wait([A]);
    await flush();
    t.annotations[0]!.written.resolve(undefined);
    await flush();
    expect(r.outcome?.failed).toEqual([{ key: A, code: "NotFound", message: "upstream team/a was deleted" }]);
    expect(t.requests.depth).toBe(0);
  });

  it("keeps an abandoned hand-off for later requests to join, and forgets it after HAND_OFF_TTL_MS", async () => {
    const t = setup({ owned: false });
    const r = t.wait([A], 1000);
    await flush();
    t.annotations[0]!.written.resolve(upstream(10, t.annotations[0]!.token));
    await t.clock.advanceAsync(1000);
    expect(r.outcome).toMatchObject({ timedOut: true, pending: [A], results: [] });
    expect(t.clock.pendingTimers).toBe(0);
    expect(t.requests.depth).toBe(1);

    await t.requests.request([A], { wait: false, timeoutMs: 1000 });
    expect(t.annotations).toHaveLength(1);
    expect(t.answers).toEqual(["handedOff", "joinedHandOff"]);

    await t.clock.advanceAsync(HAND_OFF_TTL_MS + 1);
    const again = t.wait([A]);
    await flush();
    expect(t.annotations).toHaveLength(2);
    expect(t.answers).toEqual(["handedOff", "joinedHandOff", "handedOff"]);
    expect(t.requests.depth).toBe(1);
    t.annotations[1]!.written.resolve(upstream(20, t.annotations[1]!.token, t.annotations[1]!.token));
    await flush();
    expect(again.outcome?.results).toEqual([{ key: A, state: "Accepted" }]);
    expect(t.requests.depth).toBe(0);
  });

  it("fails hand-off waiters with NotFound when the upstream is deleted", async () => {
    const t = setup({ owned: false });
    const r = t.wait([A]);
    await flush();
    t.annotations[0]!.written.resolve(upstream(10, t.annotations[0]!.token));
    await flush();
    t.requests.upstreamGone(A);
    await flush();
    expect(r.outcome?.failed).toEqual([{ key: A, code: "NotFound", message: "upstream team/a was deleted" }]);
    expect(t.requests.depth).toBe(0);
  });

  it("moves local waiters to a hand-off when the controller no longer owns the key", async () => {
    const t = setup();
    const r = t.wait([A]);
    await flush();
    expect(t.queued).toEqual([A]);
    t.state.owned = false;
    t.requests.notOwned(A);
    await flush();
    expect(t.annotations.map((a) => a.key)).toEqual([A]);
    expect(t.answers).toEqual(["queued", "handedOff"]);
    expect(t.requests.depth).toBe(1);
    const annotation = t.annotations[0]!;
    annotation.written.resolve(upstream(10, annotation.token));
    await flush();
    t.requests.upstreamSeen(A, upstream(11, annotation.token, annotation.token));
    await flush();
    expect(r.outcome).toMatchObject({ queued: [{ key: A, via: "local" }], results: [{ key: A, state: "Accepted" }], failed: [] });
    expect(t.requests.depth).toBe(0);
  });

  it("moves a run's waiters to a hand-off when the lease moved mid-run (handedOver)", async () => {
    const t = setup();
    const r = t.wait([A]);
    await flush();
    t.requests.runStarted(A);
    t.state.owned = false;
    t.requests.runFinished(A, { kind: "handedOver" });
    await flush();
    expect(t.annotations).toHaveLength(1);
    const annotation = t.annotations[0]!;
    annotation.written.resolve(upstream(10, annotation.token));
    await flush();
    expect(r.outcome).toBeUndefined();
    t.requests.upstreamSeen(A, upstream(11, annotation.token, annotation.token));
    await flush();
    expect(r.outcome?.results).toEqual([{ key: A, state: "Accepted" }]);
    expect(t.requests.depth).toBe(0);
  });

  it("counts hand-offs against maxQueued", async () => {
    const t = setup({ owned: false, maxQueued: 1 });
    void t.requests.request([A], { wait: false, timeoutMs: 1000 });
    await flush();
    await expect(t.requests.request([B], { wait: false, timeoutMs: 1000 })).rejects.toBeInstanceOf(ReverifyQueueFullError);
    expect(t.annotations).toHaveLength(1);
  });
});
