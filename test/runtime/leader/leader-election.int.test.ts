// Lease leader election against the Kubernetes emulator: one leader, takeover after expiry, release handover, stepping down at the renew deadline, shards.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createSystemClock, FakeClock, type Clock } from "../../../src/runtime/clock.js";
import { createLeaderElector, type LeaderElector, type LeaderElectorOptions } from "../../../src/runtime/leader/leader-election.js";
import { createShardedElector, shardOf, type ShardedElector } from "../../../src/runtime/leader/shards.js";
import { createKubeEmulator, LEASES, type KubeEmulator } from "../../../src/sandbox/kube/index.js";
import { adminKubeConfig, waitFor } from "../../controller/helpers.js";

interface LeaseSpecView {
  holderIdentity?: string;
  leaseTransitions?: number;
  renewTime?: string;
}

interface Tracked {
  elector: LeaderElector;
  started: number;
  stopped: number;
}

describe("leader election", () => {
  let emulator: KubeEmulator;
  const running: Array<{ stop(): Promise<void> }> = [];
  /** Replicas currently leading, per lease, and the most ever seen at once. */
  const leading = new Map<string, number>();
  let maxLeading = 0;

  beforeAll(async () => {
    emulator = await createKubeEmulator({ tls: true });
    emulator.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: "gloo-system" } });
  });

  afterEach(async () => {
    emulator.faults.reset();
    await Promise.all(running.splice(0).map((e) => e.stop()));
    leading.clear();
    maxLeading = 0;
  });

  afterAll(async () => {
    await emulator.close();
  });

  function elector(lease: string, identity: string, overrides: Partial<LeaderElectorOptions> = {}): Tracked {
    const tracked = { started: 0, stopped: 0 } as Partial<Tracked> & { started: number; stopped: number };
    const elector = createLeaderElector({
      kubeConfig: adminKubeConfig(emulator),
      namespace: "gloo-system",
      name: lease,
      identity,
      leaseDurationMs: 1500,
      renewDeadlineMs: 1000,
      retryPeriodMs: 200,
      clock: createSystemClock(),
      random: Math.random,
      onStartedLeading: () => {
        tracked.started++;
        const n = (leading.get(lease) ?? 0) + 1;
        leading.set(lease, n);
        maxLeading = Math.max(maxLeading, n);
      },
      onStoppedLeading: () => {
        tracked.stopped++;
        leading.set(lease, (leading.get(lease) ?? 0) - 1);
      },
      ...overrides,
    });
    running.push(elector);
    elector.start();
    return Object.assign(tracked, { elector });
  }

  function leaseSpec(name: string): LeaseSpecView {
    const spec = emulator.get(LEASES, "gloo-system", name)?.["spec"];
    return spec === undefined ? {} : (spec as LeaseSpecView);
  }

  it("does not take a lease that is being renewed, however skewed the holder's clock is", async () => {
    // A holder whose clock runs an hour behind: every renewTime looks long expired to us.
    const skewedRenew = (i: number) => new Date(Date.now() - 3_600_000 + i).toISOString().replace("Z", "000Z");
    emulator.apply({
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { namespace: "gloo-system", name: "skewed" },
      spec: { holderIdentity: "behind-the-times", leaseDurationSeconds: 2, renewTime: skewedRenew(0) },
    });
    let renewals = 0;
    const renewer = setInterval(() => {
      const lease = structuredClone(emulator.get(LEASES, "gloo-system", "skewed")!);
      (lease.spec as LeaseSpecView).renewTime = skewedRenew(++renewals);
      emulator.apply(lease);
    }, 300);
    try {
      const candidate = elector("skewed", "candidate");
      candidate.elector.start();
      await new Promise((resolve) => setTimeout(resolve, 3000));
      expect(candidate.elector.isLeader()).toBe(false);
      expect((emulator.get(LEASES, "gloo-system", "skewed")!.spec as LeaseSpecView).holderIdentity).toBe("behind-the-times");
    } finally {
      clearInterval(renewer);
    }
    // Once the holder stops renewing, the candidate takes over after a lease duration of silence.
    await waitFor("the candidate to lead", () => (emulator.get(LEASES, "gloo-system", "skewed")!.spec as LeaseSpecView).holderIdentity === "candidate", 5000);
  });

  it("lets exactly one of two candidates lead, and writes MicroTime the API server accepts", async () => {
    // Long lease and deadline: a stalled event loop on a busy machine must not pass for a dead leader here.
    const steady = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 200 };
    const a = elector("one-leader", "replica-a", steady);
    const b = elector("one-leader", "replica-b", steady);
    await waitFor("a leader", () => a.elector.isLeader() || b.elector.isLeader());
    const [leader, follower] = a.elector.isLeader() ? [a, b] : [b, a];
    // Several renewals and candidate retries go by; the follower never leads.
    const renewTime = leaseSpec("one-leader").renewTime;
    await waitFor("a few renewals", () => leaseSpec("one-leader").renewTime !== renewTime);
    expect(follower.elector.isLeader()).toBe(false);
    expect(follower.started).toBe(0);
    expect(maxLeading).toBe(1);
    expect(leaseSpec("one-leader").holderIdentity).toBe(leader === a ? "replica-a" : "replica-b");
    expect(leaseSpec("one-leader").renewTime).toMatch(/\.\d{6}Z$/);
  });

  it("hands over to the other candidate after a leader stops renewing without release", async () => {
    const a = elector("takeover", "replica-a");
    await waitFor("a leading", () => a.elector.isLeader());
    const b = elector("takeover", "replica-b");
    await a.elector.stop();
    expect(a.elector.isLeader()).toBe(false);
    expect(a.stopped).toBe(a.started);
    expect(leaseSpec("takeover").holderIdentity).toBe("replica-a");
    await waitFor("b taking over once the lease expires", () => b.elector.isLeader());
    expect(leaseSpec("takeover")).toMatchObject({ holderIdentity: "replica-b", leaseTransitions: 1 });
    expect(maxLeading).toBe(1);
  });

  it("hands over at once after release, well before the lease would expire", async () => {
    const slow = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 200 };
    const a = elector("release", "replica-a", slow);
    await waitFor("a leading", () => a.elector.isLeader());
    const b = elector("release", "replica-b", slow);
    expect(await a.elector.release()).toBe(true);
    expect(a.elector.isLeader()).toBe(false);
    expect(a.stopped).toBe(1);
    // The lease would stay valid for 15 s; the successor gets it within a few retry periods.
    await waitFor("b taking over after release", () => b.elector.isLeader(), 3000);
    expect(leaseSpec("release").holderIdentity).toBe("replica-b");
  });

  it("stops leading within the renew deadline when the API server is unreachable", async () => {
    const a = elector("outage", "replica-a");
    await waitFor("a leading", () => a.elector.isLeader());
    emulator.faults.set({ outage: true });
    // On a loaded machine a stalled event loop can already have cost (and regained) the lease before
    // the outage, so count from here: the callback runs once more and leadership ends within the deadline.
    const startedBefore = a.started;
    await waitFor("a stepping down", () => !a.elector.isLeader() && a.stopped === startedBefore, 3000);
    emulator.faults.set({ outage: false });
    await waitFor("a leading again after the outage", () => a.elector.isLeader());
    expect(a.started).toBe(startedBefore + 1);
  });

  it("is leader exactly until the renew deadline when renewals fail, with the callback at that moment", async () => {
    // A fake clock for the elector's timers (I/O stays real): nothing renews unless the test moves time.
    const clock = new FakeClock(Date.now());
    const a = elector("deadline", "replica-a", { clock, leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2000 });
    await waitFor("a leading", () => a.elector.isLeader());
    emulator.faults.set({ outage: true });
    clock.advance(9_999);
    expect(a.elector.isLeader()).toBe(true);
    expect(a.stopped).toBe(0);
    clock.advance(1);
    expect(a.elector.isLeader()).toBe(false);
    expect(a.stopped).toBe(1);
  });

  it("still steps down when its deadline timer fires a millisecond early", async () => {
    // Node's timers may run just before monotonic time reaches their due time; this clock's do so whenever they can.
    const clock = new FakeClock(Date.now());
    const early: Clock = { now: clock.now, monotonicNow: clock.monotonicNow, setTimeout: (fn, ms) => clock.setTimeout(fn, Math.max(1, ms - 1)), clearTimeout: (h) => clock.clearTimeout(h) };
    const a = elector("early-timer", "replica-a", { clock: early, leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2000 });
    await waitFor("a leading", () => a.elector.isLeader());
    emulator.faults.set({ outage: true });
    clock.advance(9_999);
    expect(a.elector.isLeader()).toBe(true);
    clock.advance(1);
    expect(a.elector.isLeader()).toBe(false);
    expect(a.stopped).toBe(1);
  });

  it("reports a lapse as a stop and a new start when a late renewal lands before the starved deadline timer runs", async () => {
    // Time moves on while timers stay behind, as on a starved event loop: `lag` is how far.
    const timers = new FakeClock(Date.now());
    let lag = 0;
    const starved: Clock = {
      now: () => timers.now() + lag,
      monotonicNow: () => timers.monotonicNow() + lag,
      setTimeout: (fn, ms) => timers.setTimeout(fn, ms),
      clearTimeout: (h) => timers.clearTimeout(h),
    };
    const a = elector("lapse", "replica-a", { clock: starved, leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2000 });
    await waitFor("a leading", () => a.elector.isLeader());
    emulator.faults.set({ latencyMs: 300 });
    timers.advance(2000); // the retry timer runs: a renewal is on its way, slowly
    lag = 9_000; // meanwhile the deadline passes, but its timer does not get to run
    expect(a.elector.isLeader()).toBe(false);
    await waitFor("the late renewal landing", () => a.elector.isLeader());
    // Writers skipped work while isLeader() was false: the callbacks must show the gap.
    expect(a.stopped).toBe(1);
    expect(a.started).toBe(2);
  });

  it("steps down at its deadline even when the wall clock is set back an hour", async () => {
    // Wall time (lease timestamps) is stepped back; the deadline runs on monotonic time, which never steps.
    const clock = new FakeClock(Date.now());
    let stepMs = 0;
    const stepped: Clock = { now: () => clock.now() - stepMs, monotonicNow: clock.monotonicNow, setTimeout: (fn, ms) => clock.setTimeout(fn, ms), clearTimeout: (h) => clock.clearTimeout(h) };
    const a = elector("wall-step", "replica-a", { clock: stepped, leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2000 });
    await waitFor("a leading", () => a.elector.isLeader());
    emulator.faults.set({ outage: true });
    stepMs = 3_600_000;
    clock.advance(9_999);
    expect(a.elector.isLeader()).toBe(true);
    clock.advance(1);
    expect(a.elector.isLeader()).toBe(false);
    expect(a.stopped).toBe(1);
  });

  it("does not release a lease someone else holds", async () => {
    const steady = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 200 };
    const a = elector("not-mine", "replica-a", steady);
    await waitFor("a leading", () => a.elector.isLeader());
    const b = elector("not-mine", "replica-b", steady);
    expect(await b.elector.release()).toBe(false);
    expect(leaseSpec("not-mine").holderIdentity).toBe("replica-a");
    expect(a.elector.isLeader()).toBe(true);
  });

  it("spreads shards over replicas so that each key has exactly one owner", async () => {
    const make = (identity: string): ShardedElector => {
      const s = createShardedElector({
        kubeConfig: adminKubeConfig(emulator),
        namespace: "gloo-system",
        name: "sharded",
        identity,
        shards: 4,
        maxShards: 2,
        // Free leases are taken at once; the long deadline keeps a stalled event loop from shuffling shards mid-test.
        leaseDurationMs: 15_000,
        renewDeadlineMs: 10_000,
        retryPeriodMs: 200,
        clock: createSystemClock(),
        random: Math.random,
      });
      running.push(s);
      s.start();
      return s;
    };
    const a = make("replica-a");
    const b = make("replica-b");
    await waitFor("all four shards owned", () => a.ownedShards().length + b.ownedShards().length === 4);
    expect(a.ownedShards()).toHaveLength(2);
    expect(b.ownedShards()).toHaveLength(2);
    for (let i = 0; i < 200; i++) {
      const key = `ns-${i % 7}/upstream-${i}`;
      expect(Number(a.owns(key)) + Number(b.owns(key))).toBe(1);
    }
    expect(emulator.get(LEASES, "gloo-system", "sharded-3")).toBeDefined();
    expect(emulator.get(LEASES, "gloo-system", "sharded")).toBeUndefined();
  });
});

describe("shardOf", () => {
  it("is FNV-1a: stable, known values", () => {
    // FNV-1a 32-bit of "" is the offset basis 0x811c9dc5; of "a" it is 0xe40c292c.
    expect(shardOf("", 0x100000000 - 1)).toBe(0x811c9dc5 % (0x100000000 - 1));
    expect(shardOf("a", 0x100000000 - 1)).toBe(0xe40c292c % (0x100000000 - 1));
    expect(shardOf("team-a/orders", 8)).toBe(shardOf("team-a/orders", 8));
  });

  it("puts every key in shard 0 of 1 and spreads keys over many shards", () => {
    expect(shardOf("team-a/orders", 1)).toBe(0);
    const counts = new Array<number>(8).fill(0);
    for (let i = 0; i < 4000; i++) counts[shardOf(`ns-${i % 13}/upstream-${i}`, 8)]!++;
    for (const c of counts) expect(c).toBeGreaterThan(300);
  });

  it("rejects a shard count below one", () => {
    expect(() => shardOf("k", 0)).toThrow(RangeError);
  });
});
