// The controller's work queue: deduplicated upstream keys with priorities, delays, per-key backoff, a global rate limit and bounded concurrency.
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

export interface WorkQueueOptions {
  clock: Clock;
  random: () => number;
  /** Per-key retry delays; defaults 1 s → 5 min, ±20%. */
  backoff?: Partial<BackoffSettings>;
  /** Work starts per second across all keys. */
  ratePerSecond: number;
  /** Starts that may happen at once after a quiet period (default `ratePerSecond`). */
  burst?: number;
  /** Spread of periodic re-verification as a fraction of the interval (default 0.1 = ±10%). */
  periodicJitter?: number;
  /** Called synchronously for every queue event, e.g. to feed metrics; must not throw. */
  onEvent?: (event: QueueEvent) => void;
}

export const DEFAULT_QUEUE_BACKOFF: BackoffSettings = { minMs: 1000, maxMs: 300_000, jitter: 0.2 };

const RANK: Record<Priority, number> = { forced: 0, new: 1, routine: 2 };

/** One pending key. Entries are replaced, not edited, when re-added; the heaps skip entries no longer live. */
interface Entry {
  readonly key: string;
  readonly priority: Priority;
  readonly dueAt: number;
  readonly seq: number;
  live: boolean;
  ready: boolean;
}

interface Running {
  readonly priority: Priority;
  /** remove() was called during the run: the run's own retry/schedulePeriodic calls are ignored. */
  removed: boolean;
  /** Work requested while the key was in flight; queued when the run ends. */
  next: { priority: Priority; dueAt: number } | undefined;
}

function higher(a: Priority, b: Priority): Priority {
  return RANK[a] <= RANK[b] ? a : b;
}

/**
 * Holds keys, not events: a key is pending at most once, and at most one run per key is in flight.
 * No I/O; time comes from the Clock. Not thread-safe in any sense that matters in Node: all calls
 * are synchronous and may be made from inside a worker.
 */
export class WorkQueue {
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly backoff: BackoffSettings;
  private readonly periodicJitter: number;
  private readonly bucket: TokenBucket;
  private readonly onEvent: ((event: QueueEvent) => void) | undefined;

  private readonly pending = new Map<string, Entry>();
  private readonly running = new Map<string, Running>();
  private readonly failures = new Map<string, number>();
  private readonly delayed = new Heap<Entry>((a, b) => a.dueAt < b.dueAt || (a.dueAt === b.dueAt && a.seq < b.seq));
  private readonly ready = new Heap<Entry>(
    (a, b) => RANK[a.priority] < RANK[b.priority] || (RANK[a.priority] === RANK[b.priority] && (a.dueAt < b.dueAt || (a.dueAt === b.dueAt && a.seq < b.seq))),
  );
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
    this.periodicJitter = options.periodicJitter ?? 0.1;
    const pace = { perSecond: options.ratePerSecond, burst: options.burst ?? options.ratePerSecond };
    // A burst below one would never let a start through; the shared bucket allows it (a pacer's burst is its rate).
    if (!(pace.perSecond > 0) || !(pace.burst >= 1)) throw new RangeError("token bucket needs perSecond > 0 and burst >= 1");
    this.bucket = new TokenBucket(pace, this.clock.now());
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
    if (this.closed) return;
    const dueAt = this.clock.now() + Math.max(0, options.delayMs ?? 0);
    const run = this.running.get(key);
    if (run !== undefined) {
      const next = run.next;
      run.next = next === undefined ? { priority: options.priority, dueAt } : { priority: higher(next.priority, options.priority), dueAt: Math.min(next.dueAt, dueAt) };
      return;
    }
    this.enqueue(key, options.priority, dueAt);
    this.pump();
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
   * Schedules the next routine re-verification of `key` in `intervalMs` ± periodicJitter. Since a
   * key is pending once, repeated calls never pile up: the earliest time wins.
   */
  schedulePeriodic(key: string, intervalMs: number): void {
    if (this.running.get(key)?.removed === true) return;
    this.add(key, { priority: "routine", delayMs: jittered(intervalMs, this.periodicJitter, this.random) });
  }

  /**
   * Starts pulling keys: at most `concurrency` runs at once, in priority order (forced, new, routine;
   * by start time within a class), each start spending a rate-limit token. A worker that rejects is
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

  private enqueue(key: string, priority: Priority, dueAt: number): void {
    const existing = this.pending.get(key);
    let entry: Entry;
    if (existing === undefined) {
      entry = { key, priority, dueAt, seq: this.seq++, live: true, ready: false };
    } else {
      const merged = higher(existing.priority, priority);
      const mergedDue = Math.min(existing.dueAt, dueAt);
      if (merged === existing.priority && mergedDue === existing.dueAt) return;
      this.removePending(existing);
      // Keeps its place among equals: a raised key was waiting since its first add.
      entry = { key, priority: merged, dueAt: mergedDue, seq: existing.seq, live: true, ready: false };
    }
    this.pending.set(key, entry);
    if (entry.dueAt <= this.clock.now()) this.pushReady(entry);
    else this.delayed.push(entry);
    this.compact();
    if (existing === undefined) this.emit("added", key, priority);
  }

  private removePending(entry: Entry): void {
    entry.live = false;
    if (entry.ready) this.readyCount--;
    this.pending.delete(entry.key);
  }

  private pushReady(entry: Entry): void {
    entry.ready = true;
    this.readyCount++;
    this.ready.push(entry);
  }

  /** Replaced entries stay in the heaps until popped; rebuild when they outnumber live ones. */
  private compact(): void {
    const live = this.pending.size;
    if (this.delayed.size + this.ready.size > 2 * live + 64) {
      this.delayed.retain((e) => e.live && !e.ready);
      this.ready.retain((e) => e.live);
    }
  }

  private promoteDue(now: number): void {
    for (let e = this.delayed.peek(); e !== undefined; e = this.delayed.peek()) {
      if (e.live && e.dueAt > now) return;
      this.delayed.pop();
      if (e.live) this.pushReady(e);
    }
  }

  private nextReady(): Entry | undefined {
    for (let e = this.ready.peek(); e !== undefined; e = this.ready.peek()) {
      if (e.live) return e;
      this.ready.pop();
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
        const entry = this.nextReady();
        if (entry === undefined) break;
        if (!this.bucket.tryTake(now)) {
          tokenAt = now + this.bucket.msUntilToken(now);
          break;
        }
        this.ready.pop();
        this.removePending(entry);
        this.start(worker, entry);
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

  private start(worker: QueueWorker, entry: Entry): void {
    this.running.set(entry.key, { priority: entry.priority, removed: false, next: undefined });
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
    this.running.delete(key);
    this.emit("done", key, run.priority);
    if (run.next !== undefined && !this.closed) this.enqueue(key, run.next.priority, run.next.dueAt);
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
