// Every reason an upstream key goes on the queue, and what follows a reconcile: the one place to read "why did this run, and when is the next?".
import type { ProviderRegistry } from "../cloud/registry.js";
import { ANNOTATIONS, parseUpstreamOptions, reverifyMark } from "../model/annotations.js";
import type { JsonObject } from "../model/fields.js";
import { PUBLISHED_FUNCTIONS_ANNOTATION } from "../model/function-list.js";
import { annotationsOf } from "../model/object-meta.js";
import { specFingerprint } from "../model/spec-fingerprint.js";
import { rawStatusEntry, readOwnStatus } from "../model/status.js";
import { isCloudUpstream, parseUpstream } from "../model/upstream.js";
import type { Priority } from "../runtime/queue/work-queue.js";
import type { ReconcileResult } from "./reconcile.js";

/**
 * Event → priority. `new` goes first (never verified), `forced` bypasses every cache and jumps
 * the queue, `routine` waits its turn under the global rate limit.
 */
export const TRIGGERS = {
  /** First seen without a credbroker status: never verified. */
  upstreamNew: "new",
  /** First seen with a status (the broker restarted): resumed from its stored lastVerified (RESUMES). */
  upstreamKnown: "new",
  /** `credbroker.io/reverify` changed (or the HTTP endpoint asked): someone wants an answer now. */
  reverifyRequested: "forced",
  /** Spec, labels or annotations changed; credbroker's own writes (function lists, status, generation) are not a change. */
  upstreamChanged: "routine",
  /** The namespace's labels changed (Gloo's discovery label may sit there): every upstream in it. */
  namespaceLabelsChanged: "routine",
  /** A secret it uses changed or disappeared. */
  secretRotated: "routine",
  /** This replica started leading the key's shard: every key of the shard, resumed from its stored lastVerified (RESUMES). */
  shardAcquired: "new",
} as const satisfies Record<string, Priority>;

export type Trigger = keyof typeof TRIGGERS;

/**
 * Triggers that resume a key rather than ask for a run: the broker starts, or takes over a shard,
 * and finds the verdicts someone already published. A key whose stored verdict is settled and
 * about its current spec keeps its cadence: its next run is due one interval after its
 * lastVerified (resumeDelayMs: jittered, and spread over one interval when already overdue) on
 * the periodic budget, so a restart costs no fleet-wide burst. The rest (resumeOf) run now, with
 * the trigger's priority.
 */
export const RESUMES: ReadonlySet<Trigger> = new Set<Trigger>(["upstreamKnown", "shardAcquired"]);

/**
 * Triggers whose cause is outside the upstream object (a Secret, a namespace's labels), so its
 * stored status cannot tell whether a verdict saw it. The controller remembers each key they
 * touch until a run of it starts on this replica, and each Secret its watch saw change (a
 * follower resolves nothing, so no rotation names its upstreams): a key touched, or whose Secret
 * changed after its lastVerified, runs at once on takeover instead of being resumed. A change
 * made while no replica was watching (a Vault secret, or anything while the whole deployment was
 * down) is seen at the key's next periodic run, within one interval.
 */
export const OUTSIDE: ReadonlySet<Trigger> = new Set<Trigger>(["secretRotated", "namespaceLabelsChanged"]);

/** How a resumed key goes on the queue. */
export type Resume =
  /** A settled verdict about the current spec: next run one interval after `lastVerifiedMs`. */
  | { action: "resume"; lastVerifiedMs: number }
  /** Nothing to resume from: run now at this priority. */
  | { action: "now"; priority: Priority };

/**
 * How a key seen by a RESUMES trigger is queued, from its stored status (the newest object the
 * watch delivered; undefined when unknown). Pure. `fallback` (the trigger's priority) for a key
 * never verified (no entry, or no lastVerified: no verification ever passed) and for one whose
 * spec changed since its verdict (observedSpec, not the generation: every status write bumps
 * that); `forced` for a reverify annotation the stored status has not answered yet (asked while
 * no replica was leading); `routine` for a verdict held through a passing fault (a condition
 * Unknown), whose retry was due anyway. A lastVerified that does not parse counts as none.
 */
export function resumeOf(object: JsonObject | undefined, statusKey: string, fallback: Priority): Resume {
  const entry = object === undefined ? undefined : readOwnStatus(object, statusKey);
  if (object === undefined || entry === undefined) return { action: "now", priority: fallback };
  const reverify = annotationsOf(object)[ANNOTATIONS.reverify]?.trim();
  if (reverify !== undefined && reverify !== "" && reverifyMark(reverify) !== entry.details.observedReverify) return { action: "now", priority: "forced" };
  if (entry.details.observedSpec !== specFingerprint(object)) return { action: "now", priority: fallback };
  const lastVerifiedMs = entry.details.lastVerified === undefined ? NaN : Date.parse(entry.details.lastVerified);
  if (!Number.isFinite(lastVerifiedMs)) return { action: "now", priority: fallback };
  if (entry.details.conditions.some((c) => c.status === "Unknown")) return { action: "now", priority: "routine" };
  return { action: "resume", lastVerifiedMs };
}

/**
 * Triggers that settle: edits come in bursts (an annotation flapping in a GitOps fight, a label put
 * on a namespace, then changed back). The first edit of a key is reconciled at once; another within
 * SETTLE_MS of it waits for the window's end, and the queue keeps a pending key's earliest start, so
 * a key runs at most once per window however often it is edited, each run reading the object as it
 * is then. A `forced` request and a rotated secret never wait.
 */
export const SETTLES: ReadonlySet<Trigger> = new Set<Trigger>(["upstreamChanged", "namespaceLabelsChanged"]);

export const SETTLE_MS = 1000;

/** What the queue does with a key after its reconcile. */
export type FollowUp =
  /** Verified and published: again after the routine interval (the periodic re-verification). */
  | { action: "periodic"; afterMs: number }
  /** A passing fault, a failed write, a superseded verdict: again after the key's backoff, no sooner than `notBeforeMs`. */
  | { action: "retry"; notBeforeMs?: number }
  /** Nothing to come back for (a skipped type): until the next event. */
  | { action: "done" }
  /** Deleted: the key leaves the queue entirely. */
  | { action: "remove" }
  /** The lease moved: the new leader queues it (shardAcquired), this replica does nothing. */
  | { action: "none" };

/** The follow-up of a reconcile result. Pure. */
export function followUp(result: ReconcileResult, verifyIntervalMs: number): FollowUp {
  switch (result.kind) {
    case "gone":
      return { action: "remove" };
    case "skipped":
      return { action: "done" };
    case "handedOver":
      return { action: "none" };
    case "superseded":
    case "failed":
      return { action: "retry" };
    case "published":
      if (!result.transient) return { action: "periodic", afterMs: verifyIntervalMs };
      return result.retryAfterMs === undefined ? { action: "retry" } : { action: "retry", notBeforeMs: result.retryAfterMs };
    default:
      return result satisfies never;
  }
}

/**
 * The Secrets (`namespace/name`) whose material a cloud upstream's credentials come from; none for
 * another type, ambient credentials, or a spec that cannot be read (its verdict says so already).
 * Pure: a resumed key whose Secret changed after its lastVerified runs at once.
 */
export function referencedSecrets(object: JsonObject, providers: ProviderRegistry): string[] {
  try {
    const upstream = parseUpstream(object);
    if (!isCloudUpstream(upstream)) return [];
    const plan = providers.forKind(upstream.kind).credentials(upstream, parseUpstreamOptions(upstream.meta));
    return plan.secrets.map((need) => `${need.ref.namespace}/${need.ref.name}`);
  } catch {
    return [];
  }
}

/**
 * True for an upstream of a type credbroker does not manage (kube, static, ...) that carries
 * nothing credbroker wrote (no status entry, no published-functions annotation): its reconcile
 * would only say "skipped", so startup and takeover need not queue it. In a Gloo fleet these are
 * often most of the upstreams (discovery creates one per Kubernetes service). Pure; an object
 * that does not parse is not left alone (its reconcile says why).
 */
export function leftAlone(object: JsonObject | undefined, statusKey: string): boolean {
  if (object === undefined) return false;
  try {
    if (isCloudUpstream(parseUpstream(object))) return false;
  } catch {
    return false;
  }
  return rawStatusEntry(object, statusKey) === undefined && !(PUBLISHED_FUNCTIONS_ANNOTATION in annotationsOf(object));
}
