// ValueInterner: equal JSON values held once and frozen, the values given left alone, entries gone once nothing holds them.
import { runInNewContext } from "node:vm";
import { setFlagsFromString } from "node:v8";
import { describe, expect, it } from "vitest";
import { ValueInterner } from "../../../src/runtime/cache/value-interner.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

describe("ValueInterner", () => {
  it("gives back one copy for equal values and another for values that differ", () => {
    const interner = new ValueInterner<object[]>();
    const first = interner.intern([{ name: "a", qualifier: "1" }]);
    expect(interner.intern([{ name: "a", qualifier: "1" }])).toBe(first);
    expect(interner.intern([{ name: "a", qualifier: "2" }])).not.toBe(first);
    expect(interner.intern([{ name: "a" }, { name: "b" }])).not.toBe(interner.intern([{ name: "b" }, { name: "a" }]));
    expect(interner.size).toBe(4);
    expect(interner.reused).toBe(1);
  });

  it("never shares values that only look alike in another key order: they are kept apart, not merged", () => {
    const interner = new ValueInterner<object[]>();
    const ab = interner.intern([{ a: 1, b: 2 }]);
    const ba = interner.intern([{ b: 2, a: 1 }]);
    expect(ba).not.toBe(ab);
    expect(Object.keys(ba[0]!)).toEqual(["b", "a"]);
  });

  it("freezes the shared copy deeply and leaves the value given unchanged and unfrozen", () => {
    const interner = new ValueInterner<{ name: string; tags: string[] }[]>();
    const given = [{ name: "a", tags: ["x"] }];
    const shared = interner.intern(given);
    expect(shared).not.toBe(given);
    expect(shared).toEqual(given);
    expect(Object.isFrozen(shared) && Object.isFrozen(shared[0]) && Object.isFrozen(shared[0]!.tags)).toBe(true);
    expect(() => shared[0]!.tags.push("y")).toThrow(TypeError);
    given[0]!.tags.push("y");
    expect(given[0]!.tags).toEqual(["x", "y"]);
    expect(shared[0]!.tags).toEqual(["x"]);
  });

  it("forgets a value once nothing else holds it, and hands out a new copy after", async () => {
    const interner = new ValueInterner<object[]>();
    // Interned and dropped inside a function: nothing in this test holds the copy afterwards.
    ((): void => void interner.intern([{ name: "short-lived" }]))();
    expect(interner.size).toBe(1);
    // A WeakRef keeps its target through the job that made it; the finalizer runs in a later task.
    for (let i = 0; i < 20 && interner.size > 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
      gc();
    }
    expect(interner.size).toBe(0);
    const again = interner.intern([{ name: "short-lived" }]);
    expect(again).toEqual([{ name: "short-lived" }]);
    expect(interner.reused).toBe(0);
  });
});
