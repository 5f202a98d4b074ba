// desiredState and the reverify annotation: the status entry records which request a pass read (observedReverify), and a new one is always written.
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { desiredState } from "../../src/model/desired-state.js";
import type { JsonObject } from "../../src/model/fields.js";
import { verifiedEvaluation } from "../support/evaluations.js";

const SETTINGS = { statusKey: "credbroker", maxFunctions: 500, reportedBy: "credbroker", heartbeatMs: 600_000 };
const NOW = new Date("2026-12-02T00:00:00Z");
const LATER = new Date(NOW.getTime() + 60_000);
const REVERIFY = "credbroker.io/reverify";
/** Discovery found nothing: the spec already holds the (empty) list, so only the status entry is in play. */
const EVALUATION = verifiedEvaluation([]);

function object(reverify?: string, status?: unknown): JsonObject {
  return {
    metadata: { namespace: "team", name: "orders", generation: 4, resourceVersion: "9", annotations: reverify === undefined ? {} : { [REVERIFY]: reverify } },
    spec: { aws: { region: "us-east-1", lambdaFunctions: [] } },
    ...(status === undefined ? {} : { status: { statuses: { credbroker: status } } }),
  };
}

/** The object as it is after the entry desiredState wanted for it was stored, its annotation then set to `next`. */
function storedThenAnnotated(first: string | undefined, next: string | undefined): JsonObject {
  const stored = desiredState(object(first), EVALUATION, SETTINGS, NOW).entry;
  return object(next, stored);
}

const sha = (value: string): string => `sha256:${createHash("sha256").update(value).digest("hex").slice(0, 32)}`;

describe("observedReverify in the desired status entry", () => {
  it("records a plain token as it is, trimmed", () => {
    expect(desiredState(object("rv-lz3k9-1-00ab12"), EVALUATION, SETTINGS, NOW).entry.details.observedReverify).toBe("rv-lz3k9-1-00ab12");
    expect(desiredState(object("  kubectl:2026-12-02.1  "), EVALUATION, SETTINGS, NOW).entry.details.observedReverify).toBe("kubectl:2026-12-02.1");
  });

  it.each([
    ["a value past 128 characters", "x".repeat(129)],
    ["a value with spaces", "please check again, the key was rotated"],
    ["a value with markup", '<script>alert("hi")</script>'],
    ["a value with non-ASCII letters", "überprüfen"],
    ["a value with a newline", "one\ntwo"],
  ])("records %s as sha256:<32 hex> of the trimmed value, never the value itself", (_label, value) => {
    const d = desiredState(object(` ${value} `), EVALUATION, SETTINGS, NOW);
    const mark = d.entry.details.observedReverify;
    expect(mark).toMatch(/^sha256:[0-9a-f]{32}$/);
    expect(mark).toBe(sha(value));
    expect(JSON.stringify(d.entry)).not.toContain(JSON.stringify(value).slice(1, -1));
    expect(JSON.stringify(d.statusPatch)).not.toContain(JSON.stringify(value).slice(1, -1));
  });

  it("records nothing when the annotation is absent, empty or blank", () => {
    for (const value of [undefined, "", "   "]) {
      const d = desiredState(object(value), EVALUATION, SETTINGS, NOW);
      expect(d.entry.details).not.toHaveProperty("observedReverify");
    }
  });

  it("puts the token in the status patch", () => {
    const d = desiredState(object("rv-1"), EVALUATION, SETTINGS, NOW);
    expect(d.statusPatch).toMatchObject({ status: { statuses: { credbroker: { details: { observedReverify: "rv-1" } } } }, metadata: { resourceVersion: "9" } });
  });
});

describe("statusDue and the reverify token", () => {
  it("wants no write when the token is unchanged and nothing else changed (heartbeat not due)", () => {
    for (const token of [undefined, "rv-1", "an odd value, hashed"]) {
      const d = desiredState(storedThenAnnotated(token, token), EVALUATION, SETTINGS, LATER);
      expect(d.statusDue).toBe(false);
      expect(d.entry.details.observedReverify).toBe(d.previous?.details.observedReverify);
    }
  });

  it("wants a write when the token changed though nothing else did (not forced, heartbeat not due)", () => {
    const d = desiredState(storedThenAnnotated("rv-1", "rv-2"), EVALUATION, SETTINGS, LATER);
    expect(d.statusDue).toBe(true);
    expect(d.previous?.state).toBe(d.entry.state);
    expect(d.previous?.details.conditions).toEqual(d.entry.details.conditions);
    expect(d.entry.details.observedReverify).toBe("rv-2");
  });

  it("wants a write for a first token and for a changed odd value", () => {
    expect(desiredState(storedThenAnnotated(undefined, "rv-1"), EVALUATION, SETTINGS, LATER).statusDue).toBe(true);
    expect(desiredState(storedThenAnnotated("check please", "check again please"), EVALUATION, SETTINGS, LATER).statusDue).toBe(true);
  });

  it("drops a stale mark (a null in the patch) when the annotation was removed", () => {
    const d = desiredState(storedThenAnnotated("rv-1", undefined), EVALUATION, SETTINGS, LATER);
    expect(d.statusDue).toBe(true);
    expect(d.entry.details).not.toHaveProperty("observedReverify");
    expect(d.statusPatch).toMatchObject({ status: { statuses: { credbroker: { details: { observedReverify: null } } } } });
  });
});
