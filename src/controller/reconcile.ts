// One reconcile of one upstream key, top to bottom: load, skip, parse, evaluate, publish, say what happened.
import type { Logger } from "pino";
import type { CallPolicy, ProviderRegistry } from "../cloud/registry.js";
import { parseUpstreamOptions, type UpstreamOptions } from "../model/annotations.js";
import { CredbrokerError, toCredbrokerError } from "../model/errors.js";
import { failedEvaluation, type Evaluation } from "../model/evaluation.js";
import type { JsonObject } from "../model/fields.js";
import { PUBLISHED_FUNCTIONS_ANNOTATION } from "../model/function-list.js";
import { annotationsOf, nameOf, objectKey, resourceVersionOf } from "../model/object-meta.js";
import type { Reason } from "../model/reasons.js";
import { failingReason, rawStatusEntry, type StatusState } from "../model/status.js";
import type { Clock } from "../runtime/clock.js";
import { isCloudUpstream, notManagedBecause, parseUpstream, type CloudUpstream } from "../model/upstream.js";
import { evaluate, type EvaluateSettings } from "./evaluate.js";
import type { UpstreamApi } from "./kube-upstreams.js";
import { NotLeaderError, publish, type PublishSettings, type WriteOutcome } from "./publisher.js";
import type { SecretPort } from "./secret-port.js";

export interface ReconcileDeps {
  api: UpstreamApi;
  secrets: SecretPort;
  providers: ProviderRegistry;
  settings: EvaluateSettings & PublishSettings;
  clock: Pick<Clock, "now">;
  canWrite: () => boolean;
  /** Labels of a namespace, from the namespace watch. */
  namespaceLabels: (namespace: string) => Readonly<Record<string, string>>;
  logger: Logger;
  onWrite?: (kind: "spec" | "status" | "event", result: WriteOutcome) => void;
}

export type ReconcileResult =
  | { kind: "gone" }
  /** The spec changed while the verdict was computed: nothing was published; evaluate `object` again. */
  | { kind: "superseded"; object: JsonObject }
  | { kind: "skipped"; because: string }
  /**
   * The verdict is published: `wrote` says whether this pass changed anything (false when the
   * stored spec and status already said it). `conditionReason`: the first failing condition's
   * reason, or Verified. `retryAfterMs`: a dependency asked for that much quiet.
   */
  | { kind: "published"; state: StatusState; reason: string; conditionReason: Reason; wrote: boolean; transient: boolean; retryAfterMs?: number; object: JsonObject }
  /** This replica lost its lease mid-pass: nothing more was written; the new leader carries on. */
  | { kind: "handedOver" }
  /** Nothing could be published (the API server failed): retry with backoff. */
  | { kind: "failed"; error: CredbrokerError };

/**
 * Reconciles one upstream object (the newest the watch has; undefined when it was deleted).
 * Does I/O; never throws: every failure is a result, so the queue can pick retry or requeue.
 */
export async function reconcile(object: JsonObject | undefined, policy: CallPolicy, deps: ReconcileDeps): Promise<ReconcileResult> {
  if (object === undefined) return { kind: "gone" };
  try {
    const parsed = parseSpec(object);
    if (parsed.kind === "skip") {
      await withdraw(object, deps);
      return { kind: "skipped", because: parsed.because };
    }

    const evaluation: Evaluation =
      parsed.kind === "invalid"
        ? failedEvaluation("SecretResolved", parsed.error)
        : await evaluate(parsed.upstream, parsed.options, {
            secrets: deps.secrets,
            providers: deps.providers,
            settings: deps.settings,
            namespaceLabels: deps.namespaceLabels(parsed.upstream.meta.namespace),
            policy,
          });

    const report = await publish(object, evaluation, { api: deps.api, settings: deps.settings, clock: deps.clock, canWrite: deps.canWrite, ...(deps.onWrite ? { onWrite: deps.onWrite } : {}) }, { forced: policy.fresh });
    if (report.status === "gone") return { kind: "gone" };
    if (report.status === "superseded") return { kind: "superseded", object: report.object };
    if (report.previousState !== report.entry.state) {
      deps.logger.info({ upstream: objectKey(object), from: report.previousState ?? "new", to: report.entry.state, reason: report.entry.reason }, "upstream state changed");
    }
    const wrote = report.spec === "patched" || report.status === "patched";
    const conditionReason = failingReason(report.entry) ?? "Verified";
    const published: ReconcileResult = { kind: "published", state: report.entry.state, reason: report.entry.reason, conditionReason, wrote, transient: evaluation.transient, object: report.object };
    if (evaluation.retryAfterMs !== undefined) published.retryAfterMs = evaluation.retryAfterMs;
    return published;
  } catch (err) {
    if (err instanceof NotLeaderError) return { kind: "handedOver" };
    const error = toCredbrokerError(err, `reconcile of ${objectKey(object)}`);
    deps.logger.warn({ upstream: objectKey(object), err: error }, "reconcile failed; will retry");
    return { kind: "failed", error };
  }
}

type ParsedSpec =
  | { kind: "ok"; upstream: CloudUpstream; options: UpstreamOptions }
  | { kind: "skip"; because: string }
  | { kind: "invalid"; error: CredbrokerError };

function parseSpec(object: JsonObject): ParsedSpec {
  try {
    const upstream = parseUpstream(object);
    if (!isCloudUpstream(upstream)) return { kind: "skip", because: notManagedBecause(upstream) };
    return { kind: "ok", upstream, options: parseUpstreamOptions(upstream.meta) };
  } catch (err) {
    const error = toCredbrokerError(err, "parsing the upstream");
    // A spec we cannot read is the author's to fix: Rejected, naming the field, until it changes.
    if (error.reason === "InvalidSpec") return { kind: "invalid", error };
    throw error;
  }
}

/**
 * An upstream that is no longer a cloud type (its spec was changed to static, kube...) keeps no
 * credbroker status or ownership annotation: both would describe something that is not there.
 */
async function withdraw(object: JsonObject, deps: ReconcileDeps): Promise<void> {
  const key = deps.settings.statusKey;
  const hasStatus = rawStatusEntry(object, key) !== undefined;
  const hasAnnotation = PUBLISHED_FUNCTIONS_ANNOTATION in annotationsOf(object);
  if (!hasStatus && !hasAnnotation) return;
  if (!deps.canWrite()) throw new NotLeaderError();
  // Only what is there is removed: nulling an absent status would create an empty one (and bump the generation).
  const patch: JsonObject = {
    metadata: { resourceVersion: resourceVersionOf(object), ...(hasAnnotation ? { annotations: { [PUBLISHED_FUNCTIONS_ANNOTATION]: null } } : {}) },
    ...(hasStatus ? { status: { statuses: { [key]: null } } } : {}),
  };
  const { namespace, name } = nameOf(object);
  const answer = await deps.api.mergePatch(namespace, name, patch);
  deps.onWrite?.("status", answer.kind === "patched" ? "made" : answer.kind);
  // Someone else (Gloo, writing its own status) wrote first: retry with backoff from a fresh copy.
  if (answer.kind === "conflict") throw new CredbrokerError("InternalError", `upstream ${objectKey(object)} changed while credbroker's status was being withdrawn`, { retryable: true });
}
