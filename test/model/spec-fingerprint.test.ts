import { describe, expect, it } from "vitest";
import { specFingerprint } from "../../src/model/spec-fingerprint.js";

describe("specFingerprint", () => {
  it("is the same for equal specs in any key order, and differs when a value changes", () => {
    const a = specFingerprint({ metadata: { generation: 1 }, spec: { aws: { region: "us-east-1", secretRef: { name: "s", namespace: "n" } } } });
    const b = specFingerprint({ metadata: { generation: 9 }, status: { x: 1 }, spec: { aws: { secretRef: { namespace: "n", name: "s" }, region: "us-east-1" } } });
    const c = specFingerprint({ spec: { aws: { region: "eu-west-1", secretRef: { name: "s", namespace: "n" } } } });
    expect(a).toMatch(/^sha256:[0-9a-f]{16}$/);
    expect(b).toBe(a);
    expect(c).not.toBe(a);
  });

  it("digests an object without spec like an empty spec", () => {
    expect(specFingerprint({ metadata: {} })).toBe(specFingerprint({ spec: {} }));
    expect(specFingerprint(undefined)).toBe(specFingerprint({ spec: {} }));
  });
});
