// Time and randomness as injected dependencies, so token renewal and polling can be tested without sleeping.

/** An opaque timer handle; only the clock that made it can cancel it. */
export type TimerHandle = object;

/** The few time operations the secret sources use. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs `fn` once after `delayMs`. The timer never keeps the process alive. */
  setTimeout(fn: () => void, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** A number in [0, 1), as Math.random; injected so jitter is deterministic in tests. */
export type Random = () => number;

/** The real clock: Date.now and unref'd Node timers (background renewal must not hold the process open). */
export function createSystemClock(): Clock {
  return {
    now: () => Date.now(),
    setTimeout: (fn, delayMs) => {
      const t = setTimeout(fn, Math.max(0, delayMs));
      t.unref();
      return t;
    },
    clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  };
}
