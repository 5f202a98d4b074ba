// Merge patch (RFC 7386) and JSON patch (RFC 6902) as the emulator applies them.
import { describe, expect, it } from "vitest";
import { applyMergePatch } from "../../../src/sandbox/kube/merge-patch.js";
import { jsonPatch, JsonPatchError, stripStrategicDirectives } from "../../../src/sandbox/kube/patch.js";

describe("applyMergePatch, as the emulator applies merge patches", () => {
  it("merges objects, deletes on null, replaces arrays and scalars, and leaves its inputs alone", () => {
    const target = { a: { b: 1, c: 2 }, list: [1, 2], keep: true };
    const patch = { a: { b: null, d: 3 }, list: [3], added: "x" };
    expect(applyMergePatch(target, patch)).toEqual({ a: { c: 2, d: 3 }, list: [3], keep: true, added: "x" });
    expect(target).toEqual({ a: { b: 1, c: 2 }, list: [1, 2], keep: true });
  });

  it("replaces the whole document when the patch is not an object", () => {
    expect(applyMergePatch({ a: 1 }, [1])).toEqual([1]);
  });
});

describe("jsonPatch", () => {
  const doc = { metadata: { labels: { "a/b": "1" } }, items: ["x", "y"] };

  it("applies add, remove, replace, move, copy and test with escaped pointers", () => {
    const out = jsonPatch(doc, [
      { op: "test", path: "/metadata/labels/a~1b", value: "1" },
      { op: "add", path: "/items/-", value: "z" },
      { op: "add", path: "/items/0", value: "w" },
      { op: "remove", path: "/items/1" },
      { op: "replace", path: "/metadata/labels/a~1b", value: "2" },
      { op: "copy", from: "/items/0", path: "/first" },
      { op: "move", from: "/first", path: "/moved" },
    ]);
    expect(out).toEqual({ metadata: { labels: { "a/b": "2" } }, items: ["w", "y", "z"], moved: "w" });
    expect(doc.items).toEqual(["x", "y"]);
  });

  it.each([
    [[{ op: "test", path: "/items/0", value: "nope" }], "testing value"],
    [[{ op: "remove", path: "/missing" }], "does not exist"],
    [[{ op: "replace", path: "/items/5", value: 1 }], "does not exist"],
    [[{ op: "frobnicate", path: "/a" }], "unknown JSON patch operation"],
    [{ op: "add" }, "must be an array"],
  ])("refuses %j", (ops, message) => {
    expect(() => jsonPatch(doc, ops)).toThrow(JsonPatchError);
    expect(() => jsonPatch(doc, ops)).toThrow(message);
  });
});

describe("stripStrategicDirectives", () => {
  it("removes $-directives at every depth", () => {
    expect(stripStrategicDirectives({ $patch: "replace", data: { a: "b", "$setElementOrder/x": [] }, list: [{ $retainKeys: [] }] })).toEqual({ data: { a: "b" }, list: [{}] });
  });
});
