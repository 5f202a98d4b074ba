import { describe, expect, it } from "vitest";
import { Fingerprinter } from "../../../src/cloud/shared/fingerprint.js";

describe("Fingerprinter", () => {
  it("is stable within an instance, tells apart parts that only concatenate alike, and differs across instances", () => {
    const f = new Fingerprinter();
    expect(f.of(["ab", "c"])).toBe(f.of(["ab", "c"]));
    expect(f.of(["ab", "c"])).not.toBe(f.of(["a", "bc"]));
    expect(f.of(["1:a", ""])).not.toBe(f.of(["", "1:a"]));
    expect(f.of(["a"])).not.toBe(f.of(["a", ""]));
    expect(f.of(["ab", "c"])).not.toBe(new Fingerprinter().of(["ab", "c"]));
  });

  it("is a 64-hex digest that holds nothing of the secret it covers", () => {
    const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const fp = new Fingerprinter().of(["AKIAIOSFODNN7EXAMPLE", secret]);
    expect(fp).toMatch(/^[0-9a-f]{64}$/);
    expect(fp).not.toContain(secret.slice(0, 8));
  });
});
