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
});
