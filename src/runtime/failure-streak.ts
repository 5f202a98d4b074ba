// Streaks of failures of one dependency: opened by the first failure, closed when what failed works again, so a standing fault is logged and counted once rather than once per attempt.

/** How a streak ended, for its closing log line. */
export interface StreakSummary {
  /** Failures recorded from the streak's first to its last. */
  failures: number;
  /** From the first failure to the end of the streak. */
  durationMs: number;
  /** `succeeded`: every key that failed worked again; `quiet`: the keys left did not fail again for `quietMs` (never tried again, e.g. the upstream was deleted). */
  ended: "succeeded" | "quiet";
}

export interface FailureStreakOptions<Detail> {
  /** Milliseconds on any clock that does not run backwards. */
  now: () => number;
  /** The streak's first failure. */
  onStart: (first: Detail) => void;
  onEnd: (summary: StreakSummary) => void;
  /** A key that has not failed again for this long no longer holds the streak open. Default 15 min, above the longest retry backoff (5 min). */
  quietMs?: number;
}

const DEFAULT_QUIET_MS = 15 * 60_000;

/**
 * One dependency's failure streak, tracked per key (what failed: a Secret, a Vault path). A
 * success ends the streak only once every key that failed during it has worked again: a success
 * elsewhere says nothing about the key still failing, and ending on it would open a new streak (a
 * new log line, a new count) at the next failure. No I/O; the callbacks run synchronously.
 */
export class FailureStreak<Detail> {
  private open: { sinceMs: number; failures: number; failing: Map<string, number> } | undefined;

  constructor(private readonly options: FailureStreakOptions<Detail>) {}

  /** Whether a streak is open now. */
  get active(): boolean {
    return this.open !== undefined;
  }

  /** Records a failure of `key`; opens the streak (and calls onStart) when none is open. Returns whether it opened one. */
  failed(key: string, detail: Detail): boolean {
    const now = this.options.now();
    this.closeIfQuiet(now);
    const open = this.open;
    if (open !== undefined) {
      open.failures++;
      open.failing.set(key, now);
      return false;
    }
    this.open = { sinceMs: now, failures: 1, failing: new Map([[key, now]]) };
    this.options.onStart(detail);
    return true;
  }

  /** Records that `key` works; ends the streak (and calls onEnd) when no key of it is still failing. */
  succeeded(key: string): void {
    const open = this.open;
    if (open === undefined) return;
    const now = this.options.now();
    if (open.failing.delete(key) && open.failing.size === 0) this.close(now, "succeeded");
    else this.closeIfQuiet(now);
  }

  private closeIfQuiet(now: number): void {
    const open = this.open;
    if (open === undefined) return;
    const quietMs = this.options.quietMs ?? DEFAULT_QUIET_MS;
    for (const [key, lastMs] of open.failing) if (now - lastMs >= quietMs) open.failing.delete(key);
    if (open.failing.size === 0) this.close(now, "quiet");
  }

  private close(now: number, ended: StreakSummary["ended"]): void {
    const open = this.open;
    if (open === undefined) return;
    this.open = undefined;
    this.options.onEnd({ failures: open.failures, durationMs: now - open.sinceMs, ended });
  }
}
