// Time as a dependency: the controller plumbing reads time and sets timers only through a Clock, so tests can drive it.

/** An opaque timer id; only the clock that made it can clear it. */
export interface TimerHandle {
  readonly id: number;
}

export interface Clock {
  /** Milliseconds since the epoch (like Date.now()). */
  now(): number;
  /** Runs `fn` once after `ms` milliseconds (0 when negative). */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer; a no-op for a timer that already ran or was cleared. */
  clearTimeout(handle: TimerHandle | undefined): void;
}

/** The real clock: Date.now() and Node timers. Each call makes an independent instance (no shared state). */
export function createSystemClock(): Clock {
  const timers = new Map<number, NodeJS.Timeout>();
  let nextId = 1;
  return {
    now: () => Date.now(),
    setTimeout(fn, ms) {
      const id = nextId++;
      const timer = setTimeout(() => {
        timers.delete(id);
        fn();
      }, Math.max(0, ms));
      timers.set(id, timer);
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
 */
export class FakeClock implements Clock {
  private current: number;
  private nextId = 1;
  private readonly timers = new Map<number, FakeTimer>();

  constructor(startMs = 1_700_000_000_000) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

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
