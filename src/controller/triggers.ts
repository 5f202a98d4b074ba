// Every reason an upstream key goes on the queue, and what follows a reconcile: the one place to read "why did this run, and when is the next?".
import type { Priority } from "../runtime/queue/work-queue.js";
import type { ReconcileResult } from "./reconcile.js";

/**
 * Event → priority. `new` goes first (never verified), `forced` bypasses every cache and jumps
 * the queue, `routine` waits its turn under the global rate limit.
 */
export const TRIGGERS = {
  /** First seen without a credbroker status: never verified. */
  upstreamNew: "new",
  /** First seen with a status (the broker restarted, or a watch relisted): verified again after the new ones. */
  upstreamKnown: "routine",
  /** `credbroker.io/reverify` changed (or the HTTP endpoint asked): someone wants an answer now. */
  reverifyRequested: "forced",
  /** Spec, labels or annotations changed; credbroker's own writes (function lists, status, generation) are not a change. */
  upstreamChanged: "routine",
  /** The namespace's labels changed (Gloo's discovery label may sit there): every upstream in it. */
  namespaceLabelsChanged: "routine",
  /** A secret it uses changed or disappeared. */
  secretRotated: "routine",
  /** This replica started leading the key's shard: every key of the shard, since nobody may have looked meanwhile. */
  shardAcquired: "new",
} as const satisfies Record<string, Priority>;

export type Trigger = keyof typeof TRIGGERS;

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
