// Redactor: one-pass value matching, longest match, retained values that survive any number of others, and equivalence with the naive scrub.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { REDACTED, Redactor } from "../../src/runtime/redact.js";
import { ValueMatcher } from "../../src/runtime/value-matcher.js";

/** The algorithm the Redactor used before: longest first (stable), each value split out of the text in turn. */
function naiveScrub(values: readonly string[], text: string): string {
  const ordered = [...new Set(values)].filter((v) => v.length >= 6).sort((a, b) => b.length - a.length);
  let out = text;
  for (const v of ordered) if (out.includes(v)) out = out.split(v).join(REDACTED);
  return out;
}

/** Every occurrence of every value, overlapping ones included, by brute force. */
function occurrences(values: readonly string[], text: string): Array<[number, number]> {
  const spans: Array<[number, number]> = [];
  for (const v of new Set(values)) {
    if (v.length < 6) continue;
    for (let i = text.indexOf(v); i >= 0; i = text.indexOf(v, i + 1)) spans.push([i, i + v.length]);
  }
  return spans;
}

/** Reference for the union semantics: every covered character gone, overlapping spans one marker, touching spans two. */
function unionScrub(values: readonly string[], text: string): string {
  const spans = occurrences(values, text).sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  let out = "";
  let cursor = 0;
  let end = -1;
  for (const [s, e] of spans) {
    if (s < end) {
      end = Math.max(end, e);
      continue;
    }
    if (end >= 0) cursor = end;
    out += text.slice(cursor, s) + REDACTED;
    end = e;
  }
  return end < 0 ? text : out + text.slice(end);
}

function partiallyOverlap(values: readonly string[], text: string): boolean {
  const spans = occurrences(values, text);
  return spans.some(([s1, e1]) => spans.some(([s2, e2]) => s1 < s2 && s2 < e1 && e1 < e2));
}

const random = (seed: number) => () => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed / 2 ** 32;
};

function secretLike(next: () => number, length = 40): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  let s = "";
  for (let i = 0; i < length; i++) s += alphabet[Math.floor(next() * alphabet.length)];
  return s;
}

describe("Redactor", () => {
  it("removes every registered value in one scrub when the text carries many of them", () => {
    const next = random(1);
    const values = Array.from({ length: 2_000 }, () => secretLike(next));
    const redactor = new Redactor();
    redactor.register(...values);
    const picked = values.filter((_, i) => i % 97 === 0);
    const text = picked.map((v, i) => `field${i}=${v};`).join(" ");
    const out = redactor.scrub(text);
    for (const v of values) expect(out).not.toContain(v);
    expect(out.split(REDACTED)).toHaveLength(picked.length + 1);
    expect(out).toContain("field0=[REDACTED];");
  });

  it("removes a value containing another whole, and both values when they overlap", () => {
    const redactor = new Redactor();
    redactor.register("innerSecret", "outer-innerSecret-tail", "abcdef123", "123456xyz");
    expect(redactor.scrub("x outer-innerSecret-tail y innerSecret z")).toBe(`x ${REDACTED} y ${REDACTED} z`);
    // The naive scrub left "xyz" behind here; overlapping matches are one region now.
    expect(redactor.scrub("<abcdef123456xyz>")).toBe(`<${REDACTED}>`);
    expect(redactor.scrub("abcdef123abcdef123")).toBe(`${REDACTED}${REDACTED}`);
  });

  it("removes periodic values and values alike in every window, which have no anchor", () => {
    const redactor = new Redactor();
    // 81 values over 18 windows: more than four values per window, so some fall back to the automaton.
    const alike = Array.from({ length: 81 }, (_, i) => `${Math.floor(i / 9)}abcde${i % 9}`);
    redactor.register("zzzzzzzzzz", ...alike);
    expect(redactor.scrub("1 zzzzzzzzzzz 2")).toBe(`1 ${REDACTED} 2`);
    for (const v of alike) expect(redactor.scrub(`[${v}]`)).toBe(`[${REDACTED}]`);
  });

  it("ignores values under 6 characters and removes each long line of a multi-line value", () => {
    const redactor = new Redactor();
    const pem = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUexampleCertificateLine1\nMIIBszCCAVmgAwIBAgIUexampleCertificateLine2\n-----END CERTIFICATE-----";
    redactor.register("short", pem);
    expect(redactor.scrub("a short b")).toBe("a short b");
    expect(redactor.scrub(pem.replace(/\n/g, "\\n"))).not.toContain("exampleCertificateLine");
    expect(redactor.scrub(`folded: MIIBszCCAVmgAwIBAgIUexampleCertificateLine2 end`)).toBe(`folded: ${REDACTED} end`);
  });

  it("keeps credential shapes and sensitive keys it was never told about", () => {
    const redactor = new Redactor();
    expect(redactor.scrub("sent Bearer abcdefghijkl")).toBe(`sent Bearer ${REDACTED}`);
    expect(redactor.scrubValue({ clientSecret: "x", name: "n" })).toEqual({ clientSecret: REDACTED, name: "n" });
  });

  it("keeps a retained value through 100,000 other registrations", () => {
    const redactor = new Redactor({ maxUnowned: 1_000, maxReleased: 1_000 });
    redactor.retain("kubernetes:ns/creds", ["retainedSecretValue0001"]);
    const next = random(2);
    for (let i = 0; i < 100_000; i++) redactor.register(secretLike(next, 24));
    for (let i = 0; i < 2_000; i++) {
      redactor.retain(`owner-${i}`, [secretLike(next, 24)]);
      redactor.release(`owner-${i}`);
    }
    expect(redactor.scrub("k=retainedSecretValue0001")).toBe(`k=${REDACTED}`);
    expect(redactor.size).toBeLessThanOrEqual(2_001);
  });

  it("forgets a released value once enough newer ones were released, and keeps it while another owner retains it", () => {
    const redactor = new Redactor({ maxUnowned: 10, maxReleased: 3 });
    redactor.retain("a", ["sharedSecretValue", "onlyASecretValue"]);
    redactor.retain("b", ["sharedSecretValue"]);
    redactor.release("a");
    expect(redactor.scrub("onlyASecretValue")).toBe(REDACTED);
    for (let i = 0; i < 3; i++) {
      redactor.retain(`other-${i}`, [`otherSecretValue${i}`]);
      redactor.release(`other-${i}`);
    }
    expect(redactor.scrub("onlyASecretValue")).toBe("onlyASecretValue");
    expect(redactor.scrub("sharedSecretValue")).toBe(REDACTED);
  });

  it("moves a rotated-away value to the released tail when its owner retains new values", () => {
    const redactor = new Redactor({ maxReleased: 1 });
    redactor.retain("vault:ns/creds", ["firstVersionValue"]);
    redactor.retain("vault:ns/creds", ["secondVersionValue"]);
    expect(redactor.scrub("firstVersionValue secondVersionValue")).toBe(`${REDACTED} ${REDACTED}`);
    redactor.retain("vault:ns/creds", ["thirdVersionValue"]);
    expect(redactor.scrub("firstVersionValue")).toBe("firstVersionValue");
    expect(redactor.size).toBe(2);
  });

  it("forgets the least recently registered unowned values past its bound", () => {
    const redactor = new Redactor({ maxUnowned: 2 });
    redactor.register("unownedValue1", "unownedValue2");
    redactor.register("unownedValue1");
    redactor.register("unownedValue3");
    expect(redactor.scrub("unownedValue1 unownedValue2 unownedValue3")).toBe(`${REDACTED} unownedValue2 ${REDACTED}`);
  });

  it("gives the naive scrub's output when no two matches partially overlap, and never leaves a value behind", () => {
    const alphabet = fc.constantFrom("a", "b", "c");
    const value = fc.string({ unit: alphabet, minLength: 6, maxLength: 10 });
    const piece = fc.oneof(fc.string({ unit: fc.constantFrom("a", "b", "c", " ", "é"), maxLength: 8 }), value);
    let comparedWithNaive = 0;
    fc.assert(
      fc.property(fc.array(value, { minLength: 1, maxLength: 12 }), fc.array(piece, { maxLength: 10 }), fc.array(fc.nat(), { maxLength: 6 }), (values, pieces, picks) => {
        const used = picks.map((p) => values[p % values.length]!);
        const text = [...pieces, ...used].join(" ");
        const redactor = new Redactor();
        redactor.register(...values);
        const out = redactor.scrub(text);
        if (!partiallyOverlap(values, text)) {
          comparedWithNaive++;
          expect(out).toBe(naiveScrub(values, text));
        }
        expect(out).toBe(unionScrub(values, text));
        for (const v of values) expect(out).not.toContain(v);
      }),
      { numRuns: 2_000, seed: 14 },
    );
    expect(comparedWithNaive).toBeGreaterThan(200);
  });

  it("finds the same spans as brute force while values come and go", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ add: fc.boolean(), v: fc.string({ unit: fc.constantFrom("x", "y"), minLength: 6, maxLength: 9 }) }), { maxLength: 40 }),
        fc.string({ unit: fc.constantFrom("x", "y"), maxLength: 40 }),
        (ops, text) => {
          const matcher = new ValueMatcher();
          const live = new Set<string>();
          for (const { add, v } of ops) {
            if (add) {
              matcher.add(v);
              live.add(v);
            } else {
              matcher.delete(v);
              live.delete(v);
            }
          }
          const found = matcher.find(text);
          const pairs: string[] = [];
          for (let i = 0; i < found.length; i += 2) pairs.push(`${found[i]}-${found[i + 1]}`);
          const coveredBy = (s: number, e: number) => pairs.some((p) => {
            const [a, b] = p.split("-").map(Number) as [number, number];
            return a <= s && e <= b;
          });
          // Every occurrence is reported or lies inside a reported one (the automaton reports the longest per end).
          for (const [s, e] of occurrences([...live], text)) expect(coveredBy(s, e)).toBe(true);
          for (const p of pairs) {
            const [a, b] = p.split("-").map(Number) as [number, number];
            expect(live.has(text.slice(a, b))).toBe(true);
          }
          expect(matcher.size).toBe(live.size);
        },
      ),
      { numRuns: 1_000, seed: 7 },
    );
  });
});
