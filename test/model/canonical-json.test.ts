import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalJson, jsonEqual } from "../../src/model/text.js";

/** The same JSON value with every object's keys in another order (a property holding undefined may be dropped). */
function reordered(value: unknown, pick: (n: number) => number): unknown {
  if (Array.isArray(value)) return value.map((v) => reordered(v, pick));
  if (typeof value !== "object" || value === null) return value;
  const entries = Object.entries(value);
  const out: Record<string, unknown> = {};
  while (entries.length > 0) {
    const [k, v] = entries.splice(pick(entries.length), 1)[0] as [string, unknown];
    if (v === undefined && pick(2) === 0) continue;
    Object.defineProperty(out, k, { value: reordered(v, pick), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

const json = fc.jsonValue({ maxDepth: 4 }).chain((v) => fc.constantFrom(v, { wrapped: v, extra: undefined }));

describe("canonicalJson and jsonEqual", () => {
  it("canonicalJson writes keys in order whether or not they came in order, integer-like keys included", () => {
    expect(canonicalJson({ b: 1, a: { d: [{ y: 1, x: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[{"x":2,"y":1}]},"b":1}');
    expect(canonicalJson({ a: 1, b: 2 })).toBe('{"a":1,"b":2}');
    expect(canonicalJson({ "10": 1, "9": 2, x: undefined })).toBe(JSON.stringify({ "9": 2, "10": 1 }));
    // An own __proto__ key, as JSON.parse makes it, is a key like any other, sorted or not.
    expect(canonicalJson(JSON.parse('{"z":1,"__proto__":{"b":2,"a":1}}'))).toBe('{"__proto__":{"a":1,"b":2},"z":1}');
    expect(canonicalJson(JSON.parse('{"__proto__":0,"a":1}'))).toBe('{"__proto__":0,"a":1}');
  });

  it("jsonEqual agrees with comparing canonicalJson texts, for values equal up to key order and for any two values", () => {
    fc.assert(
      fc.property(json, fc.infiniteStream(fc.nat()), (v, stream) => {
        const it = stream[Symbol.iterator]();
        const pick = (n: number) => (it.next().value as number) % n;
        const w = reordered(v, pick);
        expect(canonicalJson(w)).toBe(canonicalJson(v));
        expect(jsonEqual(v, w)).toBe(true);
        expect(jsonEqual(w, v)).toBe(true);
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(json, json, (a, b) => {
        expect(jsonEqual(a, b)).toBe(canonicalJson(a) === canonicalJson(b));
      }),
      { numRuns: 2000 },
    );
  });

  it("jsonEqual tells apart what differs: a value, a missing key, an array's length or order, null against absent", () => {
    expect(jsonEqual({ a: 1 }, { a: 2 })).toBe(false);
    expect(jsonEqual({ a: 1, b: 2 }, { a: 1 })).toBe(false);
    expect(jsonEqual({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(jsonEqual([1, 2], [2, 1])).toBe(false);
    expect(jsonEqual([1], [1, 1])).toBe(false);
    expect(jsonEqual({ a: null }, {})).toBe(false);
    expect(jsonEqual({ a: undefined }, {})).toBe(true);
    expect(jsonEqual([], {})).toBe(false);
    expect(jsonEqual("1", 1)).toBe(false);
    // Values that write themselves compare as written.
    expect(jsonEqual({ at: new Date(0) }, { at: new Date(1) })).toBe(false);
    expect(jsonEqual({ at: new Date(0) }, { at: new Date(0) })).toBe(true);
    expect(jsonEqual({ at: new Date(0) }, { at: "1970-01-01T00:00:00.000Z" })).toBe(true);
  });
});
