// Writes what a pass concluded: the function list into spec, credbroker's status entry, an Event on transitions.
import type { ConditionOutcome } from "../model/conditions.js";
import { CredbrokerError } from "../model/errors.js";
import { isObject, type JsonObject } from "../model/fields.js";
import {
  azureFunctionsPatch,
  lambdaFunctionsPatch,
  mergeAzureFunctions,
  mergeLambdaFunctions,
  PUBLISHED_FUNCTIONS_ANNOTATION,
} from "../model/function-list.js";
import { buildStatusEntry, readOwnStatus, statusChanged, statusPatch, type FunctionCounts, type StatusEntry, type StatusState } from "../model/status.js";
import { specFingerprint } from "../model/spec-fingerprint.js";
import { parseUpstream } from "../model/upstream.js";
import { functionsOutcome, type DiscoveredEntries, type Evaluation } from "./evaluate.js";
import type { UpstreamApi } from "./kube-upstreams.js";

/** `superseded`: the spec changed under the evaluation (seen on a 409), so nothing more was written. */
export type WriteResult = "unchanged" | "patched" | "gone" | "superseded";

export interface PublishSettings {
  statusKey: string;
  heartbeatMs: number;
  maxFunctions: number;
  reportedBy: string;
}

export interface PublishDeps {
  api: UpstreamApi;
  settings: PublishSettings;
  /** Checked before every write: a replica that lost its lease must not write. */
  canWrite: () => boolean;
  /** Called for each write made or skipped, for metrics. */
  onWrite?: (kind: "spec" | "status" | "event", result: "made" | "skipped" | "conflict" | "gone") => void;
}

export interface PublishReport {
  spec: WriteResult;
  status: WriteResult;
  previousState: StatusState | undefined;
  entry: StatusEntry;
  /** The newest version of the object this publish saw or wrote. */
  object: JsonObject;
}

/** Why a publish wrote nothing more: the object was deleted, or its spec changed since it was evaluated. */
export type AbandonedReport = { status: "gone"; object: JsonObject } | { status: "superseded"; object: JsonObject };

/** Thrown when the lease was lost mid-reconcile: nothing more may be written. */
export class NotLeaderError extends CredbrokerError {
  constructor() {
    super("InternalError", "this replica no longer holds the lease; write abandoned", { retryable: true });
  }
}

const MAX_ATTEMPTS = 5;

function meta(obj: JsonObject): JsonObject {
  return isObject(obj.metadata) ? obj.metadata : {};
}

function nameOf(obj: JsonObject): { namespace: string; name: string } {
  const m = meta(obj);
  return { namespace: String(m.namespace), name: String(m.name) };
}

function resourceVersionOf(obj: JsonObject): string | undefined {
  const rv = meta(obj).resourceVersion;
  return typeof rv === "string" ? rv : undefined;
}

function generationOf(obj: JsonObject): number {
  const g = meta(obj).generation;
  return typeof g === "number" ? g : 0;
}

/** The merge patch for the function list of `obj` with `discovered`, or undefined when nothing changes. Pure. */
function specPatchFor(obj: JsonObject, discovered: DiscoveredEntries, maxFunctions: number): { patch: JsonObject | undefined; counts: FunctionCounts } {
  const upstream = parseUpstream(obj);
  const annotations = meta(obj).annotations;
  const publishedAnnotation = isObject(annotations) && typeof annotations[PUBLISHED_FUNCTIONS_ANNOTATION] === "string" ? annotations[PUBLISHED_FUNCTIONS_ANNOTATION] : undefined;
  const rv = resourceVersionOf(obj);
  if (discovered.kind === "aws" && upstream.kind === "aws") {
    const merged = mergeLambdaFunctions({ current: upstream.spec.lambdaFunctions, discovered: discovered.entries, publishedAnnotation, maxFunctions });
    return { patch: merged.changed ? (lambdaFunctionsPatch(merged, rv) as unknown as JsonObject) : undefined, counts: merged.counts };
  }
  if (discovered.kind === "azure" && upstream.kind === "azure") {
    const merged = mergeAzureFunctions({ current: upstream.spec.functions, discovered: discovered.entries, publishedAnnotation, maxFunctions });
    return { patch: merged.changed ? (azureFunctionsPatch(merged, rv) as unknown as JsonObject) : undefined, counts: merged.counts };
  }
  // The upstream changed type since it was evaluated: publish nothing into its spec this pass.
  throw new CredbrokerError("InternalError", "upstream type changed during the reconcile", { retryable: true });
}

/**
 * Publishes one evaluation. Does I/O. Spec first (so the status can name the generation it
 * describes), each write with a resourceVersion precondition. On 409 the object is re-read: when
 * its spec is still the one evaluated (someone changed labels, annotations or another status),
 * the change is recomputed from the fresh copy and merged, never overwritten; when the spec
 * changed, the verdict belongs to a spec that is gone, so the publish is abandoned
 * (`superseded`, with the fresh object) for the caller to evaluate again. Writes nothing that is
 * already there. Throws NotLeaderError when the lease is lost, and CredbrokerError (retryable)
 * when the API server fails.
 */
export async function publish(object: JsonObject, evaluation: Evaluation, deps: PublishDeps, options: { forced?: boolean } = {}): Promise<PublishReport | AbandonedReport> {
  const { api, settings } = deps;
  const { namespace, name } = nameOf(object);
  let current = object;
  let spec: WriteResult = "unchanged";
  let counts: FunctionCounts | undefined;

  if (evaluation.discovered !== undefined) {
    for (let attempt = 1; ; attempt++) {
      const { patch, counts: c } = specPatchFor(current, evaluation.discovered, settings.maxFunctions);
      counts = c;
      if (patch === undefined) {
        deps.onWrite?.("spec", "skipped");
        break;
      }
      if (!deps.canWrite()) throw new NotLeaderError();
      const answer = await api.mergePatch(namespace, name, patch);
      if (answer.kind === "patched") {
        current = answer.object;
        spec = "patched";
        deps.onWrite?.("spec", "made");
        break;
      }
      deps.onWrite?.("spec", answer.kind);
      const fresh = await reread(answer.kind, current, deps);
      if (fresh.status !== "same") return fresh;
      if (attempt >= MAX_ATTEMPTS) throw new CredbrokerError("InternalError", `upstream ${namespace}/${name} kept changing while its function list was written`, { retryable: true });
      current = fresh.object;
    }
  }

  const outcomes: ConditionOutcome[] = [...evaluation.outcomes];
  if (counts !== undefined) outcomes.push(functionsOutcome(counts, settings.maxFunctions, evaluation.warnings));

  for (let attempt = 1; ; attempt++) {
    const previous = readOwnStatus(current, settings.statusKey);
    const now = new Date();
    const entry = buildStatusEntry({
      previous,
      outcomes,
      // The status write changes the object outside metadata, so the server bumps the generation
      // by one; with the resourceVersion precondition that is exactly the generation stored with it.
      observedGeneration: generationOf(current) + 1,
      observedSpec: specFingerprint(current),
      identity: evaluation.identity,
      functions: counts,
      now,
      reportedBy: settings.reportedBy,
    });
    // A forced re-verification is someone asking "is it still good?": its new lastVerified is the answer, so it is written at once.
    if (!statusChanged(previous, entry, now, options.forced === true ? 0 : settings.heartbeatMs)) {
      deps.onWrite?.("status", "skipped");
      return { spec, status: "unchanged", previousState: previous?.state, entry: previous ?? entry, object: current };
    }
    if (!deps.canWrite()) throw new NotLeaderError();
    const rawStatus = isObject(current.status) && isObject(current.status.statuses) ? current.status.statuses[settings.statusKey] : undefined;
    const rv = resourceVersionOf(current);
    const patch: JsonObject = { ...statusPatch(settings.statusKey, entry, rawStatus), ...(rv !== undefined ? { metadata: { resourceVersion: rv } } : {}) };
    const answer = await api.mergePatch(namespace, name, patch);
    if (answer.kind === "patched") {
      deps.onWrite?.("status", "made");
      if (previous?.state !== entry.state && deps.canWrite()) await recordTransition(answer.object, previous?.state, entry, deps);
      return { spec, status: "patched", previousState: previous?.state, entry, object: answer.object };
    }
    deps.onWrite?.("status", answer.kind);
    const fresh = await reread(answer.kind, current, deps);
    if (fresh.status !== "same") return fresh;
    if (attempt >= MAX_ATTEMPTS) throw new CredbrokerError("InternalError", `upstream ${namespace}/${name} kept changing while its status was written`, { retryable: true });
    current = fresh.object;
  }
}

/** After a refused write: the object gone, its spec changed since `evaluated`, or the same spec in a newer object. */
async function reread(answer: "conflict" | "gone", evaluated: JsonObject, deps: PublishDeps): Promise<AbandonedReport | { status: "same"; object: JsonObject }> {
  const { namespace, name } = nameOf(evaluated);
  const fresh = answer === "gone" ? undefined : await deps.api.get(namespace, name);
  if (fresh === undefined) return { status: "gone", object: evaluated };
  if (specFingerprint(fresh) !== specFingerprint(evaluated)) return { status: "superseded", object: fresh };
  return { status: "same", object: fresh };
}

async function recordTransition(object: JsonObject, from: StatusState | undefined, entry: StatusEntry, deps: PublishDeps): Promise<void> {
  const m = meta(object);
  const failing = entry.details.conditions.find((c) => c.status !== "True") ?? entry.details.conditions.at(-1);
  const reason = failing?.reason ?? "Verified";
  const message = `${from ?? "new"} → ${entry.state}${entry.reason !== "" ? `: ${entry.reason}` : ""}`;
  try {
    await deps.api.recordEvent({
      namespace: String(m.namespace),
      name: String(m.name),
      ...(typeof m.uid === "string" ? { uid: m.uid } : {}),
      ...(typeof m.resourceVersion === "string" ? { resourceVersion: m.resourceVersion } : {}),
      type: entry.state === "Accepted" ? "Normal" : "Warning",
      reason,
      message,
    });
    deps.onWrite?.("event", "made");
  } catch {
    // An Event is a courtesy: the status already carries the transition, so a failed Event is not retried.
    deps.onWrite?.("event", "gone");
  }
}
