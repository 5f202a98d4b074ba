// What follows each reconcile result, and the queue priority of each trigger.
import { describe, expect, it } from "vitest";
import type { ReconcileResult } from "../../src/controller/reconcile.js";
import { followUp, leftAlone, referencedSecrets, RESUMES, resumeOf, TRIGGERS, type FollowUp } from "../../src/controller/triggers.js";
import { CredbrokerError } from "../../src/model/errors.js";
import type { JsonObject } from "../../src/model/fields.js";
import { specFingerprint } from "../../src/model/spec-fingerprint.js";
import { scriptedProvider, scriptedRegistry, type Calls } from "../support/in-memory-ports.js";

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
  it("gives each trigger its priority: reverify is forced, never-verified and resumed ones are new, the rest routine", () => {
    expect(TRIGGERS).toEqual({
      upstreamNew: "new",
      upstreamKnown: "new",
      reverifyRequested: "forced",
      upstreamChanged: "routine",
      namespaceLabelsChanged: "routine",
      secretRotated: "routine",
      shardAcquired: "new",
    });
  });
});

const VERIFIED_AT = "2026-12-01T10:00:00.000Z";

/** An upstream with credbroker's entry as a pass stores it; `change` edits the entry's details or the object. */
function stored(change: (details: JsonObject, obj: JsonObject) => void = () => undefined): JsonObject {
  const obj: JsonObject = { metadata: { namespace: "team", name: "orders", annotations: {} }, spec: { aws: { region: "us-east-1", secretRef: { name: "keys" } } } };
  const details: JsonObject = {
    observedGeneration: 2,
    observedSpec: specFingerprint(obj),
    conditions: [{ type: "Authenticated", status: "True", reason: "Verified", message: "", lastTransitionTime: VERIFIED_AT }],
    lastVerified: VERIFIED_AT,
  };
  obj.status = { statuses: { credbroker: { state: "Accepted", reason: "", reportedBy: "credbroker", details } } };
  change(details, obj);
  return obj;
}

describe("resumeOf", () => {
  it("resumes from lastVerified a settled verdict about the current spec", () => {
    expect(resumeOf(stored(), "credbroker", "new")).toEqual({ action: "resume", lastVerifiedMs: Date.parse(VERIFIED_AT) });
  });

  it("runs now, at the trigger's priority, a key never verified or whose spec changed since its verdict", () => {
    expect(resumeOf(undefined, "credbroker", "new")).toEqual({ action: "now", priority: "new" });
    expect(resumeOf({ metadata: { namespace: "team", name: "orders" }, spec: {} }, "credbroker", "new")).toEqual({ action: "now", priority: "new" });
    expect(resumeOf(stored((d) => delete d.lastVerified), "credbroker", "new")).toEqual({ action: "now", priority: "new" });
    expect(resumeOf(stored((d) => (d.lastVerified = "yesterday")), "credbroker", "new")).toEqual({ action: "now", priority: "new" });
    expect(resumeOf(stored((_d, o) => (o.spec = { aws: { region: "eu-west-1", secretRef: { name: "keys" } } })), "credbroker", "new")).toEqual({ action: "now", priority: "new" });
    expect(resumeOf(stored((d) => delete d.observedSpec), "credbroker", "new")).toEqual({ action: "now", priority: "new" });
    // Another reporter's entry is not ours to resume from.
    expect(resumeOf(stored(), "credbroker-eu", "new")).toEqual({ action: "now", priority: "new" });
  });

  it("does not resume from a changed generation alone: every status write bumps it", () => {
    expect(resumeOf(stored((d, o) => ((o.metadata as JsonObject).generation = 9, (d.observedGeneration = 4))), "credbroker", "new")).toMatchObject({ action: "resume" });
  });

  it("runs a reverify asked while nobody led now, forced, and resumes one already answered", () => {
    const asked = stored((_d, o) => ((o.metadata as JsonObject).annotations = { "credbroker.io/reverify": "token-2" }));
    expect(resumeOf(asked, "credbroker", "new")).toEqual({ action: "now", priority: "forced" });
    const answered = stored((d, o) => {
      (o.metadata as JsonObject).annotations = { "credbroker.io/reverify": "token-2" };
      d.observedReverify = "token-2";
    });
    expect(resumeOf(answered, "credbroker", "new")).toMatchObject({ action: "resume" });
  });

  it("runs a verdict held through a passing fault now, as routine work", () => {
    const held = stored((d) => (d.conditions = [{ type: "Authenticated", status: "Unknown", reason: "Throttled", message: "", lastTransitionTime: VERIFIED_AT }]));
    expect(resumeOf(held, "credbroker", "new")).toEqual({ action: "now", priority: "routine" });
  });

  it("applies to startup and takeover only", () => {
    expect([...RESUMES].sort()).toEqual(["shardAcquired", "upstreamKnown"]);
  });
});

describe("leftAlone", () => {
  const other = (extra: JsonObject = {}): JsonObject => ({ metadata: { namespace: "team", name: "svc", ...extra }, spec: { kube: { serviceName: "svc" } } });

  it("leaves alone an upstream of another type that carries nothing of credbroker's", () => {
    expect(leftAlone(other(), "credbroker")).toBe(true);
  });

  it("does not leave alone a cloud upstream, one with credbroker's status or annotation, or one that does not parse", () => {
    expect(leftAlone(stored(), "credbroker")).toBe(false);
    expect(leftAlone({ ...other(), status: { statuses: { credbroker: { state: "Accepted" } } } }, "credbroker")).toBe(false);
    expect(leftAlone(other({ annotations: { "credbroker.io/published-functions": "[]" } }), "credbroker")).toBe(false);
    expect(leftAlone({ metadata: { namespace: "team", name: "svc" }, spec: { aws: {}, kube: {} } }, "credbroker")).toBe(false);
    expect(leftAlone(undefined, "credbroker")).toBe(false);
  });
});

describe("referencedSecrets", () => {
  const calls: Calls = { resolves: 0, verifies: [], discovers: 0 };
  const providers = scriptedRegistry(scriptedProvider({ verify: { status: "valid", identity: { provider: "aws", account: "1", arn: "a" } }, discover: { status: "listed", functions: [], warnings: [] } }, calls, ["aws"], undefined));

  it("names the Secrets a cloud upstream's credentials come from, and none for another type", () => {
    expect(referencedSecrets(stored(), providers)).toEqual(["team/keys"]);
    expect(referencedSecrets({ metadata: { namespace: "team", name: "svc" }, spec: { kube: {} } }, providers)).toEqual([]);
    expect(referencedSecrets({ metadata: { namespace: "team", name: "svc" }, spec: { aws: "not an object" } }, providers)).toEqual([]);
  });
});
