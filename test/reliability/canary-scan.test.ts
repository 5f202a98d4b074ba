// The canary scan finds a secret however it was encoded around other text, and names only the canary, never its value.
import { describe, expect, it } from "vitest";
import { canaryEncodings, scanForCanaries } from "../support/canary-scan.js";

const SECRET = "RelCanary+/w8Yq3kP&<z>~abcdefghijklmnopq";
const canaries = new Map([["the key", SECRET]]);
const found = (text: string) => scanForCanaries(canaries, [{ source: "text", text }]).map((h) => h.encoding);

describe("canary scan", () => {
  it("finds the value raw, URL- and form-encoded, JSON-escaped once and twice, and as Go escapes it", () => {
    expect(found(`key=${SECRET};`)).toContain("raw (untrimmed)");
    expect(found(`?k=${encodeURIComponent(SECRET)}&x=1`)).toContain("url-encoded (untrimmed)");
    expect(found(new URLSearchParams({ client_secret: SECRET }).toString())).toContain("form-encoded (untrimmed)");
    // Only a value with a quote or a backslash looks different JSON-escaped.
    const quoted = new Map([["quoted", 'Rel"Canary\\quoted+/abcdefghijklmnop']]);
    const inJson = (text: string) => scanForCanaries(quoted, [{ source: "text", text }]).map((h) => h.encoding);
    expect(inJson(JSON.stringify({ secret: quoted.get("quoted") }))).toContain("json-escaped (untrimmed)");
    expect(inJson(JSON.stringify({ msg: JSON.stringify({ secret: quoted.get("quoted") }) }))).toContain("json-escaped twice (untrimmed)");
    expect(found(JSON.stringify({ s: SECRET }).replace(/&/g, "\\u0026").replace(/</g, "\\u003c").replace(/>/g, "\\u003e"))).toContain("go-json-escaped (untrimmed)");
  });

  it("finds the value base64-encoded inside a longer value at every byte alignment", () => {
    for (const prefix of ["", "a", "ab", "abc", "accessKey: AKIA\nsecretKey: "]) {
      const b64 = Buffer.from(`${prefix}${SECRET}\ntrailing`).toString("base64");
      const url = Buffer.from(`${prefix}${SECRET}`).toString("base64url");
      expect(found(`data: ${b64}`).some((e) => e.startsWith("base64 ")), `prefix ${JSON.stringify(prefix)}`).toBe(true);
      expect(found(url).some((e) => e.startsWith("base64url ")), `prefix ${JSON.stringify(prefix)}`).toBe(true);
    }
  });

  it("searches a padded value both as stored and trimmed", () => {
    const padded = new Map([["padded", `${SECRET}\n`]]);
    expect(scanForCanaries(padded, [{ source: "log", text: `"value":"${SECRET}"` }]).map((h) => h.encoding)).toContain("raw (trimmed)");
    expect(scanForCanaries(padded, [{ source: "log", text: `"value":"${SECRET}\\n"` }]).map((h) => h.encoding)).toContain("json-escaped (untrimmed)");
  });

  it("reports nothing for text without the value or a fragment of it, and never carries the value in a hit", () => {
    expect(found(`${SECRET.slice(0, 10)} ${SECRET.slice(12)} ${Buffer.from(SECRET.slice(0, 8)).toString("base64")}`)).toEqual([]);
    const hits = scanForCanaries(canaries, [{ source: "somewhere", text: SECRET }]);
    expect(hits.length).toBeGreaterThan(0);
    expect(JSON.stringify(hits)).not.toContain(SECRET);
    expect([...canaryEncodings(SECRET).values()].every((v) => v.length >= 8)).toBe(true);
  });
});
