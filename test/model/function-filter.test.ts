// Function filters: glob semantics, the bounds on the annotation, and globs that made the old regular expressions backtrack.
import { describe, expect, it } from "vitest";
import { ANNOTATIONS, annotationField, parseUpstreamOptions } from "../../src/model/annotations.js";
import { ValidationError } from "../../src/model/errors.js";
import {
  compileFunctionFilter,
  functionMatches,
  MATCH_ALL,
  MAX_FUNCTION_FILTER_BYTES,
  MAX_FUNCTION_FILTER_GLOBS,
  MAX_FUNCTION_GLOB_LENGTH,
  parseFunctionFilter,
} from "../../src/model/function-filter.js";
import { compileGlob } from "../../src/model/glob.js";

const FIELD = annotationField(ANNOTATIONS.functionFilter);

/** The ValidationError parseFunctionFilter throws for `value`; fails the test when it returns. */
function rejection(value: string): ValidationError {
  try {
    parseFunctionFilter(value, FIELD);
  } catch (err) {
    if (err instanceof ValidationError) return err;
    throw err;
  }
  throw new Error("parseFunctionFilter accepted the value");
}

describe("compileGlob", () => {
  it.each([
    ["orders", "orders", true],
    ["orders", "orders-api", false],
    ["orders", "xorders", false],
    ["orders-*", "orders-", true],
    ["orders-*", "orders-api", true],
    ["orders-*", "order-api", false],
    ["*-test", "orders-test", true],
    ["*-test", "orders-test-2", false],
    ["*", "", true],
    ["*", "anything", true],
    ["?", "", false],
    ["?", "a", true],
    ["?", "ab", false],
    ["tmp?", "tmp1", true],
    ["tmp?", "tmp12", false],
    ["a*b*c", "abc", true],
    ["a*b*c", "a-b-c", true],
    ["a*b*c", "acb", false],
    ["a*b*c", "abcb", false],
    ["a*b*c", "abcbc", true],
    ["*a*", "banana", true],
    ["*ab*ab*", "abab", true],
    ["*ab*ab*", "aba", false],
    ["*aab", "aaab", true],
    ["a?c*", "abcd", true],
    ["*?*?", "a", false],
    ["*?*?", "ab", true],
    ["a**b", "ab", true],
    ["a***b", "axxb", true],
    ["**", "", true],
    ["a.b", "a.b", true],
    ["a.b", "axb", false],
    ["fn:1", "fn:1", true],
  ])("%j against %j is %s", (glob, name, expected) => {
    expect(compileGlob(glob)(name)).toBe(expected);
  });

  it("is case-sensitive", () => {
    expect(compileGlob("Orders-*")("orders-api")).toBe(false);
    expect(compileGlob("orders-?PI")("orders-api")).toBe(false);
    expect(compileGlob("orders-?PI")("orders-aPI")).toBe(true);
  });

  it("keeps the head and the tail apart when they could overlap", () => {
    expect(compileGlob("ab*ba")("aba")).toBe(false);
    expect(compileGlob("ab*ba")("abba")).toBe(true);
    expect(compileGlob("a?*?a")("aaaa")).toBe(true);
    expect(compileGlob("a?*?a")("aaa")).toBe(false);
  });
});

describe("parseFunctionFilter and compileFunctionFilter", () => {
  it("includes everything without include globs, then excludes", () => {
    const passes = compileFunctionFilter(parseFunctionFilter("!*-test, !tmp?", FIELD));
    expect(["orders", "orders-test", "tmp1", "tmp12"].filter(passes)).toEqual(["orders", "tmp12"]);
  });

  it("keeps names any include passes and no exclude does", () => {
    const passes = compileFunctionFilter(parseFunctionFilter("orders-*,billing-?,!*-test", FIELD));
    expect(["orders-api", "orders-test", "billing-1", "billing-12", "reports"].filter(passes)).toEqual(["orders-api", "billing-1"]);
  });

  it("passes every name with MATCH_ALL and with an absent annotation", () => {
    expect(functionMatches(MATCH_ALL, "anything")).toBe(true);
    expect(parseFunctionFilter(undefined, FIELD)).toBe(MATCH_ALL);
  });

  it("ignores empty items and keeps each glob as written", () => {
    expect(parseFunctionFilter(" a* , ,!b?,", FIELD)).toEqual({ include: ["a*"], exclude: ["b?"] });
  });

  it("names the item and the field on a bad glob", () => {
    const err = rejection("ok,bad glob");
    expect(err).toMatchObject({ field: FIELD, reason: "InvalidSpec" });
    expect(err.message).toContain("item 2");
  });
});

describe("bounds on the annotation", () => {
  it("accepts a value at every limit", () => {
    const longest = "a".repeat(MAX_FUNCTION_GLOB_LENGTH);
    expect(parseFunctionFilter(longest, FIELD).include).toEqual([longest]);
    const most = Array.from({ length: MAX_FUNCTION_FILTER_GLOBS }, (_, i) => `f${i}*`).join(",");
    expect(parseFunctionFilter(most, FIELD).include).toHaveLength(MAX_FUNCTION_FILTER_GLOBS);
    // Padding counts towards the bytes, not the globs.
    const full = `a*${" ".repeat(MAX_FUNCTION_FILTER_BYTES - 2)}`;
    expect(parseFunctionFilter(full, FIELD).include).toEqual(["a*"]);
  });

  it.each([
    ["a value over the byte limit", `a*,${" ".repeat(MAX_FUNCTION_FILTER_BYTES)}`, `at most ${MAX_FUNCTION_FILTER_BYTES} bytes`],
    // 342 three-byte characters are 1026 bytes: the limit is on bytes, not characters.
    ["multi-byte characters over the byte limit", "\u20ac".repeat(342), `at most ${MAX_FUNCTION_FILTER_BYTES} bytes`],
    ["too many globs", Array.from({ length: MAX_FUNCTION_FILTER_GLOBS + 1 }, (_, i) => `f${i}`).join(","), `at most ${MAX_FUNCTION_FILTER_GLOBS} globs`],
    ["too many excludes", Array.from({ length: MAX_FUNCTION_FILTER_GLOBS + 1 }, (_, i) => `!f${i}`).join(","), `at most ${MAX_FUNCTION_FILTER_GLOBS} globs`],
    ["one glob too long", `ok,${"*a".repeat(MAX_FUNCTION_GLOB_LENGTH / 2)}b`, `item 2 must be at most ${MAX_FUNCTION_GLOB_LENGTH} characters`],
    ["one exclude too long", `!${"x".repeat(MAX_FUNCTION_GLOB_LENGTH + 1)}`, `item 1 must be at most ${MAX_FUNCTION_GLOB_LENGTH} characters`],
  ])("rejects %s as InvalidSpec naming the annotation and the limit", (_what, value, limit) => {
    const err = rejection(value);
    expect(err).toMatchObject({ reason: "InvalidSpec", field: FIELD, retryable: false });
    expect(err.message.startsWith(`${FIELD}: `)).toBe(true);
    expect(err.message).toContain(limit);
  });

  it("never echoes the value, and keeps the message short", () => {
    const marker = "zzsecretlookingzz";
    for (const value of [`${marker}*,${"x".repeat(2000)}`, `${marker}${"a".repeat(200)}`, Array.from({ length: 40 }, () => marker).join(",")]) {
      const err = rejection(value);
      expect(err.message).not.toContain(marker);
      expect(err.message.length).toBeLessThan(200);
    }
  });

  it("reaches the upstream's options as InvalidSpec on the annotation", () => {
    const annotations = { [ANNOTATIONS.functionFilter]: Array.from({ length: 40 }, (_, i) => `f${i}`).join(",") };
    expect(() => parseUpstreamOptions({ namespace: "team-a", annotations, labels: {} })).toThrow(
      expect.objectContaining({ reason: "InvalidSpec", field: FIELD }) as Error,
    );
  });
});

describe("globs that make a backtracking matcher explode", () => {
  const name64 = "a".repeat(64);
  const hostile = [
    // The regex ^.*a.*a.*a.*a.*a.*a.*b$ took 3-14 s against 64 'a's; each extra `*a` ×7.5, so a
    // regression fails the cheapest first (1.6 s) and hangs on the later ones.
    "*a*a*a*a*a*b",
    "*a*a*a*a*a*a*b",
    `${"*a".repeat(40)}*b`,
    // About 1 s per realistic name with the regex.
    "*?*?*?*?*?*?*?*Q",
    `${"*?".repeat(60)}*Q`,
    `${"a*".repeat(63)}b`,
  ];

  it.each(hostile)("answers %j at once against a 64-character name", (glob) => {
    const passes = compileFunctionFilter(parseFunctionFilter(glob, FIELD));
    const started = performance.now();
    const results = [name64, `${"a".repeat(63)}c`, "orders-api-handler-eu-west-1-production-blue-green-canary-0001"].map(passes);
    // A hang detector, not a benchmark (bench/function-filter.ts measures): the regex took seconds.
    expect(performance.now() - started).toBeLessThan(200);
    expect(results).toEqual([false, false, false]);
  });

  it("still matches what such a glob describes", () => {
    expect(compileGlob("*a*a*a*a*a*a*b")(`${"a".repeat(63)}b`)).toBe(true);
    expect(compileGlob("*?*?*?*?*?*?*?*Q")("abcdefgQ")).toBe(true);
    expect(compileGlob("*?*?*?*?*?*?*?*Q")("abcdefQ")).toBe(false);
  });
});
