// Work queue behaviour under a fake clock: dedup, priorities, one run per key, backoff and Retry-After, removal, rate limit, concurrency, shutdown.
import { describe, expect, it } from "vitest";
import { FakeClock } from "../../../src/runtime/clock.js";
import { WorkQueue, type QueueEvent, type WorkQueueOptions } from "../../../src/runtime/queue/work-queue.js";

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: Error) => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A queue on a fake clock with a fixed random of 0.5 (no jitter) unless overridden. */
function setup(overrides: Partial<WorkQueueOptions> = {}) {
  const clock = new FakeClock(0);
  const events: QueueEvent[] = [];
  const queue = new WorkQueue({ clock, random: () => 0.5, ratePerSecond: 1000, onEvent: (e) => events.push(e), ...overrides });
  return { clock, queue, events };
}

/** A worker that records (key, time) and finishes immediately. */
function recorder(clock: FakeClock) {
  const starts: Array<{ key: string; at: number }> = [];
  const worker = (key: string) => {
    starts.push({ key, at: clock.now() });
    return Promise.resolve();
  };
  return { starts, worker };
}

/** A worker whose runs stay in flight until the test settles them. */
function holder() {
  const runs = new Map<string, Deferred[]>();
  const order: string[] = [];
  const worker = (key: string) => {
    const d = deferred();
    order.push(key);
    runs.set(key, [...(runs.get(key) ?? []), d]);
    return d.promise;
  };
  const settle = (key: string, err?: Error) => {
    const d = runs.get(key)?.shift();
    if (d === undefined) throw new Error(`no run of ${key} in flight`);
    if (err) d.reject(err);
    else d.resolve();
  };
  return { worker, order, settle };
}

describe("WorkQueue", () => {
  it("keeps one pending entry per key however often it is added", async () => {
    const { clock, queue } = setup();
    queue.add("ns/a", { priority: "routine" });
    queue.add("ns/a", { priority: "routine" });
    queue.add("ns/a", { priority: "new" });
    expect(queue.depth).toBe(1);
    const { starts, worker } = recorder(clock);
    queue.run(worker, 4);
    await clock.advanceAsync(10);
    expect(starts.map((s) => s.key)).toEqual(["ns/a"]);
    expect(queue.depth).toBe(0);
  });

  it("raises priority and shortens the delay on re-add, never the opposite", async () => {
    const { clock, queue, events } = setup();
    queue.add("ns/a", { priority: "routine", delayMs: 5000 });
    queue.add("ns/a", { priority: "forced", delayMs: 1000 });
    queue.add("ns/a", { priority: "routine", delayMs: 10_000 });
    expect(queue.depth).toBe(1);
    const { starts, worker } = recorder(clock);
    queue.run(worker, 1);
    await clock.advanceAsync(999);
    expect(starts).toEqual([]);
    await clock.advanceAsync(1);
    expect(starts).toEqual([{ key: "ns/a", at: 1000 }]);
    expect(events.find((e) => e.type === "started")?.priority).toBe("forced");
  });

  it("starts forced before new before routine, and by start time within a class", async () => {
    const { clock, queue } = setup();
    queue.add("routine-late", { priority: "routine", delayMs: 50 });
    queue.add("routine-1", { priority: "routine" });
    queue.add("new-1", { priority: "new" });
    queue.add("routine-2", { priority: "routine" });
    queue.add("forced-1", { priority: "forced" });
    queue.add("new-2", { priority: "new" });
    await clock.advanceAsync(100);
    const { worker, order, settle } = holder();
    queue.run(worker, 1);
    for (let i = 0; i < 6; i++) {
      await clock.advanceAsync(1);
      settle(order[order.length - 1]!);
    }
    // routine-late was due at 50, after routine-1 and routine-2 (due at 0).
    expect(order).toEqual(["forced-1", "new-1", "new-2", "routine-1", "routine-2", "routine-late"]);
  });

  it("runs a key once at a time and once more when it was added during its run", async () => {
    const { clock, queue } = setup();
    const { worker, order, settle } = holder();
    queue.run(worker, 4);
    queue.add("ns/a", { priority: "new" });
    await clock.advanceAsync(1);
    expect(queue.inFlight).toBe(1);
    queue.add("ns/a", { priority: "routine" });
    queue.add("ns/a", { priority: "forced" });
    await clock.advanceAsync(100);
    expect(order).toEqual(["ns/a"]);
    expect(queue.depth).toBe(0);
    settle("ns/a");
    await clock.advanceAsync(1);
    expect(order).toEqual(["ns/a", "ns/a"]);
    settle("ns/a");
    await clock.advanceAsync(100);
    expect(order).toEqual(["ns/a", "ns/a"]);
    expect(queue.inFlight).toBe(0);
  });

  it("backs off exponentially up to the cap, with exact delays under a fixed random", () => {
    const { queue } = setup({ backoff: { minMs: 1000, maxMs: 8000, jitter: 0.2 } });
    const delays = Array.from({ length: 6 }, () => queue.retry("ns/a"));
    expect(delays).toEqual([1000, 2000, 4000, 8000, 8000, 8000]);
    expect(queue.failureCount("ns/a")).toBe(6);
    queue.succeeded("ns/a");
    expect(queue.retry("ns/a")).toBe(1000);
  });

  it("spreads retry delays by the jitter fraction", () => {
    const low = setup({ random: () => 0, backoff: { minMs: 1000, maxMs: 8000, jitter: 0.2 } }).queue;
    const high = setup({ random: () => 0.999_999, backoff: { minMs: 1000, maxMs: 8000, jitter: 0.2 } }).queue;
    expect([low.retry("k"), low.retry("k")]).toEqual([800, 1600]);
    expect([high.retry("k"), high.retry("k")]).toEqual([1200, 2400]);
  });

  it("defaults to 1 s → 5 min backoff", () => {
    const { queue } = setup();
    const delays = Array.from({ length: 12 }, () => queue.retry("k"));
    expect(delays.slice(0, 3)).toEqual([1000, 2000, 4000]);
    expect(delays.at(-1)).toBe(300_000);
  });

  it("restarts a failed key only after its backoff delay", async () => {
    const { clock, queue } = setup({ backoff: { minMs: 1000, maxMs: 8000, jitter: 0.2 } });
    const starts: number[] = [];
    queue.run((key) => {
      starts.push(clock.now());
      queue.retry(key);
      return Promise.resolve();
    }, 1);
    queue.add("ns/a", { priority: "new" });
    await clock.advanceAsync(1000 + 2000 + 4000);
    expect(starts).toEqual([0, 1000, 3000, 7000]);
  });

  it("treats a rejected worker as a transient failure", async () => {
    const { clock, queue, events } = setup({ backoff: { minMs: 500, maxMs: 8000, jitter: 0.2 } });
    const { worker, order, settle } = holder();
    queue.run(worker, 1);
    queue.add("ns/a", { priority: "new" });
    await clock.advanceAsync(1);
    settle("ns/a", new Error("boom"));
    await clock.advanceAsync(1);
    expect(queue.failureCount("ns/a")).toBe(1);
    expect(events.filter((e) => e.type === "retried")).toEqual([{ type: "retried", key: "ns/a", priority: "new" }]);
    await clock.advanceAsync(500);
    expect(order).toEqual(["ns/a", "ns/a"]);
  });

  it("starts no more than the rate allows in any simulated second", async () => {
    const { clock, queue } = setup({ ratePerSecond: 5, burst: 1 });
    for (let i = 0; i < 20; i++) queue.add(`ns/k${i}`, { priority: "routine" });
    const { starts, worker } = recorder(clock);
    queue.run(worker, 100);
    await clock.advanceAsync(3999);
    const perSecond = [0, 1, 2, 3].map((s) => starts.filter((x) => x.at >= s * 1000 && x.at < (s + 1) * 1000).length);
    expect(perSecond).toEqual([5, 5, 5, 5]);
  });

  it("lets a burst through at once, then paces", async () => {
    const { clock, queue } = setup({ ratePerSecond: 10, burst: 4 });
    for (let i = 0; i < 10; i++) queue.add(`ns/k${i}`, { priority: "routine" });
    const { starts, worker } = recorder(clock);
    queue.run(worker, 100);
    await clock.advanceAsync(0);
    expect(starts).toHaveLength(4);
    await clock.advanceAsync(600);
    expect(starts).toHaveLength(10);
  });

  it("gives back the token of a run that refunds it, so refunded work is bounded by concurrency, not by the rate", async () => {
    const { clock, queue } = setup({ ratePerSecond: 5, burst: 1 });
    for (let i = 0; i < 20; i++) queue.add(`ns/k${i}`, { priority: "new" });
    const starts: string[] = [];
    // Every run but k7 and k13 refunds: those two are the only ones that wait for a fresh token.
    queue.run((key) => {
      starts.push(key);
      if (key !== "ns/k7" && key !== "ns/k13") queue.refund(key);
      return Promise.resolve();
    }, 2);
    await clock.advanceAsync(0);
    expect(starts).toHaveLength(8);
    await clock.advanceAsync(199);
    expect(starts).toHaveLength(8);
    await clock.advanceAsync(1);
    expect(starts).toHaveLength(14);
    await clock.advanceAsync(200);
    expect(starts).toHaveLength(20);
  });

  it("keeps the token of a run that fails, and ignores a refund for a key not in flight", async () => {
    const { clock, queue } = setup({ ratePerSecond: 5, burst: 1 });
    queue.add("ns/a", { priority: "new" });
    queue.add("ns/b", { priority: "new" });
    queue.refund("ns/a");
    const starts: Array<{ key: string; at: number }> = [];
    queue.run((key) => {
      starts.push({ key, at: clock.now() });
      queue.refund(key);
      return key === "ns/a" && starts.length === 1 ? Promise.reject(new Error("down")) : Promise.resolve();
    }, 1);
    await clock.advanceAsync(0);
    // a failed: its refund does not count, so b waits for the next token.
    expect(starts.map((s) => s.key)).toEqual(["ns/a"]);
    await clock.advanceAsync(200);
    expect(starts.map((s) => `${s.key}@${s.at}`)).toEqual(["ns/a@0", "ns/b@200"]);
  });

  it("never runs more keys at once than the concurrency bound", async () => {
    const { clock, queue } = setup();
    const { worker, order, settle } = holder();
    let maxInFlight = 0;
    queue.run(async (key) => {
      maxInFlight = Math.max(maxInFlight, queue.inFlight);
      await worker(key);
    }, 3);
    for (let i = 0; i < 10; i++) queue.add(`ns/k${i}`, { priority: "routine" });
    await clock.advanceAsync(10);
    expect(order).toHaveLength(3);
    settle("ns/k0");
    await clock.advanceAsync(10);
    expect(order).toHaveLength(4);
    for (let i = 1; i < 10; i++) {
      settle(`ns/k${i}`);
      await clock.advanceAsync(10);
    }
    expect(order).toHaveLength(10);
    expect(maxInFlight).toBe(3);
  });

  it("drops a removed key, its backoff, and the retries of its run in flight", async () => {
    const { clock, queue, events } = setup();
    queue.add("ns/gone", { priority: "routine", delayMs: 100 });
    queue.retry("ns/gone");
    queue.remove("ns/gone");
    expect(queue.depth).toBe(0);
    expect(queue.failureCount("ns/gone")).toBe(0);
    expect(events.at(-1)).toEqual({ type: "dropped", key: "ns/gone", priority: "routine" });

    const { worker, order, settle } = holder();
    queue.run(worker, 1);
    queue.add("ns/b", { priority: "new" });
    await clock.advanceAsync(1);
    queue.remove("ns/b");
    expect(queue.retry("ns/b")).toBeUndefined();
    queue.schedulePeriodic("ns/b", 1000);
    settle("ns/b");
    await clock.advanceAsync(10_000);
    expect(order).toEqual(["ns/b"]);
    expect(queue.depth).toBe(0);
  });

  it("drops the periodic schedule of a removed key, and queues it afresh when added again", async () => {
    const { clock, queue } = setup();
    const { starts, worker } = recorder(clock);
    queue.run(worker, 1);
    queue.schedulePeriodic("ns/a", 1000);
    queue.remove("ns/a");
    queue.remove("ns/a");
    expect(queue.depth).toBe(0);
    await clock.advanceAsync(5000);
    expect(starts).toEqual([]);
    queue.add("ns/a", { priority: "new" });
    await clock.advanceAsync(1);
    expect(starts).toEqual([{ key: "ns/a", at: 5000 }]);
  });

  it("retries no earlier than notBeforeMs when it is longer than the backoff", async () => {
    const { clock, queue } = setup({ backoff: { minMs: 1000, maxMs: 120_000, jitter: 0.2 } });
    const { starts, worker } = recorder(clock);
    queue.run(worker, 1);
    expect(queue.retry("ns/a", { notBeforeMs: 30_000 })).toBe(30_000);
    expect(queue.failureCount("ns/a")).toBe(1);
    await clock.advanceAsync(29_999);
    expect(starts).toEqual([]);
    await clock.advanceAsync(1);
    expect(starts).toEqual([{ key: "ns/a", at: 30_000 }]);
  });

  it("retries after the backoff when notBeforeMs is shorter", async () => {
    const { clock, queue } = setup({ backoff: { minMs: 1000, maxMs: 8000, jitter: 0.2 } });
    const { starts, worker } = recorder(clock);
    queue.run(worker, 1);
    expect(queue.retry("ns/a", { notBeforeMs: 400 })).toBe(1000);
    await clock.advanceAsync(999);
    expect(starts).toEqual([]);
    await clock.advanceAsync(1);
    expect(starts).toEqual([{ key: "ns/a", at: 1000 }]);
  });

  it("keeps counting failures through a Retry-After, so the backoff resumes where it was", () => {
    const { queue } = setup({ backoff: { minMs: 1000, maxMs: 120_000, jitter: 0.2 } });
    const delays = [queue.retry("k"), queue.retry("k", { notBeforeMs: 60_000 }), queue.retry("k", { notBeforeMs: 1500 }), queue.retry("k")];
    expect(delays).toEqual([1000, 60_000, 4000, 8000]);
    expect(queue.failureCount("k")).toBe(4);
  });

  it("honours notBeforeMs for a retry asked during the key's run", async () => {
    const { clock, queue } = setup({ backoff: { minMs: 1000, maxMs: 120_000, jitter: 0.2 } });
    const starts: number[] = [];
    const delays: Array<number | undefined> = [];
    queue.run((key) => {
      starts.push(clock.now());
      if (starts.length === 1) delays.push(queue.retry(key, { notBeforeMs: 12_345.2 }));
      return Promise.resolve();
    }, 1);
    queue.add("ns/a", { priority: "forced" });
    await clock.advanceAsync(12_345);
    expect(starts).toEqual([0]);
    await clock.advanceAsync(1);
    // A fractional Retry-After rounds up: "not before" is never broken by a fraction of a millisecond.
    expect(delays).toEqual([12_346]);
    expect(starts).toEqual([0, 12_346]);
  });

  it("caps notBeforeMs at the backoff's maxMs, so a Retry-After of days cannot silence a key", async () => {
    const { clock, queue } = setup({ backoff: { minMs: 1000, maxMs: 60_000, jitter: 0.2 } });
    const { starts, worker } = recorder(clock);
    queue.run(worker, 1);
    expect(queue.retry("ns/a", { notBeforeMs: 10 * 86_400_000 })).toBe(60_000);
    await clock.advanceAsync(60_000);
    expect(starts).toEqual([{ key: "ns/a", at: 60_000 }]);
  });

  it("ignores a negative or non-finite notBeforeMs", () => {
    const { queue } = setup({ backoff: { minMs: 1000, maxMs: 8000, jitter: 0.2 } });
    expect(queue.retry("ns/a", { notBeforeMs: -5000 })).toBe(1000);
    expect(queue.retry("ns/a", { notBeforeMs: Number.NaN })).toBe(2000);
    expect(queue.retry("ns/a", { notBeforeMs: Number.POSITIVE_INFINITY })).toBe(4000);
    expect(queue.retry("ns/a", {})).toBe(8000);
  });

  it("schedules periodic re-verification within ±10% and never more than once per key", async () => {
    const low = setup({ random: () => 0 });
    low.queue.schedulePeriodic("ns/a", 10_000);
    low.queue.schedulePeriodic("ns/a", 10_000);
    const lowRec = recorder(low.clock);
    low.queue.run(lowRec.worker, 1);
    await low.clock.advanceAsync(20_000);
    expect(lowRec.starts).toEqual([{ key: "ns/a", at: 9000 }]);

    const high = setup({ random: () => 0.999_999 });
    for (let i = 0; i < 5; i++) high.queue.schedulePeriodic("ns/a", 10_000);
    expect(high.queue.depth).toBe(1);
    const highRec = recorder(high.clock);
    high.queue.run(highRec.worker, 1);
    await high.clock.advanceAsync(20_000);
    expect(highRec.starts).toEqual([{ key: "ns/a", at: 11_000 }]);
  });

  it("reschedules periodically when the worker asks during its run", async () => {
    const { clock, queue } = setup();
    const starts: number[] = [];
    queue.run((key) => {
      starts.push(clock.now());
      queue.schedulePeriodic(key, 1000);
      return Promise.resolve();
    }, 1);
    queue.add("ns/a", { priority: "new" });
    await clock.advanceAsync(3500);
    expect(starts).toEqual([0, 1000, 2000, 3000]);
    expect(queue.depth).toBe(1);
  });

  it("reports ready and delayed depth separately", async () => {
    const { clock, queue } = setup();
    queue.add("ns/now", { priority: "routine" });
    queue.add("ns/later", { priority: "routine", delayMs: 1000 });
    expect(queue.depth).toBe(2);
    expect(queue.readyDepth).toBe(1);
    await clock.advanceAsync(1000);
    expect(queue.readyDepth).toBe(2);
  });

  it("on shutdown stops starting work and waits for runs in flight", async () => {
    const { clock, queue } = setup();
    const { worker, order, settle } = holder();
    queue.run(worker, 2);
    queue.add("ns/a", { priority: "routine" });
    queue.add("ns/b", { priority: "routine" });
    queue.add("ns/c", { priority: "routine" });
    await clock.advanceAsync(1);
    const done = queue.shutdown({ drainTimeoutMs: 5000 });
    queue.add("ns/d", { priority: "forced" });
    expect(queue.depth).toBe(0);
    settle("ns/a");
    settle("ns/b");
    await clock.advanceAsync(1);
    await expect(done).resolves.toEqual([]);
    expect(order).toEqual(["ns/a", "ns/b"]);
  });

  it("on shutdown returns the keys still in flight at the drain deadline", async () => {
    const { clock, queue } = setup();
    const { worker, settle } = holder();
    queue.run(worker, 2);
    queue.add("ns/stuck", { priority: "routine" });
    queue.add("ns/quick", { priority: "routine" });
    await clock.advanceAsync(1);
    let result: string[] | undefined;
    void queue.shutdown({ drainTimeoutMs: 5000 }).then((keys) => (result = keys));
    settle("ns/quick");
    await clock.advanceAsync(4999);
    expect(result).toBeUndefined();
    await clock.advanceAsync(1);
    expect(result).toEqual(["ns/stuck"]);
  });

  it("reports added, started, done events in order", async () => {
    const { clock, queue, events } = setup();
    const { worker } = recorder(clock);
    queue.run(worker, 1);
    queue.add("ns/a", { priority: "new" });
    await clock.advanceAsync(1);
    expect(events).toEqual([
      { type: "added", key: "ns/a", priority: "new" },
      { type: "started", key: "ns/a", priority: "new" },
      { type: "done", key: "ns/a", priority: "new" },
    ]);
  });
});
