// A sleep on the injected clock that `stop()` can cut short, for loops that wait between attempts (lease retries, watch restarts).
import type { Clock, TimerHandle } from "./clock.js";

/** One sleep at a time (a loop's); no I/O beyond the clock's timer. */
export class Sleeper {
  private pending: { handle: TimerHandle; wake: () => void } | undefined;

  constructor(private readonly clock: Clock) {}

  /** Resolves after `ms` on the clock, or at once when `wake` is called first. Never rejects. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        this.pending = undefined;
        resolve();
      };
      this.pending = { handle: this.clock.setTimeout(wake, ms), wake };
    });
  }

  /** Ends the current sleep now (its timer cleared); a no-op when nothing sleeps. Idempotent. */
  wake(): void {
    if (this.pending === undefined) return;
    this.clock.clearTimeout(this.pending.handle);
    this.pending.wake();
  }
}
