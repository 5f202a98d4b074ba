// Property-based checks of the function filter: same answers as two independent references, no throw escapes, no input that stalls.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ValidationError } from "../../src/model/errors.js";
import { compileFunctionFilter, MAX_FUNCTION_GLOB_LENGTH, parseFunctionFilter } from "../../src/model/function-filter.js";
import { compileGlob } from "../../src/model/glob.js";

const FIELD = 'metadata.annotations["credbroker.io/function-filter"]';
const RUNS = { numRuns: 500 };

/** The old implementation, as a reference: right, but exponential, so only fed short inputs. */
function regexReference(glob: string): (name: string) => boolean {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  // `s`: a star spans any character; the names below hold no line terminators anyway.
  const re = new RegExp(`^${body}$`, "s");
  return (name) => re.test(name);
}

/** Whole-name glob matching as a table over (glob position, name position): O(glob × name), no cleverness. */
function tableReference(glob: string, name: string): boolean {
  // row[j]: glob[i..] matches name[j..]; filled from the ends backwards.
  let next: boolean[] = Array.from({ length: name.length + 1 }, (_, j) => j === name.length);
  for (let i = glob.length - 1; i >= 0; i--) {
    const row: boolean[] = new Array<boolean>(name.length + 1).fill(false);
    for (let j = name.length; j >= 0; j--) {
      const g = glob[i];
      if (g === "*") row[j] = next[j]! || (j < name.length && row[j + 1]!);
      else row[j] = j < name.length && (g === "?" || g === name[j]) && next[j + 1]!;
    }
    next = row;
  }
  return next[0]!;
}

// Lengths: fast-check favours short values unless told `size: "max"`, and the long ones are the point here.
// A small alphabet, so literals in a glob often meet the same characters in a name.
const nameChar = fc.constantFrom("a", "b", "-", ".", "\u00e9", "\ud83d\ude00");
const globChar = fc.constantFrom("a", "b", "-", ".", "*", "?");
// compileGlob takes any literal, beyond what the annotation allows: a non-ASCII one takes another path.
const shortGlob = fc.string({ unit: fc.constantFrom("a", "b", "-", ".", "*", "?", "\u00e9"), maxLength: 8 });
const shortName = fc.string({ unit: nameChar, maxLength: 10 });
const longGlob = fc.string({ unit: fc.constantFrom("a", "b", "*", "?"), maxLength: MAX_FUNCTION_GLOB_LENGTH, size: "max" });
const longName = fc.string({ unit: fc.constantFrom("a", "b"), maxLength: 64, size: "max" });

/** Globs built to make a backtracking matcher explode: stars between characters the name is full of. */
const hostileGlob = fc
  .tuple(fc.array(fc.constantFrom("*a", "*?", "a*", "*", "?", "*b", "*aa"), { minLength: 1, maxLength: 60, size: "max" }), fc.constantFrom("b", "Q", "?b", "a"))
  .map(([parts, end]) => (parts.join("") + end).slice(-MAX_FUNCTION_GLOB_LENGTH));
const hostileName = fc.tuple(fc.integer({ min: 0, max: 64 }), fc.constantFrom("", "b", "c")).map(([n, end]) => ("a".repeat(n) + end).slice(0, 64).padStart(64, "a"));

describe("the glob matcher", () => {
  it("agrees with the regular expression it replaces on short inputs", () => {
    fc.assert(
      fc.property(shortGlob, shortName, (glob, name) => compileGlob(glob)(name) === regexReference(glob)(name)),
      RUNS,
    );
  });

  it("agrees with the table reference up to the longest glob and a 64-character name", () => {
    fc.assert(
      fc.property(longGlob, longName, (glob, name) => compileGlob(glob)(name) === tableReference(glob, name)),
      RUNS,
    );
  });

  it("agrees with the table reference on names shaped to match, not only random ones", () => {
    // Random names rarely match a long glob; here the name is the glob with its wildcards filled in.
    const matching = fc.tuple(longGlob, fc.array(fc.string({ unit: fc.constantFrom("a", "b"), maxLength: 3 }), { minLength: 128, maxLength: 128 })).map(([glob, fills]) => {
      let i = 0;
      const name = [...glob].map((c) => (c === "*" ? fills[i++]! : c === "?" ? "b" : c)).join("");
      return { glob, name };
    });
    fc.assert(
      fc.property(matching, ({ glob, name }) => {
        expect(compileGlob(glob)(name)).toBe(tableReference(glob, name));
        return compileGlob(glob)(name);
      }),
      RUNS,
    );
  });

  it("agrees with the table reference on long middles holding `?` (more than one word of search state)", () => {
    const unit = fc.constantFrom("a", "a", "a", "b", "?", "\u00e9");
    const middle = fc.string({ unit, minLength: 1, maxLength: 100, size: "max" });
    const glob = fc.tuple(fc.boolean(), fc.array(middle, { minLength: 1, maxLength: 3 }), fc.boolean()).map(([lead, middles, trail]) => `${lead ? "*" : ""}${middles.join("*")}${trail ? "*" : ""}`);
    // Names are the glob filled in, often with one character changed: a long middle then matches or
    // almost matches, which is where a search can go wrong.
    const fill = fc.array(fc.string({ unit: fc.constantFrom("a", "b", "\u00e9"), maxLength: 4 }), { minLength: 8, maxLength: 8 });
    // A `?` takes characters the glob never names too ("中"): those are looked up apart from the literals.
    const anyChar = fc.array(fc.constantFrom("a", "b", "\u00e9", "\u4e2d"), { minLength: 16, maxLength: 16 });
    const shaped = fc.tuple(glob, fill, anyChar, fc.option(fc.nat()), fc.constantFrom("a", "b")).map(([g, fills, any, change, c]) => {
      let i = 0;
      let j = 0;
      const chars = [...g].map((ch) => (ch === "*" ? fills[i++ % fills.length]! : ch === "?" ? any[j++ % any.length]! : ch));
      if (change !== null && chars.length > 0) chars[change % chars.length] = c;
      return { g, n: chars.join("") };
    });
    fc.assert(
      fc.property(shaped, ({ g, n }) => compileGlob(g)(n) === tableReference(g, n)),
      RUNS,
    );
  });

  it("answers every hostile glob against 64-character names without stalling", () => {
    fc.assert(
      fc.property(hostileGlob, fc.array(hostileName, { minLength: 8, maxLength: 8 }), (glob, names) => {
        const passes = compileGlob(glob);
        const started = performance.now();
        const got = names.map(passes);
        // A hang detector only (the backtracking regex took seconds to minutes per name); bench/ times it.
        expect(performance.now() - started).toBeLessThan(200);
        expect(got).toEqual(names.map((n) => tableReference(glob, n)));
      }),
      RUNS,
    );
  });
});

describe("parseFunctionFilter on arbitrary input", () => {
  const annotationValue = fc.oneof(
    fc.string({ unit: "binary", maxLength: 1200, size: "max" }),
    fc.array(fc.tuple(fc.boolean(), fc.string({ unit: globChar, maxLength: 140, size: "max" })), { maxLength: 40, size: "max" }).map((items) => items.map(([neg, g]) => (neg ? `!${g}` : g)).join(",")),
  );

  it("either gives a filter that never throws or throws InvalidSpec naming the field", () => {
    fc.assert(
      fc.property(annotationValue, fc.array(fc.string({ unit: "binary", maxLength: 140 }), { maxLength: 5 }), (value, names) => {
        let filter;
        try {
          filter = parseFunctionFilter(value, FIELD);
        } catch (err) {
          expect(err).toBeInstanceOf(ValidationError);
          expect(err).toMatchObject({ reason: "InvalidSpec", field: FIELD });
          expect((err as Error).message.length).toBeLessThan(300);
          return;
        }
        const passes = compileFunctionFilter(filter);
        for (const name of names) expect(typeof passes(name)).toBe("boolean");
      }),
      RUNS,
    );
  });

  it("matches a name exactly as its include and exclude globs say", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.string({ unit: globChar, minLength: 1, maxLength: 6 })), { maxLength: 6 }), shortName, (items, name) => {
        const filter = parseFunctionFilter(items.map(([neg, g]) => (neg ? `!${g}` : g)).join(","), FIELD);
        const included = filter.include.length === 0 || filter.include.some((g) => regexReference(g)(name));
        const excluded = filter.exclude.some((g) => regexReference(g)(name));
        return compileFunctionFilter(filter)(name) === (included && !excluded);
      }),
      RUNS,
    );
  });
});
