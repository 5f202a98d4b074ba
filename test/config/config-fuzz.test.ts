// Property-based fuzzing of the settings parser (a bounded number of runs): nothing throws, every problem is one line, no value is ever repeated.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { assessConfig, listSettings } from "../../src/config.js";

const settings = listSettings();
// Every generated value carries this marker, so a message that repeats any part of a value is caught.
const MARK = "zq9";
const value = fc.string({ maxLength: 40 }).map((s) => `${MARK}${s}`);
const envName = fc.oneof(fc.constantFrom(...settings.map((s) => s.env)), fc.string({ maxLength: 30 }).map((s) => `CREDBROKER_${s}`));
const flagPath = fc.oneof(fc.constantFrom(...settings.map((s) => s.path)), fc.string({ maxLength: 30 }));

function checkProblems(problems: string[], values = true): void {
  for (const p of problems) {
    expect(p).not.toContain("\n");
    if (values) expect(p).not.toContain(MARK);
    expect(Buffer.byteLength(p, "utf8")).toBeLessThanOrEqual(1024);
  }
}

describe("settings parser under fuzzing", () => {
  it("never throws and never repeats a value, whatever the environment and flags hold", () => {
    fc.assert(
      fc.property(fc.dictionary(envName, value, { maxKeys: 8 }), fc.dictionary(flagPath, value, { maxKeys: 8 }), (env, flags) => {
        const { problems } = assessConfig({ env, flags });
        checkProblems(problems);
      }),
      { numRuns: 300 },
    );
  });

  it("never throws and never repeats a value from a config file, whatever its text", () => {
    const section = fc.constantFrom(...new Set(settings.map((s) => s.path.split(".")[0] ?? "")));
    const key = fc.oneof(fc.constantFrom(...settings.map((s) => s.path.split(".")[1] ?? "")), fc.string({ maxLength: 12 }).filter((k) => !k.includes(MARK)));
    const yamlText = fc
      .array(fc.tuple(section, key, value), { maxLength: 6 })
      .map((entries) => entries.map(([s, k, v]) => `${s}:\n  ${JSON.stringify(k)}: ${JSON.stringify(v)}\n`).join(""));
    fc.assert(
      fc.property(yamlText, (text) => {
        checkProblems(assessConfig({ file: { name: "c.yaml", text } }).problems);
      }),
      { numRuns: 300 },
    );
    // Arbitrary text: its words may become keys, which are names and may be repeated (escaped, capped).
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (text) => {
        checkProblems(assessConfig({ file: { name: "c.yaml", text } }).problems, false);
      }),
      { numRuns: 300 },
    );
  });
});
