// Time as the cloud layer sees it: an injectable clock and sleep, so caches and pacing are testable without waiting.

/** Milliseconds since the epoch (or any monotonic origin); `Date.now` in production. */
export type Clock = () => number;

/** Resolves after `ms` milliseconds; a fake in tests advances a fake clock instead. */
export type Sleep = (ms: number) => Promise<void>;

/** The real sleep; unref'd so a pending wait never keeps the process alive. */
export function realSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)).unref());
}
