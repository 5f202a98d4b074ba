// Label selectors: Kubernetes syntax and semantics, precise errors, bounds on hostile input, and agreement with the sandbox's matcher.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_ERROR_MESSAGE_BYTES, ValidationError } from "../../src/model/errors.js";
import {
  MAX_LABEL_SELECTOR_BYTES,
  MAX_LABEL_SELECTOR_REQUIREMENTS,
  MAX_LABEL_SELECTOR_SET_VALUES,
  matchesLabels,
  parseLabelSelector,
  type LabelSelector,
} from "../../src/model/label-selector.js";
import { parseLabelSelector as parseSandboxSelector } from "../../src/sandbox/kube/selectors.js";

/** The error `parseLabelSelector(text)` throws; fails the test when it parses. */
function refusal(text: string): ValidationError {
  try {
    parseLabelSelector(text);
  } catch (err) {
    if (err instanceof ValidationError) return err;
    throw err;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be refused`);
}

const matches = (text: string, labels: Record<string, string>): boolean => matchesLabels(parseLabelSelector(text), labels);

// Verdicts checked against k8s.io/apimachinery v0.34.4 `labels.Parse` (a Go program fed these strings).
const K8S_ACCEPTS = [
  "", " ", "x=a", "x==a", "x!=a", "x", "!x", "! x", "x in (a,b)", "x notin (a,b)", "x in(a)", "x in ()", "x in (a,)",
  "x in (,a)", "x in (a,,b)", "x=", "x!=", "x==", "in in (in,notin)", "notin=in", "x=a,y!=b,z in (c),!w", " x = a , y ",
  "example.com/x=a", "x\tin\t(a)\n", "a/b=c", `x=${"v".repeat(63)}`, "k".repeat(63),
];
const K8S_REFUSES = [
  "x=a,", ",x", "x,,y", "x y", "x=a=b", "x in (a b)", "x in a", "x in (a", "x in ((a))", "!x=a", "!x in (a)", "x=(a)",
  "x===a", "a..b/c", "a/b/c", "/x", "x/", "-x", "x-", "x\u00a0=a", "x=-a", `x=${"v".repeat(64)}`, "k".repeat(64), "A.b/c",
  "é=a", "!", "(", ")", "=a", "x in (a))", "x notin", "x=a b",
];

describe("parseLabelSelector", () => {
  it.each(K8S_ACCEPTS)("accepts %j when Kubernetes does", (text) => {
    expect(() => parseLabelSelector(text)).not.toThrow();
  });

  it.each(K8S_REFUSES)("refuses %j when Kubernetes does", (text) => {
    const err = refusal(text);
    expect(err.field).toBe("labelSelector");
    expect(err.message.startsWith("labelSelector: ")).toBe(true);
  });

  it("refuses the integer comparisons > and < when Kubernetes would accept them, naming the operator", () => {
    expect(refusal("x>1").message).toBe(
      'labelSelector: operator ">" at character 2 is not supported; use =, ==, !=, in, notin, a bare key or !key',
    );
    expect(refusal("x < 1").message).toContain('operator "<" at character 3');
  });

  it("reads each form into matchExpressions operators when the selector is valid", () => {
    expect(parseLabelSelector(" app = web , tier!=db, zone in (a, b), !canary, env notin (), owner, x==").requirements).toEqual([
      { key: "app", operator: "In", values: ["web"] },
      { key: "tier", operator: "NotIn", values: ["db"] },
      { key: "zone", operator: "In", values: ["a", "b"] },
      { key: "canary", operator: "DoesNotExist" },
      { key: "env", operator: "NotIn", values: [""] },
      { key: "owner", operator: "Exists" },
      { key: "x", operator: "In", values: [""] },
    ]);
  });

  it("reads empty slots in a set as the empty value when commas are doubled or trailing", () => {
    expect(parseLabelSelector("x in (a,,b,)").requirements).toEqual([{ key: "x", operator: "In", values: ["a", "", "b"] }]);
  });

  it("treats in and notin as a key or a value when they stand where one belongs", () => {
    expect(parseLabelSelector("in notin (in, notin)").requirements).toEqual([{ key: "in", operator: "NotIn", values: ["in", "notin"] }]);
  });

  it("says what was found, where, and what was expected when the syntax is wrong", () => {
    expect(refusal("a in (b))").message).toBe("labelSelector: unexpected \")\" at character 9; expected ',' or the end of the selector");
    expect(refusal("a=b,").message).toBe("labelSelector: unexpected end of the selector at character 5; expected a label key or '!' after ','");
    expect(refusal("a b").message).toBe(
      'labelSelector: unexpected "b" at character 3; expected an operator (=, ==, !=, in, notin), \',\' or the end of the selector',
    );
    expect(refusal("a in b").message).toBe("labelSelector: unexpected \"b\" at character 6; expected '('");
    expect(refusal("!a=b").message).toContain("unexpected \"=\" at character 3; expected ',' or the end of the selector ('!key' takes no operator)");
  });

  it("counts the character position in code points when the text before the error is not ASCII", () => {
    expect(refusal("a in (\u{1F600}), b)").message).toContain('value "\u{1F600}" for key "a" at character 7');
  });

  it("names the key and the rule it breaks when a key is invalid", () => {
    expect(refusal("x=a, Bad.Prefix/name").message).toBe(
      'labelSelector: key "Bad.Prefix/name" at character 6 is not a valid label key: the prefix before \'/\' must be a DNS subdomain: ' +
        "lowercase letters, digits, '-' and '.', each dot-separated part starting and ending with a letter or digit",
    );
    expect(refusal("k".repeat(64)).message).toContain("the name must be at most 63 characters");
    expect(refusal("/x").message).toContain("the prefix before '/' must not be empty");
  });

  it("names the value and its key when a value is invalid", () => {
    expect(refusal("tier in (web, -db)").message).toBe(
      'labelSelector: value "-db" for key "tier" at character 15 is not a valid label value: ' +
        "it must be empty or consist of alphanumeric characters, '-', '_' or '.', starting and ending with an alphanumeric character",
    );
  });

  it("escapes control characters when it echoes input in a message", () => {
    const message = refusal("a\u0000b=c\u001b[31m").message;
    expect(message).toContain("a\\u{0000}b");
    expect([...message].filter((ch) => ch.charCodeAt(0) < 0x20)).toEqual([]);
  });

  it("accepts 1024 bytes and refuses 1025 when the selector is long", () => {
    const key = (i: number): string => `k${String(i).padStart(2, "0")}=${"v".repeat(27)}`;
    const max = Array.from({ length: MAX_LABEL_SELECTOR_REQUIREMENTS }, (_, i) => key(i)).join(",");
    const filler = " ".repeat(MAX_LABEL_SELECTOR_BYTES - Buffer.byteLength(max));
    expect(parseLabelSelector(max + filler).requirements).toHaveLength(MAX_LABEL_SELECTOR_REQUIREMENTS);
    expect(refusal(`${max}${filler} `).message).toBe("labelSelector: must be at most 1024 bytes (it has 1025)");
    // Bytes, not UTF-16 units: 342 three-byte characters are 1026 bytes.
    expect(refusal("€".repeat(342)).message).toContain("(it has 1026)");
  });

  it("refuses the 33rd requirement and the 33rd value in a set", () => {
    const reqs = (n: number): string => Array.from({ length: n }, (_, i) => `k${i}`).join(",");
    expect(parseLabelSelector(reqs(MAX_LABEL_SELECTOR_REQUIREMENTS)).requirements).toHaveLength(32);
    expect(refusal(reqs(33)).message).toBe("labelSelector: has more than 32 requirements (the next one starts at character 119)");
    const set = (n: number): string => `k in (${Array.from({ length: n }, (_, i) => `v${i}`).join(",")})`;
    expect(parseLabelSelector(set(MAX_LABEL_SELECTOR_SET_VALUES)).requirements).toHaveLength(1);
    expect(refusal(set(33)).message).toBe('labelSelector: the set for key "k" has more than 32 values (the next one at character 125)');
    // Empty slots count too, so commas alone cannot make a set long.
    expect(refusal(`k in (${",".repeat(40)})`).message).toContain("more than 32 values");
  });

  it("answers every hostile input of the maximum size quickly when it is built to make a parser backtrack", () => {
    const hostile = [
      "a".repeat(1024), "(".repeat(1024), "!".repeat(1024), "=".repeat(1024), "a=".repeat(512), "a in (".repeat(170),
      `k in (${"a,".repeat(509)}`, `${"a.".repeat(300)}/b`, `a/${"-".repeat(1000)}b`, " ".repeat(1024), `${"x".repeat(60)}-`.repeat(16),
    ];
    const started = performance.now();
    for (let round = 0; round < 200; round++) {
      for (const text of hostile) {
        try {
          parseLabelSelector(text);
        } catch (err) {
          expect(err).toBeInstanceOf(ValidationError);
        }
      }
    }
    // 2,200 parses of 1 KiB; a linear parser needs a few milliseconds, a backtracking one would not finish.
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it("returns a selector or a bounded ValidationError on labelSelector for any text", () => {
    const text = fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: fc.constantFrom(..."ab=!(),<> \tin/.-_\u0000é"), maxLength: 40 }));
    fc.assert(
      fc.property(text, (t) => {
        try {
          parseLabelSelector(t);
        } catch (err) {
          if (!(err instanceof ValidationError)) throw err;
          expect(err.field).toBe("labelSelector");
          expect(err.retryable).toBe(false);
          expect(Buffer.byteLength(err.message)).toBeLessThanOrEqual(MAX_ERROR_MESSAGE_BYTES);
        }
      }),
      { numRuns: 2_000 },
    );
  });
});

describe("matchesLabels", () => {
  const labels = { app: "web", tier: "", "example.com/owner": "team-a" };

  it("selects everything when the selector is empty or blank", () => {
    expect(matches("", {})).toBe(true);
    expect(matches(" \t\n", labels)).toBe(true);
  });

  it("matches = and in only when the key is present with one of the values", () => {
    expect(matches("app=web", labels)).toBe(true);
    expect(matches("app==api", labels)).toBe(false);
    expect(matches("zone in (a,b)", labels)).toBe(false);
    expect(matches("example.com/owner in (team-b, team-a)", labels)).toBe(true);
    expect(matches("tier=", labels)).toBe(true);
    expect(matches("zone=", labels)).toBe(false);
  });

  it("matches != and notin when the key is absent, as Kubernetes does", () => {
    expect(matches("zone!=a", labels)).toBe(true);
    expect(matches("zone notin (a)", labels)).toBe(true);
    expect(matches("app!=web", labels)).toBe(false);
    expect(matches("app notin (api, web)", labels)).toBe(false);
    expect(matches("tier notin ()", labels)).toBe(false);
  });

  it("matches a bare key and !key on presence only", () => {
    expect(matches("tier", labels)).toBe(true);
    expect(matches("!tier", labels)).toBe(false);
    expect(matches("!zone,app", labels)).toBe(true);
  });

  it("requires every requirement when there are several", () => {
    expect(matches("app=web,tier", labels)).toBe(true);
    expect(matches("app=web,zone", labels)).toBe(false);
  });

  it("looks at own labels only when a key names a property of Object.prototype", () => {
    expect(matches("constructor", {})).toBe(false);
    expect(matches("!toString", {})).toBe(true);
    expect(matches("constructor notin (x)", {})).toBe(true);
  });
});

// A grammar-shaped corpus: valid and broken keys, values, operators, spacing and separators.
const KEYS = ["a", "b", "app", "in", "notin", "example.com/a", "x.y/b-c", "A_b.c", "a..b/c", "-a", "a/", "é", "k".repeat(64), "A.b/c", "constructor"];
const VALUES = ["", "v", "w", "in", "notin", "v-1", "a_b", "-x", "x.", "v".repeat(64)];
const space = fc.constantFrom("", "", " ", "\t", "\n", "\r", "\u00a0", "\u000b");
const key = fc.constantFrom(...KEYS);
const value = fc.constantFrom(...VALUES);
const requirement = fc.oneof(
  fc.tuple(space, key, space, fc.constantFrom("=", "==", "!=", "=!", "===", ""), space, value, space).map((p) => p.join("")),
  fc.tuple(space, fc.constantFrom("!", "! ", ""), key, space).map((p) => p.join("")),
  fc
    .tuple(
      space, key, fc.constantFrom(" ", "\t", ""), fc.constantFrom("in", "notin", "In"), space, fc.constantFrom("(", "((", ""),
      fc.array(fc.tuple(space, value, space).map((p) => p.join("")), { maxLength: 4 }).map((v) => v.join(",")),
      fc.constantFrom(")", "))", "", ",)"), space,
    )
    .map((p) => p.join("")),
);
const selectorText = fc.oneof(
  fc.tuple(fc.array(requirement, { maxLength: 4 }), fc.constantFrom(",", ", ", ",,"), fc.constantFrom("", ",")).map(([rs, sep, end]) => rs.join(sep) + end),
  fc.string({ unit: fc.constantFrom(..."ab=!(),<> \tin/.-_"), maxLength: 20 }),
);
const labelSet = fc.dictionary(fc.constantFrom(...KEYS.slice(0, 7), "constructor"), fc.constantFrom("", "v", "w", "in", "notin", "v-1", "a_b"), { maxKeys: 4 });

function tryParse<T>(parse: () => T): { ok: true; value: T } | { ok: false } {
  try {
    return { ok: true, value: parse() };
  } catch {
    return { ok: false };
  }
}

describe("agreement with the sandbox's label selectors", () => {
  it("matches the same objects as the sandbox for every selector both accept", () => {
    let bothAccepted = 0;
    fc.assert(
      fc.property(selectorText, fc.array(labelSet, { minLength: 1, maxLength: 6 }), (text, sets) => {
        const ours = tryParse<LabelSelector>(() => parseLabelSelector(text));
        const theirs = tryParse(() => parseSandboxSelector(text));
        if (!ours.ok || !theirs.ok) return;
        bothAccepted++;
        for (const labels of sets) {
          const sandbox = theirs.value === undefined ? true : theirs.value({ metadata: { labels } });
          expect(matchesLabels(ours.value, labels), `${JSON.stringify(text)} on ${JSON.stringify(labels)}`).toBe(sandbox);
        }
      }),
      { numRuns: 5_000, seed: 1313 },
    );
    // The corpus must exercise matching, not only refusals.
    expect(bothAccepted).toBeGreaterThan(500);
  });

  it("refuses what Kubernetes refuses when the sandbox is more lenient", () => {
    // Each of these the sandbox accepts (it drops empty parts, trims Unicode spaces, and checks
    // neither the prefix's dot rules nor the name's length); Kubernetes refuses them all.
    for (const text of ["x=a,", "x,,y", ",x", "x\u00a0=a", "x=a\u000b", "a..b/c", "a.-b/c", "k".repeat(64)]) {
      expect(tryParse(() => parseSandboxSelector(text)).ok, JSON.stringify(text)).toBe(true);
      expect(() => parseLabelSelector(text), JSON.stringify(text)).toThrow(ValidationError);
    }
  });

  it("accepts line breaks inside a set when the sandbox refuses them", () => {
    // The sandbox's `(.*)` stops at a line break; Kubernetes treats \n and \r as spaces.
    expect(tryParse(() => parseSandboxSelector("x in (a\n)")).ok).toBe(false);
    expect(matches("x in (a\n)", { x: "a" })).toBe(true);
  });
});
