// The controller's work queue: deduplicated upstream keys with priorities, delays, per-key backoff, a global rate limit, a periodic budget and bounded concurrency.
import { backoffDelayMs, jittered, type BackoffSettings } from "../pacing/backoff.js";
import type { Clock, TimerHandle } from "../clock.js";
import { Heap } from "./heap.js";
import { TokenBucket } from "../pacing/token-bucket.js";

/** forced: a person asked (HTTP, annotation); new: never verified; routine: periodic refresh and ordinary changes. */
export type Priority = "forced" | "new" | "routine";

export interface AddOptions {
  priority: Priority;
  /** Start no earlier than this many ms from now (default 0). */
  delayMs?: number;
}

export interface RetryOptions {
  /**
   * Start no earlier than this many ms from now, e.g. a server's Retry-After. It lengthens the
   * backoff delay, never shortens it; undefined, a negative or a non-finite value is ignored
   * (undefined is accepted so an optional `retryAfterMs` can be passed straight through). It is
   * capped at the backoff's `maxMs`: a server asking for days of quiet must not silence a key
   * (and every key that shared its answer) for days.
   */
  notBeforeMs?: number | undefined;
}

export type QueueEventType = "added" | "started" | "done" | "retried" | "dropped";

export interface QueueEvent {
  type: QueueEventType;
  key: string;
  priority: Priority;
}

export type QueueWorker = (key: string) => Promise<void>;

export interface PeriodicOptions {
  /**
   * Start no earlier than this many ms from now instead of `intervalMs` ± periodicJitter: for a
   * key resumed from when it last ran (resumeDelayMs). Negative counts as 0.
   */
  delayMs?: number;
}

export interface WorkQueueOptions {
  clock: Clock;
  random: () => number;
  /** Per-key retry delays; defaults 1 s → 5 min, ±20%. */
  backoff?: Partial<BackoffSettings>;
  /** Starts per second of everything but periodic re-verification (new keys, changes, forced runs, retries). */
  ratePerSecond: number;
  /** Starts that may happen at once after a quiet period (default `ratePerSecond`). */
  burst?: number;
  /**
   * The periodic budget is this many times the fleet's own pace, Σ 1/interval over the keys on a
   * periodic cadence (default 2). Due times are not spread evenly over the interval: a cold start
   * at the global limit that lasts longer than one interval puts the keys of its second round in
   * the same part of the cycle as those of its first, up to twice the average pace (and a resumed
   * fleet keeps that shape, the jitter smoothing it only over many rounds); 2 lets that through on
   * time while still capping periodic work at twice what the fleet needs.
   */
  periodicHeadroom?: number;
  /** Spread of periodic re-verification as a fraction of the interval (default 0.1 = ±10%). */
  periodicJitter?: number;
  /** Called synchronously for every queue event, e.g. to feed metrics; must not throw. */
  onEvent?: (event: QueueEvent) => void;
}

export const DEFAULT_QUEUE_BACKOFF: BackoffSettings = { minMs: 1000, maxMs: 300_000, jitter: 0.2 };

export const DEFAULT_PERIODIC_HEADROOM = 2;
export const DEFAULT_PERIODIC_JITTER = 0.1;

const RANK: Record<Priority, number> = { forced: 0, new: 1, routine: 2 };

/**
 * What is asked of one key: its class, its start time, and, for a periodic re-verification, the
 * cadence it keeps (undefined for everything else, which the global rate limit paces).
 */
interface Request {
  readonly priority: Priority;
  readonly dueAt: number;
  readonly intervalMs: number | undefined;
}

/** One pending key. Entries are replaced, not edited, when re-added; the heaps skip entries no longer live. */
interface Entry extends Request {
  readonly key: string;
  readonly seq: number;
  live: boolean;
  ready: boolean;
}

interface Running {
  readonly priority: Priority;
  /** The cadence of a periodic run (it counts in the fleet's pace while it runs), else undefined. */
  readonly intervalMs: number | undefined;
  /** remove() was called during the run: the run's own retry/schedulePeriodic calls are ignored. */
  removed: boolean;
  /** Work requested while the key was in flight; queued when the run ends. */
  next: Request | undefined;
  /** The lane whose token the start spent, so refund() can give it back. */
  readonly lane: Lane;
  /** refund() was called: the token goes back when the run ends. */
  refunded: boolean;
}

/** Ready keys paced by one bucket: the global limit, or the periodic budget. */
interface Lane {
  readonly heap: Heap<Entry>;
  readonly bucket: TokenBucket;
}

function higher(a: Priority, b: Priority): Priority {
  return RANK[a] <= RANK[b] ? a : b;
}

/**
 * Two requests for one key as one: the higher priority, the earlier start. The merged run is
 * periodic only while it is routine and the periodic request is the one that sets its start
 * (ties go to the global limit): a change, a forced run or a retry that comes first is paced like
 * every other one, and a periodic run that comes first spends the periodic budget.
 */
function merged(a: Request, b: Request): Request {
  const priority = higher(a.priority, b.priority);
  const dueAt = Math.min(a.dueAt, b.dueAt);
  const first = a.dueAt < b.dueAt ? a : b.dueAt < a.dueAt ? b : a.intervalMs === undefined ? a : b;
  const intervalMs = priority === "routine" ? first.intervalMs : undefined;
  return { priority, dueAt, intervalMs };
}

function before(a: Entry, b: Entry): boolean {
  return RANK[a.priority] < RANK[b.priority] || (RANK[a.priority] === RANK[b.priority] && (a.dueAt < b.dueAt || (a.dueAt === b.dueAt && a.seq < b.seq)));
}

/**
 * Holds keys, not events: a key is pending at most once, and at most one run per key is in flight.
 * No I/O; time comes from the Clock. Not thread-safe in any sense that matters in Node: all calls
 * are synchronous and may be made from inside a worker.
 *
 * Two budgets. Periodic re-verification is what a fleet of N keys on an interval T needs, N / T
 * starts a second: it is paced by its own bucket of periodicHeadroom · Σ 1/interval (never below
 * `ratePerSecond`), recomputed as keys join and leave the cadence, so a fleet larger than
 * `ratePerSecond` · T is still refreshed on time instead of falling behind for ever. The global
 * limit (`ratePerSecond`) paces everything else: new keys, changes, forced runs and every retry,
 * the work that comes in bursts and hits dependencies that are already failing (client-go's rate
 * limiters are for retries, not routine work). Periodic starts cannot burst: their due times are
 * spread by jitter (and by resumeDelayMs after a restart), and the budget caps them at the fleet's
 * pace plus headroom.
 */
export class WorkQueue {
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly backoff: BackoffSettings;
  private readonly periodicJitter: number;
  private readonly ratePerSecond: number;
  private readonly periodicHeadroom: number;
  /** Everything but periodic work, under the global limit. */
  private readonly paced: Lane;
  /** Periodic re-verification, under the periodic budget. */
  private readonly periodic: Lane;
  /** Keys on a periodic cadence (pending periodic or running a periodic pass) and Σ 1000/interval over them. */
  private cadenceKeys = 0;
  private cadencePerSecond = 0;
  private cadenceChanged = false;
  private readonly onEvent: ((event: QueueEvent) => void) | undefined;

  private readonly pending = new Map<string, Entry>();
  private readonly running = new Map<string, Running>();
  private readonly failures = new Map<string, number>();
  private readonly delayed = new Heap<Entry>((a, b) => a.dueAt < b.dueAt || (a.dueAt === b.dueAt && a.seq < b.seq));
  private readyCount = 0;
  private seq = 0;

  private worker: QueueWorker | undefined;
  private concurrency = 0;
  private closed = false;
  private wake: { handle: TimerHandle; at: number } | undefined;
  private pumping = false;
  private pumpAgain = false;
  private drained: (() => void) | undefined;

  constructor(options: WorkQueueOptions) {
    this.clock = options.clock;
    this.random = options.random;
    this.backoff = { ...DEFAULT_QUEUE_BACKOFF, ...options.backoff };
    this.periodicJitter = options.periodicJitter ?? DEFAULT_PERIODIC_JITTER;
    const pace = { perSecond: options.ratePerSecond, burst: options.burst ?? options.ratePerSecond };
    // A burst below one would never let a start through; the shared bucket allows it (a pacer's burst is its rate).
    if (!(pace.perSecond > 0) || !(pace.burst >= 1)) throw new RangeError("token bucket needs perSecond > 0 and burst >= 1");
    this.periodicHeadroom = options.periodicHeadroom ?? DEFAULT_PERIODIC_HEADROOM;
    if (!(this.periodicHeadroom >= 1)) throw new RangeError("periodicHeadroom must be at least 1");
    this.ratePerSecond = pace.perSecond;
    const now = this.clock.now();
    this.paced = { heap: new Heap<Entry>(before), bucket: new TokenBucket(pace, now) };
    this.periodic = { heap: new Heap<Entry>(before), bucket: new TokenBucket(this.periodicPace(), now) };
    this.onEvent = options.onEvent;
  }

  /** Keys waiting to start, delayed ones included. */
  get depth(): number {
    return this.pending.size;
  }

  /** Keys whose start time has come and that wait only for a worker or a rate-limit token. */
  get readyDepth(): number {
    this.promoteDue(this.clock.now());
    return this.readyCount;
  }

  get inFlight(): number {
    return this.running.size;
  }

  /** Keys on a periodic cadence: scheduled periodically, or running such a pass. */
  get periodicKeys(): number {
    return this.cadenceKeys;
  }

  /** The periodic budget now, in starts per second. */
  get periodicRatePerSecond(): number {
    return this.periodicPace().perSecond;
  }

  /** Consecutive failures recorded for `key` (0 after succeeded or remove). */
  failureCount(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /**
   * Queues `key`. A key already pending keeps one entry whose priority is the higher and whose
   * start time is the earlier of the two; a key in flight is marked to run again once it finishes.
   * Ignored after shutdown. Idempotent.
   */
  add(key: string, options: AddOptions): void {
    this.request(key, { priority: options.priority, dueAt: this.clock.now() + Math.max(0, options.delayMs ?? 0), intervalMs: undefined });
  }

  /**
   * Schedules `key` again after a transient failure, at max(backoff, min(`notBeforeMs`, maxMs)) from now, where
   * backoff is min(maxMs, minMs·2^failures) ± jitter, and counts the failure. A forced run retries as
   * `new`: the person's request was served once, and a key that keeps failing must not stay ahead of
   * never-verified ones. As with add(), a key already pending (or re-added during its run) keeps the
   * earlier start time: a newer change is worth a call even inside a Retry-After window. Returns the
   * delay in ms, or undefined when ignored (after shutdown, or when the key was removed during its run).
   */
  retry(key: string, options: RetryOptions = {}): number | undefined {
    if (this.closed) return undefined;
    const run = this.running.get(key);
    if (run?.removed === true) return undefined;
    const failures = this.failures.get(key) ?? 0;
    const backoffMs = backoffDelayMs(this.backoff, failures, this.random);
    const notBeforeMs = options.notBeforeMs ?? 0;
    // Rounded up: "not before" must hold even for a fractional value.
    const delayMs = Number.isFinite(notBeforeMs) ? Math.max(backoffMs, Math.min(this.backoff.maxMs, Math.ceil(notBeforeMs))) : backoffMs;
    this.failures.set(key, failures + 1);
    const ran = run?.priority ?? this.pending.get(key)?.priority ?? "routine";
    const priority: Priority = ran === "forced" ? "new" : ran;
    this.emit("retried", key, priority);
    this.add(key, { priority, delayMs });
    return delayMs;
  }

  /**
   * Says the run of `key` in flight cost its dependencies nothing (every cloud answer it needed was
   * shared): the token its start spent goes back to its budget when the run ends, so work that only
   * reads shared results is bounded by concurrency, not by the rate limit, which is there to pace
   * calls. Ignored for a key not in flight.
   */
  refund(key: string): void {
    const run = this.running.get(key);
    if (run !== undefined) run.refunded = true;
  }

  /** Resets the failure count of `key`, so its next failure starts the backoff from the beginning. */
  succeeded(key: string): void {
    this.failures.delete(key);
  }

  /**
   * Drops `key` from the queue entirely (its object is gone): the pending entry, whether added,
   * retried or scheduled periodically, a re-run requested during its run, and its backoff. A run in
   * flight finishes, but its retry/schedulePeriodic calls are ignored. A later add() queues the key
   * afresh. Idempotent.
   */
  remove(key: string): void {
    const entry = this.pending.get(key);
    if (entry !== undefined) this.removePending(entry);
    const run = this.running.get(key);
    if (run !== undefined) {
      run.removed = true;
      run.next = undefined;
    }
    this.failures.delete(key);
    this.emit("dropped", key, entry?.priority ?? run?.priority ?? "routine");
  }

  /**
   * Schedules the next routine re-verification of `key` in `intervalMs` ± periodicJitter (or at
   * `options.delayMs`), under the periodic budget; the key counts in the fleet's pace at one run
   * per `intervalMs` while it keeps this cadence. Since a key is pending once, repeated calls never
   * pile up: the earliest time wins. Throws RangeError for an interval that is not positive.
   */
  schedulePeriodic(key: string, intervalMs: number, options: PeriodicOptions = {}): void {
    if (!(intervalMs > 0) || !Number.isFinite(intervalMs)) throw new RangeError("a periodic interval must be positive and finite");
    if (this.running.get(key)?.removed === true) return;
    const delayMs = options.delayMs === undefined ? jittered(intervalMs, this.periodicJitter, this.random) : Math.max(0, options.delayMs);
    this.request(key, { priority: "routine", dueAt: this.clock.now() + delayMs, intervalMs });
  }

  /**
   * Starts pulling keys: at most `concurrency` runs at once, in priority order (forced, new, routine;
   * by start time within a class), each start spending a token of its budget (the periodic one for
   * periodic re-verification, the global rate limit for the rest). A worker that rejects is
   * treated as a transient failure (retry). Throws if already running.
   */
  run(worker: QueueWorker, concurrency: number): void {
    if (this.worker !== undefined) throw new Error("work queue is already running");
    if (!(concurrency >= 1)) throw new RangeError("work queue concurrency must be at least 1");
    this.worker = worker;
    this.concurrency = concurrency;
    this.pump();
  }

  /**
   * Stops starting work and discards pending keys, then waits up to `drainTimeoutMs` for runs in
   * flight. Resolves with the keys still in flight at the deadline (empty when all finished).
   */
  shutdown(options: { drainTimeoutMs: number }): Promise<string[]> {
    this.closed = true;
    this.clock.clearTimeout(this.wake?.handle);
    this.wake = undefined;
    for (const entry of [...this.pending.values()]) this.removePending(entry);
    if (this.running.size === 0) return Promise.resolve([]);
    return new Promise((resolve) => {
      const timer = this.clock.setTimeout(() => {
        this.drained = undefined;
        resolve([...this.running.keys()].sort());
      }, options.drainTimeoutMs);
      this.drained = () => {
        this.clock.clearTimeout(timer);
        resolve([]);
      };
    });
  }

  /** add() and schedulePeriodic(): queues the request, or keeps it for after the key's run in flight. */
  private request(key: string, req: Request): void {
    if (this.closed) return;
    const run = this.running.get(key);
    if (run !== undefined) {
      run.next = run.next === undefined ? req : merged(run.next, req);
      return;
    }
    this.enqueue(key, req);
    this.pump();
  }

  private enqueue(key: string, req: Request): void {
    const existing = this.pending.get(key);
    let entry: Entry;
    if (existing === undefined) {
      entry = { key, priority: req.priority, dueAt: req.dueAt, intervalMs: req.intervalMs, seq: this.seq++, live: true, ready: false };
    } else {
      const next = merged(existing, req);
      if (next.priority === existing.priority && next.dueAt === existing.dueAt && next.intervalMs === existing.intervalMs) return;
      this.removePending(existing);
      // Keeps its place among equals: a raised key was waiting since its first add.
      entry = { key, ...next, seq: existing.seq, live: true, ready: false };
    }
    this.pending.set(key, entry);
    this.joinCadence(entry.intervalMs, 1);
    if (entry.dueAt <= this.clock.now()) this.pushReady(entry);
    else this.delayed.push(entry);
    this.compact();
    if (existing === undefined) this.emit("added", key, req.priority);
  }

  private removePending(entry: Entry): void {
    entry.live = false;
    if (entry.ready) this.readyCount--;
    this.pending.delete(entry.key);
    this.joinCadence(entry.intervalMs, -1);
  }

  /** Counts a key into (+1) or out of (-1) the fleet's periodic pace. */
  private joinCadence(intervalMs: number | undefined, sign: 1 | -1): void {
    if (intervalMs === undefined) return;
    this.cadenceKeys += sign;
    // Recomputed from zero when the cadence empties, so float drift from many joins and leaves cannot accumulate.
    this.cadencePerSecond = this.cadenceKeys === 0 ? 0 : this.cadencePerSecond + (sign * 1000) / intervalMs;
    this.cadenceChanged = true;
  }

  /** The periodic budget: the fleet's pace plus headroom, never below the global rate, one second of burst. */
  private periodicPace(): { perSecond: number; burst: number } {
    const perSecond = Math.max(this.ratePerSecond, this.periodicHeadroom * this.cadencePerSecond);
    return { perSecond, burst: Math.max(1, perSecond) };
  }

  private laneOf(entry: Entry): Lane {
    return entry.intervalMs === undefined ? this.paced : this.periodic;
  }

  private pushReady(entry: Entry): void {
    entry.ready = true;
    this.readyCount++;
    this.laneOf(entry).heap.push(entry);
  }

  /** Replaced entries stay in the heaps until popped; rebuild when they outnumber live ones. */
  private compact(): void {
    const live = this.pending.size;
    if (this.delayed.size + this.paced.heap.size + this.periodic.heap.size > 2 * live + 64) {
      this.delayed.retain((e) => e.live && !e.ready);
      this.paced.heap.retain((e) => e.live);
      this.periodic.heap.retain((e) => e.live);
    }
  }

  private promoteDue(now: number): void {
    for (let e = this.delayed.peek(); e !== undefined; e = this.delayed.peek()) {
      if (e.live && e.dueAt > now) return;
      this.delayed.pop();
      if (e.live) this.pushReady(e);
    }
  }

  private nextReady(lane: Lane): Entry | undefined {
    for (let e = lane.heap.peek(); e !== undefined; e = lane.heap.peek()) {
      if (e.live) return e;
      lane.heap.pop();
    }
    return undefined;
  }

  private nextDelayedDue(): number | undefined {
    for (let e = this.delayed.peek(); e !== undefined; e = this.delayed.peek()) {
      if (e.live) return e.dueAt;
      this.delayed.pop();
    }
    return undefined;
  }

  /** Promotes due keys, starts what capacity and tokens allow, and arms one timer for the next change. */
  private pump(): void {
    // onEvent or a synchronous add from a callback may re-enter; finish this pass, then run again.
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        this.pumpOnce();
      } while (this.pumpAgain);
    } finally {
      this.pumping = false;
    }
  }

  private pumpOnce(): void {
    if (this.closed) return;
    const now = this.clock.now();
    this.promoteDue(now);
    let tokenAt: number | undefined;
    const worker = this.worker;
    if (worker !== undefined) {
      while (this.running.size < this.concurrency) {
        this.repacePeriodic(now);
        // The better of the two lanes' heads goes first; when its budget is spent, the other lane's
        // head may still go on its own budget, so neither class waits for the other's tokens.
        const heads = [this.paced, this.periodic].flatMap((lane) => {
          const entry = this.nextReady(lane);
          return entry === undefined ? [] : [{ lane, entry }];
        });
        if (heads.length === 0) break;
        heads.sort((a, b) => (before(a.entry, b.entry) ? -1 : 1));
        const go = heads.find((h) => h.lane.bucket.tryTake(now));
        if (go === undefined) {
          tokenAt = now + Math.min(...heads.map((h) => h.lane.bucket.msUntilToken(now)));
          break;
        }
        go.lane.heap.pop();
        this.removePending(go.entry);
        this.start(worker, go.entry, go.lane);
      }
    }
    const dueAt = this.nextDelayedDue();
    const wakeAt = tokenAt === undefined ? dueAt : dueAt === undefined ? tokenAt : Math.min(tokenAt, dueAt);
    this.arm(wakeAt);
  }

  private arm(at: number | undefined): void {
    if (this.wake?.at === at) return;
    this.clock.clearTimeout(this.wake?.handle);
    this.wake = undefined;
    if (at === undefined) return;
    const handle = this.clock.setTimeout(() => {
      this.wake = undefined;
      this.pump();
    }, at - this.clock.now());
    this.wake = { handle, at };
  }

  /** Moves the periodic bucket to the fleet's current pace; time until now counts at the old rate. */
  private repacePeriodic(now: number): void {
    if (!this.cadenceChanged) return;
    this.cadenceChanged = false;
    this.periodic.bucket.refill(now);
    this.periodic.bucket.setRate(this.periodicPace());
  }

  private start(worker: QueueWorker, entry: Entry, lane: Lane): void {
    // A periodic run still counts in the fleet's pace: it is on its cadence until it finishes.
    this.joinCadence(entry.intervalMs, 1);
    this.running.set(entry.key, { priority: entry.priority, intervalMs: entry.intervalMs, removed: false, next: undefined, lane, refunded: false });
    this.emit("started", entry.key, entry.priority);
    // Deferred so a worker that calls back into the queue synchronously never runs inside pump().
    void Promise.resolve()
      .then(() => worker(entry.key))
      .then(
        () => this.finish(entry.key, false),
        () => this.finish(entry.key, true),
      );
  }

  private finish(key: string, failed: boolean): void {
    const run = this.running.get(key);
    if (run === undefined) return;
    // A worker that throws has not recorded its failure; retrying keeps the key from being lost or spinning.
    if (failed) this.retry(key);
    else if (run.refunded) run.lane.bucket.giveBack();
    this.running.delete(key);
    this.joinCadence(run.intervalMs, -1);
    this.emit("done", key, run.priority);
    if (run.next !== undefined && !this.closed) this.enqueue(key, run.next);
    if (this.running.size === 0 && this.drained !== undefined) {
      const drained = this.drained;
      this.drained = undefined;
      drained();
    }
    this.pump();
  }

  private emit(type: QueueEventType, key: string, priority: Priority): void {
    this.onEvent?.({ type, key, priority });
  }
}
