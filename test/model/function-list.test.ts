// Function lists: mapping discovered Lambda and Azure functions, filtering, merging with hand-written entries, capping.
import { describe, expect, it } from "vitest";
import { ValidationError } from "../../src/model/errors.js";
import { functionMatches, MATCH_ALL, parseFunctionFilter, parseLambdaQualifiers } from "../../src/model/function-filter.js";
import { listsEqual, PUBLISHED_FUNCTIONS_ANNOTATION } from "../../src/model/function-list.js";
import { azureEntries, lambdaEntries, lambdaFunctionsPatch, mergeAzureFunctions, mergeLambdaFunctions } from "../support/function-lists.js";
import type { LambdaFunctionSpec } from "../../src/model/upstream.js";

const FIELD = 'metadata.annotations["x"]';

describe("lambdaEntries", () => {
  const discovered = [{ functionName: "orders", versions: ["$LATEST", "2", "1"], aliases: ["prod"] }, { functionName: "billing", versions: ["1"] }];

  it("maps $LATEST to the bare name by default", () => {
    expect(lambdaEntries(discovered, ["latest"], MATCH_ALL)).toEqual([
      { logicalName: "billing", lambdaFunctionName: "billing", qualifier: "$LATEST" },
      { logicalName: "orders", lambdaFunctionName: "orders", qualifier: "$LATEST" },
    ]);
  });

  it("maps versions to f:n and aliases to f:a, sorted by logicalName", () => {
    expect(lambdaEntries(discovered, ["versions", "aliases"], MATCH_ALL)).toEqual([
      { logicalName: "billing:1", lambdaFunctionName: "billing", qualifier: "1" },
      { logicalName: "orders:1", lambdaFunctionName: "orders", qualifier: "1" },
      { logicalName: "orders:2", lambdaFunctionName: "orders", qualifier: "2" },
      { logicalName: "orders:prod", lambdaFunctionName: "orders", qualifier: "prod" },
    ]);
  });

  it("applies the function filter to function names", () => {
    const filter = parseFunctionFilter("orders-*,!*-test", FIELD);
    const names = lambdaEntries(
      ["orders-api", "orders-api-test", "billing", "orders-worker"].map((functionName) => ({ functionName })),
      ["latest"],
      filter,
    ).map((e) => e.logicalName);
    expect(names).toEqual(["orders-api", "orders-worker"]);
  });
});

describe("parseFunctionFilter and functionMatches", () => {
  it("includes everything without include globs, then excludes", () => {
    const filter = parseFunctionFilter("!*-test, !tmp?", FIELD);
    expect(filter).toEqual({ include: [], exclude: ["*-test", "tmp?"] });
    expect(functionMatches(filter, "orders")).toBe(true);
    expect(functionMatches(filter, "orders-test")).toBe(false);
    expect(functionMatches(filter, "tmp1")).toBe(false);
    expect(functionMatches(filter, "tmp12")).toBe(true);
  });

  it("treats regex characters in names literally", () => {
    expect(functionMatches(parseFunctionFilter("a.b", FIELD), "axb")).toBe(false);
  });

  it("names the field on a bad glob", () => {
    expect(() => parseFunctionFilter("ok,bad glob", FIELD)).toThrow(expect.objectContaining({ field: FIELD, reason: "InvalidSpec" }) as Error);
  });
});

describe("parseLambdaQualifiers", () => {
  it("defaults to latest and returns canonical order", () => {
    expect(parseLambdaQualifiers(undefined, FIELD)).toEqual(["latest"]);
    expect(parseLambdaQualifiers("Aliases, latest,aliases", FIELD)).toEqual(["latest", "aliases"]);
    expect(parseLambdaQualifiers("all", FIELD)).toEqual(["latest", "versions", "aliases"]);
  });

  it("names the field for an unknown qualifier", () => {
    expect(() => parseLambdaQualifiers("latest,tags", FIELD)).toThrow(ValidationError);
    expect(() => parseLambdaQualifiers("latest,tags", FIELD)).toThrow(`${FIELD}:`);
  });
});

const fn = (logicalName: string, lambdaFunctionName = logicalName.split(":")[0]!, qualifier = "$LATEST"): LambdaFunctionSpec => ({
  logicalName,
  lambdaFunctionName,
  qualifier,
});

describe("mergeLambdaFunctions", () => {
  it("keeps a hand-written entry and drops one credbroker published that is gone", () => {
    const current = [fn("zeta-by-hand", "legacy", "3"), fn("gone"), fn("kept")];
    const result = mergeLambdaFunctions({ current, discovered: [fn("kept"), fn("new")], publishedAnnotation: "gone,kept" });
    expect(result.items.map((e) => e.logicalName)).toEqual(["kept", "new", "zeta-by-hand"]);
    expect(result.publishedAnnotation).toBe("kept,new");
    expect(result.counts).toEqual({ discovered: 2, published: 2, truncated: false });
    expect(result.changed).toBe(true);
  });

  it("lets a hand-written entry win over a discovered one of the same name", () => {
    const byHand = fn("orders", "orders", "7");
    const result = mergeLambdaFunctions({ current: [byHand], discovered: [fn("orders")], publishedAnnotation: undefined });
    expect(result.items).toEqual([byHand]);
    expect(result.publishedAnnotation).toBeNull();
    expect(result.counts.published).toBe(0);
  });

  it("is idempotent: merging its own result changes nothing", () => {
    const first = mergeLambdaFunctions({ current: [fn("hand", "h", "1")], discovered: [fn("b"), fn("a")], publishedAnnotation: undefined });
    const second = mergeLambdaFunctions({ current: first.items, discovered: [fn("a"), fn("b")], publishedAnnotation: first.publishedAnnotation ?? undefined });
    expect(second.changed).toBe(false);
    expect(listsEqual(first.items, second.items)).toBe(true);
  });

  it("caps the list, never dropping hand-written entries, and reports truncation", () => {
    const discovered = Array.from({ length: 10 }, (_, i) => fn(`f${String(i).padStart(2, "0")}`));
    const result = mergeLambdaFunctions({ current: [fn("hand", "h", "1")], discovered, publishedAnnotation: undefined, maxFunctions: 4 });
    expect(result.items.map((e) => e.logicalName)).toEqual(["f00", "f01", "f02", "hand"]);
    expect(result.counts).toEqual({ discovered: 10, published: 3, truncated: true });
  });

  it("uses a default cap of 500", () => {
    const discovered = Array.from({ length: 501 }, (_, i) => fn(`f${String(i).padStart(3, "0")}`));
    const result = mergeLambdaFunctions({ current: [], discovered, publishedAnnotation: undefined });
    expect(result.items).toHaveLength(500);
    expect(result.counts.truncated).toBe(true);
  });

  it("builds a patch that carries the annotation and resourceVersion", () => {
    const result = mergeLambdaFunctions({ current: [], discovered: [fn("a")], publishedAnnotation: undefined });
    expect(lambdaFunctionsPatch(result, "17")).toEqual({
      metadata: { resourceVersion: "17", annotations: { [PUBLISHED_FUNCTIONS_ANNOTATION]: "a" } },
      spec: { aws: { lambdaFunctions: [fn("a")] } },
    });
  });
});

describe("listsEqual", () => {
  it("compares entries in order, field by field", () => {
    expect(listsEqual([fn("a")], [fn("a")])).toBe(true);
    expect(listsEqual([fn("a"), fn("b")], [fn("b"), fn("a")])).toBe(false);
    expect(listsEqual([fn("a")], [fn("a", "a", "1")])).toBe(false);
    expect(listsEqual([{ logicalName: "a", lambdaFunctionName: "a" }], [{ logicalName: "a", lambdaFunctionName: "a" }])).toBe(true);
  });
});

describe("Azure functions", () => {
  it("filters, sorts and merges with hand-written entries", () => {
    const discovered = azureEntries(
      [
        { functionName: "orders", authLevel: "Function" },
        { functionName: "health", authLevel: "Anonymous" },
        { functionName: "orders-test", authLevel: "Admin" },
      ],
      parseFunctionFilter("!*-test", FIELD),
    );
    const result = mergeAzureFunctions({
      current: [{ functionName: "manual", authLevel: "Admin" }, { functionName: "old", authLevel: "Function" }],
      discovered,
      publishedAnnotation: "old",
    });
    expect(result.items).toEqual([
      { functionName: "health", authLevel: "Anonymous" },
      { functionName: "manual", authLevel: "Admin" },
      { functionName: "orders", authLevel: "Function" },
    ]);
    expect(result.publishedAnnotation).toBe("health,orders");
    expect(result.counts).toEqual({ discovered: 2, published: 2, truncated: false });
  });
});

describe("mergeLambdaFunctions and the order of a hand-written list", () => {
  it("does not ask for a write just to sort a hand-written list", () => {
    const current: LambdaFunctionSpec[] = [
      { logicalName: "zeta", lambdaFunctionName: "zeta" },
      { logicalName: "alpha", lambdaFunctionName: "alpha" },
    ];
    const merged = mergeLambdaFunctions({ current, discovered: [], publishedAnnotation: undefined });
    expect(merged.changed).toBe(false);
    // When something else changes, the list written is sorted.
    const withNew = mergeLambdaFunctions({ current, discovered: [{ logicalName: "mid", lambdaFunctionName: "mid", qualifier: "$LATEST" }], publishedAnnotation: undefined });
    expect(withNew.changed).toBe(true);
    expect(withNew.items.map((e) => e.logicalName)).toEqual(["alpha", "mid", "zeta"]);
  });
});

describe("spellings the CRD accepts", () => {
  it("does not rewrite an entry credbroker owns that someone stored with Azure's numeric authLevel", () => {
    const merged = mergeAzureFunctions({
      current: [{ functionName: "orders", authLevel: 1 as unknown as "Function" }],
      discovered: [{ functionName: "orders", authLevel: "Function" }],
      publishedAnnotation: "orders",
    });
    expect(merged).toMatchObject({ changed: false, listChanged: false });
  });

  it("still rewrites it when the level itself changed", () => {
    const merged = mergeAzureFunctions({
      current: [{ functionName: "orders", authLevel: 0 as unknown as "Anonymous" }],
      discovered: [{ functionName: "orders", authLevel: "Function" }],
      publishedAnnotation: "orders",
    });
    expect(merged).toMatchObject({ changed: true, listChanged: true, items: [{ functionName: "orders", authLevel: "Function" }] });
  });

  it("tells an annotation-only change (no generation bump) from a list change", () => {
    const merged = mergeLambdaFunctions({ current: [fn("a")], discovered: [fn("a")], publishedAnnotation: "a,gone" });
    expect(merged).toMatchObject({ changed: true, listChanged: false, publishedAnnotation: "a" });
  });
});
