// Writes what a pass concluded, as desiredState computes it: the function list into spec, credbroker's status entry, an Event on transitions.
import type { Clock } from "../runtime/clock.js";
import { desiredState, type DesiredState, type DesiredStateSettings } from "../model/desired-state.js";
import { CredbrokerError } from "../model/errors.js";
import type { Evaluation } from "../model/evaluation.js";
import type { JsonObject } from "../model/fields.js";
import { nameOf, metaOf } from "../model/object-meta.js";
import { specFingerprint } from "../model/spec-fingerprint.js";
import { failingReason, type StatusEntry, type StatusState } from "../model/status.js";
import type { UpstreamApi } from "./kube-upstreams.js";

/** `superseded`: the spec changed under the evaluation (seen on a 409), so nothing more was written. */
export type WriteResult = "unchanged" | "patched" | "gone" | "superseded";

/** What happened to one write, for `credbroker_kubernetes_writes_total{kind,result}`. */
export type WriteOutcome = "made" | "skipped" | "conflict" | "gone" | "failed";

export type PublishSettings = DesiredStateSettings;

export interface PublishDeps {
  api: UpstreamApi;
  settings: PublishSettings;
  clock: Pick<Clock, "now">;
  /** Checked before every write: a replica that lost its lease must not write. */
  canWrite: () => boolean;
  /** Called for each write made, skipped or refused, for metrics. */
  onWrite?: (kind: "spec" | "status" | "event", result: WriteOutcome) => void;
}

export interface PublishReport {
  spec: Exclude<WriteResult, "gone" | "superseded">;
  status: Exclude<WriteResult, "gone" | "superseded">;
  previousState: StatusState | undefined;
  entry: StatusEntry;
  /** The newest version of the object this publish saw or wrote. */
  object: JsonObject;
}

/** Why a publish wrote nothing more: the object was deleted, or its spec changed since it was evaluated. */
export type AbandonedReport = { status: "gone"; object: JsonObject } | { status: "superseded"; object: JsonObject };

/** Thrown when the lease was lost mid-reconcile: nothing more may be written. Not a failure of the upstream. */
export class NotLeaderError extends CredbrokerError {
  constructor() {
    super("NotLeader", "this replica no longer holds the lease; write abandoned", { retryable: true });
  }
}

const MAX_ATTEMPTS = 5;

/**
 * Publishes one evaluation. Does I/O. Spec first (so the status can name the generation it
 * describes), each write with a resourceVersion precondition. On 409 the object is re-read: when
 * its spec is still the one evaluated (someone changed labels, annotations or another status),
 * the desired state is recomputed from the fresh copy and merged, never overwritten; when the spec
 * changed, the verdict belongs to a spec that is gone, so the publish is abandoned
 * (`superseded`, with the fresh object) for the caller to evaluate again. Writes nothing that is
 * already there. Throws NotLeaderError when the lease is lost, and CredbrokerError (retryable)
 * when the API server fails.
 */
export async function publish(object: JsonObject, evaluation: Evaluation, deps: PublishDeps, options: { forced?: boolean } = {}): Promise<PublishReport | AbandonedReport> {
  const { namespace, name } = nameOf(object);
  const desiredOf = (current: JsonObject): DesiredState => desiredState(current, evaluation, deps.settings, new Date(deps.clock.now()), options);
  // One desired state per version of the object: recomputed only when a write or a re-read brings a new one.
  let current = object;
  let desired = desiredOf(current);
  let spec: PublishReport["spec"] = "unchanged";

  for (let attempt = 1; ; attempt++) {
    if (desired.specPatch === undefined) {
      if (evaluation.discovered !== undefined) deps.onWrite?.("spec", "skipped");
      break;
    }
    const answer = await write("spec", current, desired.specPatch, deps);
    if (answer.kind === "patched") {
      current = answer.object;
      desired = desiredOf(current);
      spec = "patched";
      break;
    }
    const fresh = await reread(answer.kind, current, deps);
    if (fresh.status !== "same") return fresh;
    if (attempt >= MAX_ATTEMPTS) throw new CredbrokerError("InternalError", `upstream ${namespace}/${name} kept changing while its function list was written`, { retryable: true });
    current = fresh.object;
    desired = desiredOf(current);
  }

  for (let attempt = 1; ; attempt++) {
    if (!desired.statusDue) {
      deps.onWrite?.("status", "skipped");
      return { spec, status: "unchanged", previousState: desired.previous?.state, entry: desired.previous ?? desired.entry, object: current };
    }
    const answer = await write("status", current, desired.statusPatch, deps);
    if (answer.kind === "patched") {
      if (desired.previous?.state !== desired.entry.state && deps.canWrite()) await recordTransition(answer.object, desired.previous?.state, desired.entry, deps);
      return { spec, status: "patched", previousState: desired.previous?.state, entry: desired.entry, object: answer.object };
    }
    const fresh = await reread(answer.kind, current, deps);
    if (fresh.status !== "same") return fresh;
    if (attempt >= MAX_ATTEMPTS) throw new CredbrokerError("InternalError", `upstream ${namespace}/${name} kept changing while its status was written`, { retryable: true });
    current = fresh.object;
    desired = desiredOf(current);
  }
}

/** One merge patch, if this replica may still write. Throws NotLeaderError, or what the API throws. */
async function write(kind: "spec" | "status", current: JsonObject, patch: JsonObject, deps: PublishDeps): Promise<Awaited<ReturnType<UpstreamApi["mergePatch"]>>> {
  if (!deps.canWrite()) throw new NotLeaderError();
  const { namespace, name } = nameOf(current);
  const answer = await deps.api.mergePatch(namespace, name, patch);
  deps.onWrite?.(kind, answer.kind === "patched" ? "made" : answer.kind);
  return answer;
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
  const m = metaOf(object);
  const reason = failingReason(entry) ?? entry.details.conditions.at(-1)?.reason ?? "Verified";
  const message = `${from ?? "new"} → ${entry.state}${entry.reason !== "" ? `: ${entry.reason}` : ""}`;
  try {
    await deps.api.recordEvent({
      ...nameOf(object),
      ...(typeof m.uid === "string" ? { uid: m.uid } : {}),
      ...(typeof m.resourceVersion === "string" ? { resourceVersion: m.resourceVersion } : {}),
      type: entry.state === "Accepted" ? "Normal" : "Warning",
      reason,
      message,
    });
    deps.onWrite?.("event", "made");
  } catch {
    // An Event is a courtesy: the status already carries the transition, so a failed Event is not retried.
    deps.onWrite?.("event", "failed");
  }
}
