// LruCache: bounded size, recency on read, peek without recency.
import { describe, expect, it } from "vitest";
import { LruCache } from "../../../src/runtime/cache/lru-cache.js";

describe("LruCache", () => {
  it("evicts the least recently used entry when full", () => {
    const c = new LruCache<string, number>(2);
    c.set("a", 1);
    c.set("b", 2);
    c.get("a");
    c.set("c", 3);
    expect(c.keys()).toEqual(["a", "c"]);
  });

  it("does not refresh an entry on peek", () => {
    const c = new LruCache<string, number>(2);
    c.set("a", 1);
    c.set("b", 2);
    expect(c.peek("a")).toBe(1);
    c.set("c", 3);
    expect(c.has("a")).toBe(false);
  });

  it("refuses a size below one", () => {
    expect(() => new LruCache(0)).toThrow(RangeError);
  });

  it("follows a bound given as a function, read on every write, shrinking to it oldest first", () => {
    let bound = 3;
    const c = new LruCache<string, number>(() => bound);
    for (const [i, k] of ["a", "b", "c", "d"].entries()) c.set(k, i);
    expect(c.keys()).toEqual(["b", "c", "d"]);
    bound = 2;
    expect(c.size).toBe(3);
    c.set("e", 4);
    expect(c.keys()).toEqual(["d", "e"]);
  });
});
