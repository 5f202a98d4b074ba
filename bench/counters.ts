// Call counts as the fleet bench reports them: operation → calls, every outcome summed.
export type Calls = Record<string, number>;

/** Every counter of one emulator as `operation → calls` (every outcome). */
export function snapshotOps(counters: { snapshot(): Record<string, Record<string, number>> }): Calls {
  const out: Calls = {};
  for (const [op, outcomes] of Object.entries(counters.snapshot())) out[op] = Object.values(outcomes).reduce((a, b) => a + b, 0);
  return out;
}
