// desiredState: the spec patch and status entry a pass wants, the generation they will produce, and when the entry is due.
import { describe, expect, it } from "vitest";
import { desiredState } from "../../src/model/desired-state.js";
import type { Evaluation } from "../../src/model/evaluation.js";
import type { JsonObject } from "../../src/model/fields.js";
import { deepFreeze } from "../../src/runtime/cache/value-interner.js";
import { lambdaEntry, verifiedEvaluation } from "../support/evaluations.js";

const SETTINGS = { statusKey: "credbroker", maxFunctions: 500, reportedBy: "credbroker", heartbeatMs: 600_000 };
const NOW = new Date("2026-12-02T00:00:00Z");
const entry = lambdaEntry;
const evaluation = (names: string[], verifiedAtMs?: number): Evaluation => verifiedEvaluation(names, verifiedAtMs === undefined ? {} : { verifiedAtMs });

function object(list: string[], annotation?: string): JsonObject {
  return {
    metadata: { namespace: "team", name: "orders", generation: 4, resourceVersion: "9", annotations: annotation === undefined ? {} : { "credbroker.io/published-functions": annotation } },
    spec: { aws: { region: "us-east-1", lambdaFunctions: list.map(entry) } },
  };
}

describe("desiredState", () => {
  it("expects two generation bumps when the list changes (spec write, then status write)", () => {
    const d = desiredState(object([]), evaluation(["a"]), SETTINGS, NOW);
    expect(d.specPatch).toBeDefined();
    expect(d.entry.details.observedGeneration).toBe(6);
  });

  it("expects one when only the annotation changes: a metadata-only write bumps nothing", () => {
    const d = desiredState(object(["a"], "a,gone"), evaluation(["a"]), SETTINGS, NOW);
    expect(d.specPatch).toEqual({ metadata: { resourceVersion: "9", annotations: { "credbroker.io/published-functions": "a" } }, spec: { aws: { lambdaFunctions: [entry("a")] } } });
    expect(d.entry.details.observedGeneration).toBe(5);
  });

  it("wants no write at all once the object holds it, until the heartbeat is due", () => {
    const first = desiredState(object(["a"], "a"), evaluation(["a"]), SETTINGS, NOW);
    const stored = { ...object(["a"], "a"), status: { statuses: { credbroker: first.entry } } };
    const again = desiredState(stored, evaluation(["a"]), SETTINGS, new Date(NOW.getTime() + 60_000));
    expect(again).toMatchObject({ specPatch: undefined, statusDue: false });
    expect(desiredState(stored, evaluation(["a"]), SETTINGS, new Date(NOW.getTime() + 600_000)).statusDue).toBe(true);
    expect(desiredState(stored, evaluation(["a"]), SETTINGS, new Date(NOW.getTime() + 60_000), { forced: true }).statusDue).toBe(true);
  });

  it("dates lastVerified when the cloud answered, never later than now", () => {
    const answered = NOW.getTime() - 240_000;
    expect(desiredState(object([]), evaluation([], answered), SETTINGS, NOW).entry.details.lastVerified).toBe(new Date(answered).toISOString());
    expect(desiredState(object([]), evaluation([], NOW.getTime() + 5000), SETTINGS, NOW).entry.details.lastVerified).toBe(NOW.toISOString());
  });

  it("computes the same from a deep-frozen object as from a fresh one (the index holds shared, frozen lists)", () => {
    // Frozen as the index freezes its shared lists.
    const freeze = <T extends object>(v: T): T => {
      deepFreeze(v);
      return v;
    };
    // A hand-written entry, one credbroker published and no longer discovers, and a new discovery.
    const stored = (): JsonObject => ({ ...object(["hand", "gone"], "gone"), status: { statuses: { credbroker: desiredState(object([]), evaluation(["x"]), SETTINGS, NOW).entry } } });
    const frozen = desiredState(freeze(stored()), evaluation(["new"]), SETTINGS, NOW);
    expect(frozen).toEqual(desiredState(stored(), evaluation(["new"]), SETTINGS, NOW));
    expect(frozen.specPatch).toEqual({ metadata: { resourceVersion: "9", annotations: { "credbroker.io/published-functions": "new" } }, spec: { aws: { lambdaFunctions: [entry("hand"), entry("new")] } } });
  });
});
