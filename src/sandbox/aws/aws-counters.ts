// Call counters that also keep a breakdown per account and region, since AWS quotas are per account-region.
import { CallCounters } from "../common/counters.js";

export type AwsOutcome = "ok" | "denied" | "throttled" | "error" | "hung";

/** The AWS counters keep five outcomes: an injected outage (a dropped connection) counts as an error, and so would a conflict (AWS has none). */
export function awsOutcomeOf(fault: "outage" | "throttled" | "error" | "denied" | "hung" | "conflict"): AwsOutcome {
  return fault === "outage" || fault === "conflict" ? "error" : fault;
}

/** CallCounters (overall counts, admin endpoint) plus `callsFor(op, account, region)`. */
export class AwsCallCounters extends CallCounters {
  private readonly scoped = new Map<string, number>();

  /** Records one call overall and, when the caller's account is known, for its account and region. */
  recordScoped(operation: string, outcome: AwsOutcome, accountId: string | undefined, region: string | undefined): void {
    this.record(operation, outcome);
    if (accountId === undefined || region === undefined) return;
    const key = `${operation}|${accountId}|${region}|${outcome}`;
    this.scoped.set(key, (this.scoped.get(key) ?? 0) + 1);
  }

  /** Calls of `operation` by callers of `accountId` in `region` (every outcome unless one is named). */
  callsFor(operation: string, accountId: string, region: string, outcome?: AwsOutcome): number {
    let total = 0;
    for (const [key, n] of this.scoped) {
      const [op, account, reg, out] = key.split("|");
      if (op === operation && account === accountId && reg === region && (outcome === undefined || out === outcome)) total += n;
    }
    return total;
  }

  override reset(): void {
    super.reset();
    this.scoped.clear();
  }
}
