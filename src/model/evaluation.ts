// What one pass over an upstream concluded, before anything is written: condition outcomes, identity, discovered entries.
import { MAX_MESSAGE_BYTES, type ConditionOutcome, type ConditionType } from "./conditions.js";
import type { CredbrokerError } from "./errors.js";
import type { FunctionCounts, VerifiedIdentity } from "./status-types.js";
import { truncateUtf8 } from "./text.js";
import type { FunctionListField } from "./upstream.js";

/** Discovered functions as spec entries for `field` (mapped and filtered; the merge and the cap come later). */
export interface DiscoveredEntries {
  field: FunctionListField;
  entries: object[];
}

export interface Evaluation {
  outcomes: ConditionOutcome[];
  identity?: VerifiedIdentity;
  /** When the verification behind `identity` was answered (epoch ms); a shared answer may be older than this pass. */
  verifiedAtMs?: number;
  discovered?: DiscoveredEntries;
  /** Problems found while discovering (keys missing or stale, a check skipped): folded into FunctionsDiscovered. */
  warnings?: CredbrokerError[];
  /** Set when a passing fault answered: retry with backoff rather than at the routine interval. */
  transient: boolean;
  /** A dependency asked for this much quiet before the next try (Retry-After). */
  retryAfterMs?: number;
}

/** A condition that holds. Pure. */
export function okOutcome(type: ConditionType, reason: ConditionOutcome["reason"], message: string): ConditionOutcome {
  return { type, status: "True", reason, message: capped(message) };
}

// Capped where outcomes are made, not only where conditions are written: `check` prints outcomes as they are.
function capped(message: string): string {
  return truncateUtf8(message, MAX_MESSAGE_BYTES);
}

/** A failure as a condition: a retryable error is Unknown (keeps the last verdict), any other is False. Pure. */
export function failedOutcome(type: ConditionType, err: CredbrokerError, severity?: "error" | "warning"): ConditionOutcome {
  const outcome: ConditionOutcome = { type, status: err.retryable ? "Unknown" : "False", reason: err.reason, message: capped(err.message) };
  if (severity !== undefined) outcome.severity = severity;
  return outcome;
}

/** The evaluation of a pass that stopped at `type` with `error` (a transient error keeps the last verdict). Pure. */
export function failedEvaluation(type: ConditionType, error: CredbrokerError, before: readonly ConditionOutcome[] = []): Evaluation {
  const evaluation: Evaluation = { outcomes: [...before, failedOutcome(type, error)], transient: error.retryable };
  if (error.retryable && error.retryAfterMs !== undefined) evaluation.retryAfterMs = error.retryAfterMs;
  return evaluation;
}

/**
 * The one FunctionsDiscovered condition once the list has been merged and capped: the counts,
 * and every discovery warning folded in (the first one's reason names the condition). Pure.
 */
export function functionsOutcome(counts: FunctionCounts, maxFunctions: number, warnings: readonly CredbrokerError[] = []): ConditionOutcome {
  const base = counts.truncated
    ? okOutcome("FunctionsDiscovered", "FunctionListTruncated", `${counts.discovered} functions discovered; ${counts.published} published, the list is capped at ${maxFunctions}`)
    : okOutcome("FunctionsDiscovered", "Published", `${counts.discovered} functions discovered, ${counts.published} published`);
  const [first] = warnings;
  if (first === undefined) return base;
  return { ...failedOutcome("FunctionsDiscovered", first, "warning"), status: "False", message: capped([base.message, ...warnings.map((w) => w.message)].join("; ")) };
}
