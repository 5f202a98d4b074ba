// Counts the calls an emulator served, by operation and outcome, for tests and benchmarks.

export class CallCounters {
  private readonly counts = new Map<string, number>();

  /** Records one call; `outcome` is e.g. "ok", "error", "throttled", "denied". */
  record(operation: string, outcome = "ok"): void {
    const key = `${operation}|${outcome}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  /** Calls of `operation` (every outcome unless one is named). */
  get(operation: string, outcome?: string): number {
    let total = 0;
    for (const [key, n] of this.counts) {
      const [op, out] = key.split("|");
      if (op === operation && (outcome === undefined || out === outcome)) total += n;
    }
    return total;
  }

  total(): number {
    let total = 0;
    for (const n of this.counts.values()) total += n;
    return total;
  }

  /** `{ operation: { outcome: count } }`, for the admin endpoint. */
  snapshot(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    for (const [key, n] of this.counts) {
      const [op = "", outcome = ""] = key.split("|");
      (out[op] ??= {})[outcome] = n;
    }
    return out;
  }

  reset(): void {
    this.counts.clear();
  }
}
