import { describe, expect, it } from "vitest";
import { MAX_MESSAGE_BYTES } from "../../src/model/conditions.js";
import { CredbrokerError, MAX_ERROR_MESSAGE_BYTES, ValidationError } from "../../src/model/errors.js";
import { failedOutcome, functionsOutcome, okOutcome } from "../../src/model/evaluation.js";

const bytes = (s: string): number => Buffer.byteLength(s, "utf8");
const longName = "n".repeat(9000);

describe("every message is capped", () => {
  it("caps an error message that echoes a long name", () => {
    const err = new ValidationError("InvalidSpec", `metadata.annotations.credbroker.io/azure-credentials`, `names ${longName}, which is not a Secret name`);
    expect(bytes(err.message)).toBeLessThanOrEqual(MAX_ERROR_MESSAGE_BYTES);
    expect(err.message.endsWith("…")).toBe(true);
    expect(err.message.startsWith("metadata.annotations.credbroker.io/azure-credentials: names nnn")).toBe(true);
  });

  it("caps multi-byte text on a code-point boundary", () => {
    const err = new CredbrokerError("InternalError", "é".repeat(2000));
    expect(bytes(err.message)).toBeLessThanOrEqual(MAX_ERROR_MESSAGE_BYTES);
    expect(err.message).not.toContain("\uFFFD");
  });

  it("caps outcomes where they are made, so check prints no more than a condition holds", () => {
    expect(bytes(okOutcome("Authenticated", "Verified", `verified as ${longName}`).message)).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
    const failed = failedOutcome("SecretResolved", new CredbrokerError("SecretNotFound", `Secret ${longName} not found`));
    expect(bytes(failed.message)).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
  });

  it("caps a discovery condition that folds in many warnings", () => {
    const warnings = Array.from({ length: 40 }, (_, i) => new CredbrokerError("FunctionKeyMissing", `function f-${i}-${"x".repeat(200)} has no key`));
    const outcome = functionsOutcome({ discovered: 40, published: 40, truncated: false }, 500, warnings);
    expect(bytes(outcome.message)).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
    expect(outcome.reason).toBe("FunctionKeyMissing");
  });
});
