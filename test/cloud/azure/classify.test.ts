import { describe, expect, it } from "vitest";
import { classifyAzureError } from "../../../src/cloud/azure/classify.js";

const err = (fields: { message: string; [k: string]: unknown }) => Object.assign(new Error(fields.message), fields);

describe("classifyAzureError", () => {
  it("treats throttling and server errors as passing faults even when the text carries an AADSTS code", () => {
    expect(classifyAzureError(err({ statusCode: 429, message: "AADSTS50053: too many requests" }), "entra:token", []).reason).toBe("Throttled");
    expect(classifyAzureError(err({ statusCode: 503, message: "AADSTS90033: temporarily unavailable" }), "entra:token", []).reason).toBe("ProviderUnavailable");
    expect(classifyAzureError(err({ code: "ECONNRESET", message: "AADSTS7000215 in a cut-off reply" }), "entra:token", []).reason).toBe("ProviderUnavailable");
  });

  it("rejects a disabled application and a bad secret as authentication verdicts, naming the code", () => {
    const disabled = classifyAzureError(err({ statusCode: 400, message: "unauthorized_client: AADSTS7000112: Application is disabled." }), "entra:token", []);
    expect(disabled.reason).toBe("AzureAuthFailed");
    expect(disabled.message).toContain("AADSTS7000112");
    const bad = classifyAzureError(err({ statusCode: 401, name: "AuthenticationRequiredError", message: "invalid_client: Error(s): 7000215 - AADSTS7000215: Invalid client secret provided." }), "entra:token", []);
    expect(bad.reason).toBe("AzureAuthFailed");
    expect(bad.retryable).toBe(false);
  });

  it("keeps the secret out of the message", () => {
    const secret = "super~secret.value_123456";
    const e = classifyAzureError(err({ statusCode: 401, message: `AADSTS7000215: Invalid client secret provided: ${secret}` }), "entra:token", [secret]);
    expect(e.message).not.toContain(secret);
  });
});
