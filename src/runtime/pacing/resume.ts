// When a key on a periodic cadence runs next after a restart or a takeover, from the time it last ran (pure): no fleet-wide burst.
import { fnv1a32 } from "../fnv1a.js";

// Salted, so the fraction is not the shard hash (shardOf) in disguise: keys of one shard still spread over the whole range.
const SALT = "resume:";

/**
 * A number in [0, 1) fixed for `key` (FNV-1a of the key). Pure. Deterministic on purpose: the two
 * events that see a key at startup (the list, then the shard's lease) must agree on one time, or
 * the queue keeps the earlier of two draws and the spread bunches up at its start.
 */
export function keyFraction(key: string): number {
  return fnv1a32(SALT + key) / 2 ** 32;
}

export interface ResumeInput {
  /** When the key last ran to a settled answer (e.g. a stored lastVerified), ms since the epoch. */
  lastMs: number;
  nowMs: number;
  intervalMs: number;
  /** Spread as a fraction of the interval, added after it: 0.1 means up to 10% later. */
  jitter: number;
  /** In [0, 1): where in the spread this key falls (keyFraction). */
  fraction: number;
}

/**
 * Milliseconds from now until the key's next run: `lastMs + intervalMs · (1 + jitter · fraction)`
 * when that is still ahead; a key already overdue (the process was down for longer than the
 * interval) gets `fraction · intervalMs` instead, so a fleet that is all overdue is spread over one
 * interval rather than fired at once. The jitter only adds: a restart never runs a key sooner than
 * one interval after its last run. A `lastMs` in the future (a skewed clock, a hand edit) counts as
 * now, so it cannot silence a key. Pure; never negative; whole ms.
 */
export function resumeDelayMs(input: ResumeInput): number {
  const { nowMs, intervalMs, jitter, fraction } = input;
  const lastMs = Math.min(input.lastMs, nowMs);
  const dueMs = lastMs + intervalMs * (1 + jitter * fraction);
  if (dueMs > nowMs) return Math.ceil(dueMs - nowMs);
  return Math.floor(fraction * intervalMs);
}
