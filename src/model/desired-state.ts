// The desired state of one upstream after a pass: its function list and credbroker's status entry, from the object, the evaluation, the settings and the time.
import { ANNOTATIONS, reverifyMark } from "./annotations.js";
import type { ConditionOutcome } from "./conditions.js";
import { functionsOutcome, type Evaluation } from "./evaluation.js";
import type { JsonObject } from "./fields.js";
import { currentFunctionList, functionListPatch, mergeFunctionList, PUBLISHED_FUNCTIONS_ANNOTATION } from "./function-list.js";
import { annotationsOf, generationOf, resourceVersionOf } from "./object-meta.js";
import { specFingerprint } from "./spec-fingerprint.js";
import type { FunctionListField } from "./upstream.js";
import { buildStatusEntry, rawStatusEntry, readOwnStatus, statusChanged, statusPatch, type FunctionCounts, type StatusEntry } from "./status.js";

export interface DesiredStateSettings {
  statusKey: string;
  maxFunctions: number;
  reportedBy: string;
  /** A steady upstream's lastVerified is rewritten at most this often. */
  heartbeatMs: number;
}

export interface DesiredState {
  /** The merge patch for the function list (with a resourceVersion precondition); undefined when the spec already holds it. */
  specPatch: JsonObject | undefined;
  /** The merged list and its counts, when the pass discovered. */
  functions: (FunctionCounts & { field: FunctionListField; entries: object[] }) | undefined;
  /** Every condition outcome of the pass, FunctionsDiscovered included. */
  outcomes: ConditionOutcome[];
  /** credbroker's entry as stored now. */
  previous: StatusEntry | undefined;
  /** The entry to store once the spec patch (if any) has been applied. */
  entry: StatusEntry;
  /** Whether the entry must be written: it differs, or lastVerified is due (at once when `forced`). */
  statusDue: boolean;
  /** The merge patch for the entry (with a resourceVersion precondition). Throws like validateStatusKey when built for a bad key. */
  statusPatch: JsonObject;
}

/**
 * What credbroker wants `object` to look like after `evaluation`. Pure and deterministic. The
 * entry's observedGeneration is the generation the writes will produce: without a status
 * subresource each write outside metadata bumps it by one, and the resourceVersion precondition
 * makes that exact. `forced` (someone asked "is it still good?") makes a new lastVerified due at
 * once. `publish` applies it write by write; `check` prints it.
 */
export function desiredState(object: JsonObject, evaluation: Evaluation, settings: DesiredStateSettings, now: Date, options: { forced?: boolean } = {}): DesiredState {
  const rv = resourceVersionOf(object);
  let specPatch: JsonObject | undefined;
  let listChanged = false;
  let functions: DesiredState["functions"];
  const outcomes = [...evaluation.outcomes];
  if (evaluation.discovered !== undefined) {
    const { field, entries } = evaluation.discovered;
    const merged = mergeFunctionList(
      { current: currentFunctionList(object, field), discovered: entries, publishedAnnotation: annotationsOf(object)[PUBLISHED_FUNCTIONS_ANNOTATION], maxFunctions: settings.maxFunctions },
      field,
    );
    if (merged.changed) specPatch = functionListPatch(field, merged, rv);
    listChanged = merged.listChanged;
    functions = { ...merged.counts, field, entries: merged.items };
    outcomes.push(functionsOutcome(merged.counts, settings.maxFunctions, evaluation.warnings));
  }
  const previous = readOwnStatus(object, settings.statusKey);
  const reverifyValue = annotationsOf(object)[ANNOTATIONS.reverify];
  const entry = buildStatusEntry({
    previous,
    outcomes,
    observedGeneration: generationOf(object) + (specPatch !== undefined && listChanged ? 2 : 1),
    observedSpec: specFingerprint(object),
    identity: evaluation.identity,
    functions: functions === undefined ? undefined : { discovered: functions.discovered, published: functions.published, truncated: functions.truncated },
    now,
    verifiedAt: evaluation.verifiedAtMs === undefined ? undefined : new Date(Math.min(evaluation.verifiedAtMs, now.getTime())).toISOString(),
    reportedBy: settings.reportedBy,
    observedReverify: reverifyValue === undefined || reverifyValue.trim() === "" ? undefined : reverifyMark(reverifyValue),
  });
  const statusDue = statusChanged(previous, entry, now, options.forced === true ? 0 : settings.heartbeatMs);
  const patch: JsonObject = { ...statusPatch(settings.statusKey, entry, rawStatusEntry(object, settings.statusKey)), ...(rv !== undefined ? { metadata: { resourceVersion: rv } } : {}) };
  return { specPatch, functions, outcomes, previous, entry, statusDue, statusPatch: patch };
}
