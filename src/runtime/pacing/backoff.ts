// Exponential backoff and jitter arithmetic shared by the work queue, the watch loop and leader election (pure).

export interface BackoffSettings {
  /** Delay after the first failure. */
  minMs: number;
  /** Longest delay before jitter. */
  maxMs: number;
  /** Spread as a fraction of the delay: 0.2 means ±20%. */
  jitter: number;
}

/**
 * Delay before retry number `failures + 1` (failures counted before this one, so 0 gives `minMs`):
 * min(maxMs, minMs · 2^failures), spread by ±jitter. `random` returns [0, 1); 0.5 means no spread.
 * Pure and idempotent.
 */
export function backoffDelayMs(settings: BackoffSettings, failures: number, random: () => number): number {
  // Cap the exponent so 2^failures never overflows into Infinity for a key that fails for days.
  const exponent = Math.min(Math.max(0, failures), 40);
  const base = Math.min(settings.maxMs, settings.minMs * 2 ** exponent);
  return jittered(base, settings.jitter, random);
}

/** `valueMs` spread by ±`fraction` (random 0.5 → exactly `valueMs`), never negative, rounded to whole ms. */
export function jittered(valueMs: number, fraction: number, random: () => number): number {
  return Math.max(0, Math.round(valueMs * (1 + fraction * (2 * random() - 1))));
}
