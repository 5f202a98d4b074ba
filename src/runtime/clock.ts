// Time as an injected dependency for every layer: the Clock interface, the real clock and a fake for tests.
// They sit in runtime/, beneath every layer; model/ never reads a clock (time is passed in). Nothing here reads
// the clock at import time — only a clock built by `createSystemClock()`, when its methods are called, does.

/** An opaque timer id; only the clock that made it can clear it. */
export interface TimerHandle {
  readonly id: number;
}

/** The few time operations the secret sources, the cloud layer and the controller plumbing use. */
export interface Clock {
  /** Milliseconds since the epoch (like Date.now()): for timestamps others read. */
  now(): number;
  /**
   * Milliseconds on a clock that only moves forward at a steady rate, never stepped by NTP or an
   * operator (like performance.now()); for deadlines a safety property rests on. Its zero is arbitrary.
   */
  monotonicNow(): number;
  /** Runs `fn` once, when monotonicNow() has advanced by `ms` milliseconds (0 when negative). */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer; a no-op for a timer that already ran or was cleared, or for `undefined`. */
  clearTimeout(handle: TimerHandle | undefined): void;
  /**
   * A wait someone is awaiting (a paced call, a retry). Unlike background timers it keeps the
   * process alive: a one-shot `credbroker check` must not exit in the middle of a paced sweep.
   * Optional: clocks without it (the FakeClock) wait on their own timers.
   */
  sleep?: (ms: number) => Promise<void>;
}

/** A number in [0, 1), as Math.random; injected so jitter is deterministic in tests. */
export type Random = () => number;

/** Resolves after `ms` milliseconds; a fake in tests advances a fake clock instead. */
export type Sleep = (ms: number) => Promise<void>;

/** A Sleep on `clock`: its own `sleep` when it has one (the system clock's keeps the process alive), else its timers. */
export function sleepOn(clock: Clock): Sleep {
  const own = clock.sleep;
  if (own !== undefined) return (ms) => own(ms);
  return (ms) => new Promise<void>((resolve) => clock.setTimeout(resolve, ms));
}

/** Node's largest timer delay; a longer one would fire after 1 ms (with a TimeoutOverflowWarning). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The real clock: Date.now() for timestamps, performance.now() for monotonic time, and Node timers
 * that wait for monotonic time (longer waits in chunks of Node's maximum delay), unref'd so a
 * pending timer (token renewal, a poll, a backoff) never keeps a stopped broker's process alive.
 * Each call makes an independent instance (no shared state). Reads the time only when its methods
 * are called.
 */
export function createSystemClock(): Clock {
  const timers = new Map<number, NodeJS.Timeout>();
  let nextId = 1;
  return {
    now: () => Date.now(),
    monotonicNow: () => performance.now(),
    sleep: async (ms) => {
      let left = Math.max(0, ms);
      do {
        const step = Math.min(MAX_TIMER_MS, left);
        await new Promise<void>((resolve) => setTimeout(resolve, step));
        left -= step;
      } while (left > 0);
    },
    setTimeout(fn, ms) {
      const id = nextId++;
      const dueAt = performance.now() + Math.max(0, ms);
      // Node's timers count whole milliseconds of the event loop's cached time and may fire a
      // fraction early; a deadline check in `fn` would then see "not yet" with no timer left to
      // retry. So a timer that runs early (or a chunk of a very long wait) waits out the rest.
      const arm = (delayMs: number): void => {
        const timer = setTimeout(() => {
          const early = dueAt - performance.now();
          if (early > 0) return arm(early);
          timers.delete(id);
          fn();
        }, Math.min(MAX_TIMER_MS, delayMs));
        timer.unref();
        timers.set(id, timer);
      };
      arm(Math.max(0, ms));
      return { id };
    },
    clearTimeout(handle) {
      if (handle === undefined) return;
      const timer = timers.get(handle.id);
      if (timer !== undefined) {
        clearTimeout(timer);
        timers.delete(handle.id);
      }
    },
  };
}

interface FakeTimer {
  id: number;
  dueAt: number;
  fn: () => void;
}

/** Lets queued promise callbacks run: a macrotask turn drains every pending microtask first. */
function flushMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * A manual clock for tests. Time only moves through `advance`/`advanceAsync`, which run due timers
 * in due-time order (ties in the order they were set), with `now()` equal to each timer's due time
 * while it runs; timers set by a running timer fire in the same call when they fall due within it.
 * `now` is bound, so `clock.now` can be handed on as a plain `() => number` (the emulators take one).
 */
export class FakeClock implements Clock {
  private current: number;
  private nextId = 1;
  private readonly timers = new Map<number, FakeTimer>();

  constructor(startMs = 1_700_000_000_000) {
    this.current = startMs;
  }

  readonly now = (): number => this.current;

  /** Fake time never steps back, so it is its own monotonic clock. */
  readonly monotonicNow = (): number => this.current;

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    this.timers.set(id, { id, dueAt: this.current + Math.max(0, ms), fn });
    return { id };
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    if (handle !== undefined) this.timers.delete(handle.id);
  }

  /** Timers not yet run. */
  get pendingTimers(): number {
    return this.timers.size;
  }

  /** Moves time forward by `ms`, running due timers synchronously (no promise callbacks run in between). */
  advance(ms: number): void {
    const target = this.current + ms;
    for (let t = this.nextDue(target); t !== undefined; t = this.nextDue(target)) this.fire(t);
    this.current = target;
  }

  /**
   * Moves time forward by `ms` like `advance`, but lets pending promise callbacks run before, between
   * and after timers, so async code woken by a timer can set its next timer in time.
   */
  async advanceAsync(ms: number): Promise<void> {
    const target = this.current + ms;
    await flushMicrotasks();
    for (let t = this.nextDue(target); t !== undefined; t = this.nextDue(target)) {
      this.fire(t);
      await flushMicrotasks();
    }
    this.current = target;
    await flushMicrotasks();
  }

  private nextDue(limit: number): FakeTimer | undefined {
    let best: FakeTimer | undefined;
    for (const t of this.timers.values()) {
      if (t.dueAt <= limit && (best === undefined || t.dueAt < best.dueAt || (t.dueAt === best.dueAt && t.id < best.id))) best = t;
    }
    return best;
  }

  private fire(timer: FakeTimer): void {
    this.timers.delete(timer.id);
    this.current = Math.max(this.current, timer.dueAt);
    timer.fn();
  }
}
