// Reads the status entries already on an Upstream, leniently: status is free-form and anyone may have written it.
import { CONDITION_TYPES, type Condition, type ConditionStatus } from "./conditions.js";
import { isObject, type JsonObject } from "./fields.js";
import { isReason } from "./reasons.js";
import {
  STATUS_STATES,
  type FunctionCounts,
  type StatusDetails,
  type StatusEntry,
  type StatusState,
  type VerifiedIdentity,
} from "./status-types.js";

/** One reporter's entry as stored, whoever wrote it. */
export interface ObservedStatus {
  state: StatusState;
  reason: string;
  reportedBy: string;
  /** Reporter-specific; credbroker's own is parsed by readOwnStatus. */
  details?: unknown;
}

export interface StoredStatuses {
  /** `status.statuses`, by key (Gloo's install namespace, `credbroker`, ...). */
  entries: Record<string, ObservedStatus>;
  /** The un-namespaced form older Gloo releases wrote directly under `status`. */
  legacy?: ObservedStatus;
}

/**
 * Reads a state written as its name (any case) or as Gloo's protobuf integer (0 Pending,
 * 1 Accepted, 2 Rejected, 3 Warning, also as a digit string). Undefined for anything else.
 */
export function parseStatusState(value: unknown): StatusState | undefined {
  if (typeof value === "number" && Number.isInteger(value)) return STATUS_STATES[value];
  if (typeof value !== "string") return undefined;
  if (/^\d$/.test(value)) return STATUS_STATES[Number(value)];
  return STATUS_STATES.find((s) => s.toLowerCase() === value.toLowerCase());
}

/** `status.statuses[key]` exactly as stored (any shape), or undefined: what a merge patch of that entry must null out. Pure. */
export function rawStatusEntry(upstream: unknown, key: string): unknown {
  const status = isObject(upstream) && isObject(upstream.status) ? upstream.status : undefined;
  return status !== undefined && isObject(status.statuses) ? status.statuses[key] : undefined;
}

/**
 * Reads every status entry of an Upstream object. Pure and total: entries that are not objects
 * are skipped, an unrecognised state reads as Pending, so a hand-edited status never stops a
 * reconcile (credbroker rewrites only its own entry).
 */
export function readStatuses(upstream: unknown): StoredStatuses {
  const out: StoredStatuses = { entries: {} };
  const status = isObject(upstream) && isObject(upstream.status) ? upstream.status : undefined;
  if (status === undefined) return out;
  if (isObject(status.statuses)) {
    for (const [key, value] of Object.entries(status.statuses)) {
      const entry = observed(value);
      if (entry !== undefined) out.entries[key] = entry;
    }
  }
  if (status.state !== undefined) {
    const legacy = observed(status);
    if (legacy !== undefined) out.legacy = legacy;
  }
  return out;
}

function observed(value: unknown): ObservedStatus | undefined {
  if (!isObject(value)) return undefined;
  const entry: ObservedStatus = {
    state: parseStatusState(value.state) ?? "Pending",
    reason: typeof value.reason === "string" ? value.reason : "",
    reportedBy: typeof value.reportedBy === "string" ? value.reportedBy : "",
  };
  if (value.details !== undefined) entry.details = value.details;
  return entry;
}

/**
 * Reads credbroker's own entry under `key` with typed details, for use as the `previous` of
 * buildStatusEntry. Pure and total: malformed parts are dropped (and then rewritten).
 */
export function readOwnStatus(upstream: unknown, key: string): StatusEntry | undefined {
  const entry = readStatuses(upstream).entries[key];
  if (entry === undefined) return undefined;
  const raw: JsonObject = isObject(entry.details) ? entry.details : {};
  const details: StatusDetails = {
    observedGeneration: typeof raw.observedGeneration === "number" ? raw.observedGeneration : 0,
    conditions: Array.isArray(raw.conditions) ? raw.conditions.flatMap(readCondition) : [],
  };
  const identity = readIdentity(raw.identity);
  if (identity !== undefined) details.identity = identity;
  const functions = readCounts(raw.functions);
  if (functions !== undefined) details.functions = functions;
  if (typeof raw.lastVerified === "string") details.lastVerified = raw.lastVerified;
  if (typeof raw.observedSpec === "string") details.observedSpec = raw.observedSpec;
  if (typeof raw.observedReverify === "string") details.observedReverify = raw.observedReverify;
  return { state: entry.state, reason: entry.reason, reportedBy: entry.reportedBy, details };
}

const CONDITION_STATUSES: readonly ConditionStatus[] = ["True", "False", "Unknown"];

function readCondition(value: unknown): Condition[] {
  if (!isObject(value)) return [];
  const type = CONDITION_TYPES.find((t) => t === value.type);
  const status = CONDITION_STATUSES.find((s) => s === value.status);
  if (type === undefined || status === undefined || !isReason(value.reason)) return [];
  return [{
    type,
    status,
    reason: value.reason,
    message: typeof value.message === "string" ? value.message : "",
    lastTransitionTime: typeof value.lastTransitionTime === "string" ? value.lastTransitionTime : "",
  }];
}

/**
 * Reads a stored identity back. Exhaustive over the identity kinds (a Record), so a new one does not
 * compile until it can be read back: an identity never read back would never equal the desired
 * one, and every pass would rewrite the status.
 */
const IDENTITY_READERS: { [P in VerifiedIdentity["provider"]]: (value: JsonObject) => Extract<VerifiedIdentity, { provider: P }> | undefined } = {
  aws: (value) => (typeof value.account === "string" && typeof value.arn === "string" ? { provider: "aws", account: value.account, arn: value.arn } : undefined),
  azure: (value) => {
    if (typeof value.tenantId !== "string" || typeof value.clientId !== "string") return undefined;
    const id: Extract<VerifiedIdentity, { provider: "azure" }> = { provider: "azure", tenantId: value.tenantId, clientId: value.clientId };
    if (typeof value.subscriptionId === "string") id.subscriptionId = value.subscriptionId;
    return id;
  },
};

function readIdentity(value: unknown): VerifiedIdentity | undefined {
  if (!isObject(value) || typeof value.provider !== "string" || !Object.hasOwn(IDENTITY_READERS, value.provider)) return undefined;
  return IDENTITY_READERS[value.provider as VerifiedIdentity["provider"]](value);
}

function readCounts(value: unknown): FunctionCounts | undefined {
  if (!isObject(value)) return undefined;
  const { discovered, published, truncated } = value;
  if (typeof discovered !== "number" || typeof published !== "number" || typeof truncated !== "boolean") return undefined;
  return { discovered, published, truncated };
}
