// One reconcile of one upstream key, top to bottom: load, skip, parse, evaluate, publish, decide when to come back.
import type { Logger } from "pino";
import { parseUpstreamOptions, type UpstreamOptions } from "../model/annotations.js";
import type { ConditionOutcome } from "../model/conditions.js";
import { CredbrokerError, toCredbrokerError } from "../model/errors.js";
import { isObject, type JsonObject } from "../model/fields.js";
import { PUBLISHED_FUNCTIONS_ANNOTATION } from "../model/function-list.js";
import type { StatusState } from "../model/status-types.js";
import { isCloudUpstream, parseUpstream, type CloudUpstream } from "../model/upstream.js";
import { evaluate, failedOutcome, type EvaluateSettings, type Evaluation } from "./evaluate.js";
import type { UpstreamApi } from "./kube-upstreams.js";
import type { CloudPort, SecretPort } from "./ports.js";
import { NotLeaderError, publish, type PublishSettings } from "./publisher.js";

export interface ReconcileDeps {
  api: UpstreamApi;
  secrets: SecretPort;
  cloud: CloudPort;
  settings: EvaluateSettings & PublishSettings;
  canWrite: () => boolean;
  /** Labels of a namespace, from the namespace watch. */
  namespaceLabels: (namespace: string) => Readonly<Record<string, string>>;
  logger: Logger;
  onWrite?: (kind: "spec" | "status" | "event", result: "made" | "skipped" | "conflict" | "gone") => void;
}

export type ReconcileResult =
  | { kind: "gone" }
  /** The spec changed while the verdict was computed: nothing was published; evaluate `object` again. */
  | { kind: "superseded"; object: JsonObject }
  | { kind: "skipped"; because: string }
  | { kind: "published"; state: StatusState; reason: string; transient: boolean; object: JsonObject }
  /** Nothing could be published (the API server or the lease failed): retry with backoff. */
  | { kind: "failed"; error: CredbrokerError };

/**
 * Reconciles one upstream object (the newest the watch has; undefined when it was deleted).
 * Does I/O; never throws: every failure is a result, so the queue can pick retry or requeue.
 */
export async function reconcile(object: JsonObject | undefined, fresh: boolean, deps: ReconcileDeps): Promise<ReconcileResult> {
  if (object === undefined) return { kind: "gone" };
  try {
    const parsed = parseSpec(object);
    if (parsed.kind === "skip") {
      await withdraw(object, deps);
      return { kind: "skipped", because: parsed.because };
    }

    const evaluation = parsed.kind === "invalid" ? invalid(parsed.error) : await evaluate(parsed.upstream, parsed.options, {
      secrets: deps.secrets,
      cloud: deps.cloud,
      settings: deps.settings,
      namespaceLabels: deps.namespaceLabels(parsed.upstream.meta.namespace),
      fresh,
    });

    const report = await publish(object, evaluation, { api: deps.api, settings: deps.settings, canWrite: deps.canWrite, ...(deps.onWrite ? { onWrite: deps.onWrite } : {}) }, { forced: fresh });
    if (report.status === "gone") return { kind: "gone" };
    if (report.status === "superseded") return { kind: "superseded", object: report.object };
    if (report.previousState !== report.entry.state) {
      deps.logger.info({ upstream: keyOf(object), from: report.previousState ?? "new", to: report.entry.state, reason: report.entry.reason }, "upstream state changed");
    }
    return { kind: "published", state: report.entry.state, reason: report.entry.reason, transient: evaluation.transient, object: report.object };
  } catch (err) {
    const error = toCredbrokerError(err, `reconcile of ${keyOf(object)}`);
    if (!(err instanceof NotLeaderError)) deps.logger.warn({ upstream: keyOf(object), err: error }, "reconcile failed; will retry");
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
    if (!isCloudUpstream(upstream)) return { kind: "skip", because: `type ${upstream.upstreamType ?? "unknown"} is not aws, azure or awsEc2` };
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
  const meta = isObject(object.metadata) ? object.metadata : {};
  const annotations = isObject(meta.annotations) ? meta.annotations : {};
  const statuses = isObject(object.status) && isObject(object.status.statuses) ? object.status.statuses : {};
  const key = deps.settings.statusKey;
  if (!(key in statuses) && !(PUBLISHED_FUNCTIONS_ANNOTATION in annotations)) return;
  if (!deps.canWrite()) throw new NotLeaderError();
  const patch: JsonObject = {
    metadata: { resourceVersion: meta.resourceVersion, annotations: { [PUBLISHED_FUNCTIONS_ANNOTATION]: null } },
    status: { statuses: { [key]: null } },
  };
  const answer = await deps.api.mergePatch(String(meta.namespace), String(meta.name), patch);
  deps.onWrite?.("status", answer.kind === "patched" ? "made" : answer.kind);
  // Someone else (Gloo, writing its own status) wrote first: retry with backoff from a fresh copy.
  if (answer.kind === "conflict") throw new CredbrokerError("InternalError", "upstream changed while credbroker's status was being withdrawn", { retryable: true });
}

function invalid(error: CredbrokerError): Evaluation {
  const outcome: ConditionOutcome = failedOutcome("SecretResolved", error);
  return { outcomes: [outcome], transient: false };
}

function keyOf(object: JsonObject): string {
  const m = object.metadata as { namespace?: unknown; name?: unknown } | undefined;
  return `${String(m?.namespace)}/${String(m?.name)}`;
}
