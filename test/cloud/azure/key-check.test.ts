// The Azure key check and error classification, without a network.
import { describe, expect, it } from "vitest";
import { glooAuthLevel, httpTriggerAuthLevel } from "../../../src/cloud/azure/auth-levels.js";
import { classifyAzureError } from "../../../src/cloud/azure/classify.js";
import { checkFunctionKeys, secretEquals } from "../../../src/cloud/azure/key-check.js";

const azure = { masterKey: "MASTER-KEY-VALUE", hostFunctionKeys: ["HOST-DEFAULT-KEY"], systemKeys: ["SYSTEM-KEY"], functionKeys: new Map([["orders", ["ORDERS-KEY"]]]) };

describe("checkFunctionKeys", () => {
  it("accepts a function's own key, a host key, or the master key", () => {
    const fns = [{ functionName: "orders", authLevel: "Function" as const }];
    for (const key of ["ORDERS-KEY", "HOST-DEFAULT-KEY", "MASTER-KEY-VALUE"]) expect(checkFunctionKeys(fns, { orders: key }, azure, "app")).toEqual([]);
    expect(checkFunctionKeys(fns, { _master: "MASTER-KEY-VALUE" }, azure, "app")).toEqual([]);
  });

  it("reports missing and stale keys by reason, naming functions but never values", () => {
    const fns = [
      { functionName: "orders", authLevel: "Function" as const },
      { functionName: "billing", authLevel: "Function" as const },
      { functionName: "ops", authLevel: "Admin" as const },
      { functionName: "open", authLevel: "Anonymous" as const },
    ];
    const warnings = checkFunctionKeys(fns, { orders: "OLD-ORDERS-KEY" }, azure, "app");
    expect(warnings.map((w) => [w.reason, w.message.includes("billing") || w.message.includes("ops") || w.message.includes("orders")])).toEqual([
      ["FunctionKeyStale", true],
      ["FunctionKeyMissing", true],
      ["FunctionKeyMissing", true],
    ]);
    expect(warnings.some((w) => w.message.includes("OLD-ORDERS-KEY"))).toBe(false);
    const stale = checkFunctionKeys(fns.slice(1, 3), { _master: "OLD-MASTER" }, azure, "app");
    expect(stale.map((w) => w.reason)).toEqual(["FunctionKeyStale"]);
  });

  it("compares in constant time over digests, so lengths may differ", () => {
    expect(secretEquals("abc", "abc")).toBe(true);
    expect(secretEquals("abc", "abcd")).toBe(false);
  });
});

describe("httpTriggerAuthLevel", () => {
  it("reads the HTTP trigger's authLevel in any spelling, and nothing for non-HTTP functions", () => {
    expect(httpTriggerAuthLevel({ bindings: [{ type: "httpTrigger", authLevel: "function" }] })).toBe("Function");
    expect(httpTriggerAuthLevel({ bindings: [{ type: "HttpTrigger", authLevel: "ANONYMOUS" }] })).toBe("Anonymous");
    expect(httpTriggerAuthLevel({ bindings: [{ type: "queueTrigger" }] })).toBeUndefined();
    expect(httpTriggerAuthLevel(undefined)).toBeUndefined();
  });

  it("reads numbers with the Functions host's enum (Anonymous 0, Function 1, System 2, Admin 3, User 4), not Gloo's", () => {
    const level = (authLevel: unknown) => httpTriggerAuthLevel({ bindings: [{ type: "httpTrigger", authLevel }] });
    expect([0, 1, 2, 3, 4].map(level)).toEqual(["Anonymous", "Function", "System", "Admin", "User"]);
    expect(["system", "user", "3"].map(level)).toEqual(["System", "User", "Admin"]);
    // What Gloo can route: System and User have no Gloo level and are left out.
    expect((["Anonymous", "Function", "System", "Admin", "User"] as const).map(glooAuthLevel)).toEqual(["Anonymous", "Function", undefined, "Admin", undefined]);
  });
});

describe("classifyAzureError", () => {
  const rest = (status: number, code: string) => Object.assign(new Error(`${code} happened`), { name: "RestError", statusCode: status, code });

  it.each([
    [rest(404, "ResourceNotFound"), "arm:sites.get", "FunctionAppNotFound", false],
    [rest(403, "AuthorizationFailed"), "arm:functions.list", "DiscoveryDenied", false],
    [rest(429, "TooManyRequests"), "arm:sites.get", "Throttled", true],
    [rest(500, "InternalServerError"), "arm:sites.get", "ProviderUnavailable", true],
    [Object.assign(new Error("socket"), { code: "ECONNRESET" }), "arm:sites.get", "ProviderUnavailable", true],
    [Object.assign(new Error("AADSTS7000215: Invalid client secret provided."), { name: "AuthenticationRequiredError" }), "entra:token", "AzureAuthFailed", false],
    [Object.assign(new Error("AADSTS90033: A transient error"), { name: "AuthenticationError" }), "entra:token", "ProviderUnavailable", true],
    [Object.assign(new Error("aborted"), { name: "AbortError" }), "arm:sites.get", "Timeout", true],
  ])("%s on %s is %s", (err, operation, reason, permanent) => {
    const error = classifyAzureError(err, operation, []);
    expect(error.reason).toBe(reason);
    expect(error.retryable).toBe(permanent);
  });

  it("puts the AADSTS code in the message and the code field", () => {
    const error = classifyAzureError(new Error("invalid_client AADSTS700016: Application not found. Trace ID: abc Correlation ID: def"), "entra:token", []);
    expect(error.code).toBe("AADSTS700016");
    expect(error.message).toContain("AADSTS700016");
    expect(error.message).not.toContain("Trace ID");
  });
});
