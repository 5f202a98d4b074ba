// What follows each reconcile result, and the queue priority of each trigger.
import { describe, expect, it } from "vitest";
import type { ReconcileResult } from "../../src/controller/reconcile.js";
import { followUp, TRIGGERS, type FollowUp } from "../../src/controller/triggers.js";
import { CredbrokerError } from "../../src/model/errors.js";

const INTERVAL_MS = 300_000;
const object = { metadata: { namespace: "team", name: "orders" } };
const published = { kind: "published", state: "Accepted", reason: "", conditionReason: "Verified", wrote: true, object } as const;

const CASES: { name: string; result: ReconcileResult; next: FollowUp }[] = [
  { name: "gone", result: { kind: "gone" }, next: { action: "remove" } },
  { name: "skipped", result: { kind: "skipped", because: "type static is not aws, azure or awsEc2" }, next: { action: "done" } },
  { name: "handedOver", result: { kind: "handedOver" }, next: { action: "none" } },
  { name: "superseded", result: { kind: "superseded", object }, next: { action: "retry" } },
  { name: "failed", result: { kind: "failed", error: new CredbrokerError("InternalError", "kubernetes patch failed with HTTP 503") }, next: { action: "retry" } },
  { name: "published, a verdict", result: { ...published, transient: false }, next: { action: "periodic", afterMs: INTERVAL_MS } },
  { name: "published, a verdict with nothing written", result: { ...published, wrote: false, transient: false }, next: { action: "periodic", afterMs: INTERVAL_MS } },
  // A Retry-After on a verdict is moot: the routine interval is the next look.
  { name: "published, a verdict with a Retry-After", result: { ...published, transient: false, retryAfterMs: 7000 }, next: { action: "periodic", afterMs: INTERVAL_MS } },
  { name: "published, a passing fault", result: { ...published, state: "Pending", transient: true }, next: { action: "retry" } },
  { name: "published, a passing fault with a Retry-After", result: { ...published, state: "Pending", transient: true, retryAfterMs: 7000 }, next: { action: "retry", notBeforeMs: 7000 } },
];

describe("followUp", () => {
  it.each(CASES)("answers $next.action for $name", ({ result, next }) => {
    expect(followUp(result, INTERVAL_MS)).toEqual(next);
  });

  it("covers every kind of reconcile result", () => {
    const kinds: Record<ReconcileResult["kind"], true> = { gone: true, superseded: true, skipped: true, published: true, handedOver: true, failed: true };
    expect(new Set(CASES.map((c) => c.result.kind))).toEqual(new Set(Object.keys(kinds)));
  });

  it("uses the interval it is given for the periodic re-verification", () => {
    expect(followUp({ ...published, transient: false }, 42_000)).toEqual({ action: "periodic", afterMs: 42_000 });
  });
});

describe("TRIGGERS", () => {
  it("gives each trigger its priority: reverify is forced, never-verified ones are new, the rest routine", () => {
    expect(TRIGGERS).toEqual({
      upstreamNew: "new",
      upstreamKnown: "routine",
      reverifyRequested: "forced",
      upstreamChanged: "routine",
      namespaceLabelsChanged: "routine",
      secretRotated: "routine",
      shardAcquired: "new",
    });
  });
});
