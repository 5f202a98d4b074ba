// Test helper: a Clock whose time and timers move only when the test says so.
import type { Clock, TimerHandle } from "../../src/secrets/clock.js";

export const START_MS = Date.parse("2026-01-01T00:00:00Z");

interface Timer {
  atMs: number;
  fn: () => void;
}

/** A manual clock; pass `clock.now` to the Vault emulator so broker and Vault share one time line. */
export class ManualClock implements Clock {
  nowMs = START_MS;
  private readonly timers = new Map<TimerHandle, Timer>();

  readonly now = (): number => this.nowMs;

  setTimeout(fn: () => void, delayMs: number): TimerHandle {
    const handle = {};
    this.timers.set(handle, { atMs: this.nowMs + Math.max(0, delayMs), fn });
    return handle;
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers.delete(handle);
  }

  /** Timers waiting to fire. */
  get pending(): number {
    return this.timers.size;
  }

  /** Moves time forward by `ms`, firing due timers in time order, each at its own instant. */
  advance(ms: number): void {
    const target = this.nowMs + ms;
    for (;;) {
      let next: [TimerHandle, Timer] | undefined;
      for (const entry of this.timers) if (entry[1].atMs <= target && (next === undefined || entry[1].atMs < next[1].atMs)) next = entry;
      if (next === undefined) break;
      this.timers.delete(next[0]);
      this.nowMs = Math.max(this.nowMs, next[1].atMs);
      next[1].fn();
    }
    this.nowMs = target;
  }
}
