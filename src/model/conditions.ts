// Kubernetes-style conditions of credbroker's status entry, and how one pass's outcomes become conditions.
import { isTransientReason, type Reason } from "./reasons.js";
import { truncateUtf8 } from "./text.js";

export const CONDITION_TYPES = ["SecretResolved", "Authenticated", "DiscoveryPermitted", "FunctionsDiscovered"] as const;
export type ConditionType = (typeof CONDITION_TYPES)[number];
export type ConditionStatus = "True" | "False" | "Unknown";

/** What a reconcile pass concluded for one condition; the time is added when it becomes a Condition. */
export interface ConditionOutcome {
  type: ConditionType;
  status: ConditionStatus;
  reason: Reason;
  /** One human sentence; never secret material. Capped at MAX_MESSAGE_BYTES. */
  message: string;
  /**
   * How a `False` weighs on the state: `error` makes the upstream Rejected, `warning` makes it
   * Warning. Defaults by type: the secret and authentication are errors, discovery is a warning
   * (the gateway still routes the functions a person listed by hand).
   */
  severity?: "error" | "warning";
}

export interface Condition {
  type: ConditionType;
  status: ConditionStatus;
  reason: Reason;
  message: string;
  /** RFC 3339; changes only when `status` changes. */
  lastTransitionTime: string;
}

export const MAX_MESSAGE_BYTES = 1024;

const DEFAULT_SEVERITY: Record<ConditionType, "error" | "warning"> = {
  SecretResolved: "error",
  Authenticated: "error",
  DiscoveryPermitted: "warning",
  FunctionsDiscovered: "warning",
};

/** Reasons that mean "done, but not fully": a True condition with one of these makes the state Warning. */
export const WARNING_REASONS: ReadonlySet<Reason> = new Set<Reason>(["FunctionListTruncated", "FunctionKeyStale"]);

export function severityOf(outcome: ConditionOutcome): "error" | "warning" {
  return outcome.severity ?? DEFAULT_SEVERITY[outcome.type];
}

/** An Unknown outcome caused by a passing fault (source down, throttled, timeout): the last verdict stands. */
export function isTransientOutcome(outcome: ConditionOutcome): boolean {
  return outcome.status === "Unknown" && isTransientReason(outcome.reason);
}

/**
 * Turns this pass's outcomes into conditions, in CONDITION_TYPES order. A condition keeps its
 * previous `lastTransitionTime` when its status is unchanged. When `carryForward` is set (a
 * transient pass), conditions this pass did not reach are kept from `previous` unchanged;
 * otherwise they are dropped (e.g. discovery was switched off). Pure.
 */
export function mergeConditions(
  previous: readonly Condition[],
  outcomes: readonly ConditionOutcome[],
  now: string,
  carryForward: boolean,
): Condition[] {
  const out: Condition[] = [];
  for (const type of CONDITION_TYPES) {
    const before = previous.find((c) => c.type === type);
    const outcome = outcomes.find((o) => o.type === type);
    if (outcome === undefined) {
      if (carryForward && before !== undefined) out.push({ ...before });
      continue;
    }
    out.push({
      type,
      status: outcome.status,
      reason: outcome.reason,
      message: truncateUtf8(outcome.message, MAX_MESSAGE_BYTES),
      lastTransitionTime: before !== undefined && before.status === outcome.status ? before.lastTransitionTime : now,
    });
  }
  return out;
}
