// Text for the terminal: names echoed escaped and capped, typos matched to the closest known name.
import { describe, expect, it } from "vitest";
import { closestName, MAX_LINE_BYTES, shownName, terminalLine } from "../../src/config/terminal-text.js";

describe("terminal text", () => {
  it("escapes characters that would forge a line or hide text, and caps the result", () => {
    expect(terminalLine("a\nb\u200Bc\u001B[31m")).toBe("a\\u{000A}b\\u{200B}c\\u{001B}[31m");
    const long = terminalLine("x".repeat(10_240));
    expect(Buffer.byteLength(long, "utf8")).toBeLessThanOrEqual(MAX_LINE_BYTES);
    expect(long.endsWith("…")).toBe(true);
    expect(Buffer.byteLength(shownName("é".repeat(1000)), "utf8")).toBeLessThanOrEqual(120);
  });

  it("suggests a known name one or two edits away, and nothing for a mere resemblance", () => {
    const flags = ["--http-port", "--http-host", "--vault-role", "--vault-address", "--config"];
    expect(closestName("--http-prot", flags)).toBe("--http-port");
    expect(closestName("--vault-adress", flags)).toBe("--vault-address");
    expect(closestName("--vault-token", flags)).toBeUndefined();
    expect(closestName("--bogus-flag", flags)).toBeUndefined();
    expect(closestName(`--${"a".repeat(5000)}`, flags)).toBeUndefined();
  });
});
