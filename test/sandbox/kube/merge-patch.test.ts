import { describe, expect, it } from "vitest";
import { applyMergePatch, deepEqual, diffMergePatch } from "../../../src/sandbox/kube/merge-patch.js";

describe("merge patch", () => {
  it("is undefined when documents are equal regardless of key order", () => {
    expect(diffMergePatch({ a: 1, b: { c: [1, 2] } }, { b: { c: [1, 2] }, a: 1 })).toBeUndefined();
  });

  it("sets null for removed members and replaces arrays whole", () => {
    const current = { state: "Accepted", details: { identity: { account: "1" }, conditions: [{ type: "A" }] } };
    const desired = { state: "Rejected", details: { conditions: [{ type: "A" }, { type: "B" }] } };
    expect(diffMergePatch(current, desired)).toEqual({
      state: "Rejected",
      details: { identity: null, conditions: [{ type: "A" }, { type: "B" }] },
    });
  });

  it("round-trips: applying the diff yields the desired document", () => {
    const cases: [unknown, unknown][] = [
      [{ a: 1, b: { c: 2, d: 3 } }, { a: 2, b: { d: 3, e: { f: 1 } } }],
      [{ list: [1] }, { list: [] }],
      [{}, { x: { y: { z: "deep" } } }],
      [{ x: { y: 1 } }, {}],
    ];
    for (const [current, desired] of cases) {
      const patch = diffMergePatch(current, desired);
      expect(deepEqual(applyMergePatch(current, patch), desired)).toBe(true);
    }
  });

  it("leaves its inputs untouched", () => {
    const target = { a: { b: 1 } };
    applyMergePatch(target, { a: { b: null, c: 2 } });
    expect(target).toEqual({ a: { b: 1 } });
  });
});
