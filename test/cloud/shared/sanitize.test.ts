// Provider text scrubbing and capping, shared by every cloud's classifier.
import { describe, expect, it } from "vitest";
import { classifiedCallError } from "../../../src/cloud/shared/classify-helpers.js";
import { MAX_PROVIDER_MESSAGE_BYTES, sanitizeProviderCode, sanitizeProviderText } from "../../../src/cloud/shared/sanitize.js";

const bytes = (s: string): number => Buffer.byteLength(s, "utf8");
const call = { provider: "azure" as const, reason: "InternalError" as const, operation: "arm:ListFunctions", status: 400, secrets: [] as string[], retryAfterMs: undefined };

describe("sanitizeProviderText", () => {
  it("drops the SDK's deserialization advice", () => {
    const text = "Unexpected token '<'\n  Deserialization error: to see the raw response, inspect the hidden field {error}.$response on this object.";
    expect(sanitizeProviderText(text, [])).toBe("Unexpected token '<'");
  });

  it("caps at 512 UTF-8 bytes, not characters", () => {
    const out = sanitizeProviderText("€".repeat(400), []);
    expect(bytes(out)).toBeLessThanOrEqual(MAX_PROVIDER_MESSAGE_BYTES);
    expect(out.endsWith("…")).toBe(true);
    expect(out).not.toContain("\uFFFD");
  });

  it("keeps a short text whole", () => {
    expect(sanitizeProviderText("Rate exceeded", [])).toBe("Rate exceeded");
  });
});

describe("sanitizeProviderCode", () => {
  it("escapes invisible characters and cuts to 64 bytes", () => {
    const code = sanitizeProviderCode(`Bad\u200BCode${"Z".repeat(200)}`, []);
    expect(code.startsWith("Bad\\u{200B}Code")).toBe(true);
    expect(bytes(code)).toBeLessThanOrEqual(64);
  });
});

describe("classifiedCallError", () => {
  it("caps the whole message, head included, at 512 bytes", () => {
    const error = classifiedCallError({ ...call, code: "C".repeat(300), message: "m".repeat(2000) });
    expect(bytes(error.message)).toBeLessThanOrEqual(MAX_PROVIDER_MESSAGE_BYTES);
    expect(error.message.startsWith("azure arm:ListFunctions failed: CCC")).toBe(true);
  });

  it("leaves the code out of the message when the answer had none", () => {
    const error = classifiedCallError({ ...call, code: undefined, message: "the answer is not from the provider" });
    expect(error.message).toBe("azure arm:ListFunctions failed (HTTP 400): the answer is not from the provider");
    expect(error.code).toBeUndefined();
  });
});
