// The credbroker_upstreams{state} gauge, kept by difference: each upstream's last published state, so the fleet is never rescanned.
import type { Metrics } from "../observability/metrics.js";

/** In memory; no I/O beyond the gauge. */
export class UpstreamStates {
  private readonly states = new Map<string, string>();

  constructor(private readonly gauge: Metrics["upstreamsByState"]) {}

  /** Sets (or with undefined, clears) the state counted for `key`. */
  set(key: string, state: string | undefined): void {
    const before = this.states.get(key);
    if (before === state) return;
    if (before !== undefined) this.gauge.dec({ state: before });
    if (state === undefined) this.states.delete(key);
    else {
      this.states.set(key, state);
      this.gauge.inc({ state });
    }
  }

  keys(): string[] {
    return [...this.states.keys()];
  }
}
