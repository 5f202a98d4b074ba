// credbroker's Gloo-compatible status entry: built from a pass's verdict, compared with the stored one, and patched.
import {
  CONDITION_TYPES,
  isTransientOutcome,
  mergeConditions,
  MAX_MESSAGE_BYTES,
  severityOf,
  WARNING_REASONS,
  type ConditionOutcome,
} from "./conditions.js";
import { ValidationError } from "./errors.js";
import type { Reason } from "./reasons.js";
import {
  DEFAULT_REPORTED_BY,
  MAX_REASON_BYTES,
  type FunctionCounts,
  type StatusDetails,
  type StatusEntry,
  type StatusState,
  type VerifiedIdentity,
} from "./status-types.js";
import { jsonEqual, truncateUtf8 } from "./text.js";

export interface StatusInput {
  /** The entry as stored now (readOwnStatus), if any. */
  previous?: StatusEntry | undefined;
  outcomes: readonly ConditionOutcome[];
  /** `metadata.generation` to publish (see StatusDetails.observedGeneration). */
  observedGeneration: number;
  /** specFingerprint of the spec this verdict is about. */
  observedSpec?: string | undefined;
  /** Omitted on a transient pass: the previous identity is kept. */
  identity?: VerifiedIdentity | undefined;
  /** Omitted when discovery did not run this pass: kept on a transient pass, dropped otherwise. */
  functions?: FunctionCounts | undefined;
  now: string | Date;
  /** When the verification result was obtained (a cached result is older than `now`); defaults to `now`. */
  verifiedAt?: string | undefined;
  reportedBy?: string | undefined;
  /** reverifyMark of the upstream's `credbroker.io/reverify` annotation, when it has one. */
  observedReverify?: string | undefined;
}

/**
 * Builds the desired status entry from one pass's outcomes. Pure and deterministic for equal
 * inputs. A False error-severity condition gives Rejected; a transient Unknown keeps the
 * previous verdict (an Accepted upstream stays Accepted) while that condition shows Unknown;
 * a False warning-severity condition or a truncated list gives Warning; an Authenticated True
 * gives Accepted; anything else is Pending.
 */
export function buildStatusEntry(input: StatusInput): StatusEntry {
  const now = toIso(input.now);
  const previous = input.previous;
  const ordered = CONDITION_TYPES.flatMap((t) => input.outcomes.filter((o) => o.type === t));
  const rejected = ordered.find((o) => o.status === "False" && severityOf(o) === "error");
  const transient = rejected === undefined ? ordered.find(isTransientOutcome) : undefined;
  const conditions = mergeConditions(previous?.details.conditions ?? [], ordered, now, transient !== undefined);

  let state: StatusState;
  let reason: string;
  if (rejected !== undefined) {
    state = "Rejected";
    reason = sentence(rejected);
  } else if (transient !== undefined && severityOf(transient) === "error") {
    // The credentials could not be checked this pass: the last verdict stands.
    const kept = previous !== undefined && previous.state !== "Pending" ? previous.state : undefined;
    state = kept ?? "Pending";
    reason = `${sentence(transient)}; ${kept !== undefined ? `keeping the last verdict (${kept})` : "will retry"}`;
  } else if (transient !== undefined) {
    // The credentials were checked; only discovery hit a passing fault. The verdict is this pass's,
    // except that a Warning from an earlier discovery problem cannot be cleared by a pass that did not discover.
    const checked = verdictOf(ordered.filter((o) => !isTransientOutcome(o)));
    const keepWarning = checked.state === "Accepted" && previous?.state === "Warning";
    state = keepWarning ? "Warning" : checked.state;
    reason = checked.state === "Accepted" ? `${sentence(transient)}; ${keepWarning ? "keeping the last verdict (Warning)" : "will retry"}` : checked.reason;
  } else {
    ({ state, reason } = verdictOf(ordered));
  }

  const details: StatusDetails = { observedGeneration: input.observedGeneration, conditions };
  if (input.observedSpec !== undefined) details.observedSpec = input.observedSpec;
  const identity = input.identity ?? (transient !== undefined ? previous?.details.identity : undefined);
  if (identity !== undefined) details.identity = { ...identity };
  const functions = input.functions ?? (transient !== undefined ? previous?.details.functions : undefined);
  if (functions !== undefined) details.functions = { ...functions };
  const authenticated = ordered.some((o) => o.type === "Authenticated" && o.status === "True");
  const lastVerified = authenticated ? (input.verifiedAt ?? now) : previous?.details.lastVerified;
  if (lastVerified !== undefined) details.lastVerified = lastVerified;
  if (input.observedReverify !== undefined) details.observedReverify = input.observedReverify;

  return {
    state,
    reason: truncateUtf8(reason, MAX_REASON_BYTES),
    reportedBy: input.reportedBy ?? DEFAULT_REPORTED_BY,
    details,
  };
}

/** The reason of the entry's first condition that does not hold, or undefined when all hold: what metrics and Events are labelled with. Pure. */
export function failingReason(entry: StatusEntry): Reason | undefined {
  return entry.details.conditions.find((c) => c.status !== "True")?.reason;
}

function verdictOf(outcomes: readonly ConditionOutcome[]): { state: StatusState; reason: string } {
  const warning = outcomes.find(
    (o) => (o.status === "False" && severityOf(o) === "warning") || (o.status === "True" && WARNING_REASONS.has(o.reason)),
  );
  if (warning !== undefined) return { state: "Warning", reason: sentence(warning) };
  if (outcomes.some((o) => o.type === "Authenticated" && o.status === "True")) return { state: "Accepted", reason: "" };
  return { state: "Pending", reason: "Not verified yet" };
}

function sentence(o: ConditionOutcome): string {
  return truncateUtf8(`${o.reason}: ${o.message}`, MAX_MESSAGE_BYTES);
}

function toIso(now: string | Date): string {
  return typeof now === "string" ? now : now.toISOString();
}

/**
 * Whether `desired` must be written over `current`. Pure. Everything but `lastVerified` and
 * `observedGeneration` is compared exactly (lastTransitionTime is stable by construction; a new
 * spec shows as a new `observedSpec`). `observedGeneration` never forces a write: every status
 * write bumps the generation on a real API server, Gloo's own included, so judging on it would
 * write forever. `lastVerified` alone forces a write only once `heartbeatMs` has passed since the
 * stored one, so a steady upstream costs one write per heartbeat instead of one per pass.
 */
export function statusChanged(
  current: StatusEntry | undefined,
  desired: StatusEntry,
  now: string | Date,
  heartbeatMs: number,
): boolean {
  if (current === undefined) return true;
  if (!jsonEqual(comparable(current), comparable(desired))) return true;
  const wanted = desired.details.lastVerified;
  if (wanted === undefined || wanted === current.details.lastVerified) return false;
  const stored = current.details.lastVerified === undefined ? NaN : Date.parse(current.details.lastVerified);
  if (Number.isNaN(stored)) return true;
  const nowMs = typeof now === "string" ? Date.parse(now) : now.getTime();
  return nowMs - stored >= heartbeatMs;
}

function comparable(entry: StatusEntry): Omit<StatusEntry, "details"> & { details: Omit<StatusDetails, "lastVerified" | "observedGeneration"> } {
  const { lastVerified: _verified, observedGeneration: _generation, ...details } = entry.details;
  return { ...entry, details };
}

// Gloo writes its verdict under the install namespace (e.g. `gloo-system`) or a `<ns>:gloo` key.
const GLOO_KEY = /^(gloo|gloo-system|.+:gloo)$/;
const STATUS_KEY = /^[A-Za-z0-9]([A-Za-z0-9_.:-]{0,251}[A-Za-z0-9])?$/;

/**
 * Checks the configured status key and returns it. Throws ValidationError(InvalidSetting) on
 * `field` when the key is malformed or is (or looks like) the Gloo controller's key — writing
 * there would fight Gloo over its own verdict. `glooKeys` adds installation-specific keys (the
 * namespaces Gloo runs in).
 */
export function validateStatusKey(key: string, glooKeys: readonly string[] = [], field = "statusKey"): string {
  if (!STATUS_KEY.test(key)) throw new ValidationError("InvalidSetting", field, "must be 1-253 letters, digits, '-', '_', '.' or ':'");
  if (GLOO_KEY.test(key) || glooKeys.includes(key)) {
    throw new ValidationError("InvalidSetting", field, "must not be the Gloo controller's status key");
  }
  return key;
}

/**
 * The JSON merge patch that sets `status.statuses[key]` and touches nothing else. Pure. With
 * `current` (the stored entry), keys it has that `entry` lacks are set to null, because a merge
 * patch merges nested objects and would otherwise leave stale fields (an old identity ARN).
 * Throws like validateStatusKey.
 */
export function statusPatch(key: string, entry: StatusEntry, current?: unknown): { status: { statuses: Record<string, unknown> } } {
  validateStatusKey(key);
  return { status: { statuses: { [key]: mergePatchValue(current, entry) } } };
}

function mergePatchValue(current: unknown, desired: unknown): unknown {
  if (!isPlainObject(desired)) return desired;
  const out: Record<string, unknown> = {};
  const before = isPlainObject(current) ? current : {};
  for (const [k, v] of Object.entries(desired)) out[k] = mergePatchValue(before[k], v);
  for (const k of Object.keys(before)) if (!(k in desired)) out[k] = null;
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export * from "./status-types.js";
export { parseStatusState, rawStatusEntry, readOwnStatus, readStatuses } from "./status-read.js";
export type { ObservedStatus, StoredStatuses } from "./status-read.js";
