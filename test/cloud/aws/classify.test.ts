// AWS error classification and endpoint resolution, without a network.
import { describe, expect, it } from "vitest";
import { classifyAwsError } from "../../../src/cloud/aws/classify.js";
import { lambdaEndpoint, partitionOf, stsEndpoint } from "../../../src/cloud/aws/endpoints.js";

function sdkError(name: string, status?: number, message = "m"): Error {
  const e = new Error(message);
  e.name = name;
  if (status !== undefined) Object.assign(e, { $metadata: { httpStatusCode: status } });
  return e;
}

describe("classifyAwsError", () => {
  it.each([
    ["InvalidClientTokenId", "sts:GetCallerIdentity", 403, "InvalidAccessKey", false],
    ["UnrecognizedClientException", "lambda:ListFunctions", 403, "InvalidAccessKey", false],
    ["SignatureDoesNotMatch", "sts:GetCallerIdentity", 403, "InvalidSecretKey", false],
    ["InvalidSignatureException", "lambda:ListFunctions", 403, "InvalidSecretKey", false],
    ["ExpiredToken", "sts:GetCallerIdentity", 400, "ExpiredSessionToken", false],
    ["ExpiredTokenException", "lambda:ListFunctions", 403, "ExpiredSessionToken", false],
    ["AccessDenied", "sts:AssumeRole", 403, "AssumeRoleDenied", false],
    ["AccessDeniedException", "lambda:ListFunctions", 403, "DiscoveryDenied", false],
    ["Throttling", "sts:GetCallerIdentity", 400, "Throttled", true],
    ["TooManyRequestsException", "lambda:ListAliases", 429, "Throttled", true],
    ["InternalFailure", "sts:GetCallerIdentity", 500, "ProviderUnavailable", true],
    ["ServiceException", "lambda:ListFunctions", 500, "ProviderUnavailable", true],
    ["SomethingNew", "lambda:ListFunctions", 503, "ProviderUnavailable", true],
    ["TimeoutError", "sts:GetCallerIdentity", undefined, "Timeout", true],
    ["SomethingNew", "sts:GetCallerIdentity", 400, "InternalError", true],
  ])("%s on %s (HTTP %s) is %s, retryable %s", (name, operation, status, reason, retryable) => {
    const error = classifyAwsError(sdkError(name, status), operation, []);
    expect(error.reason).toBe(reason);
    expect(error.retryable).toBe(retryable);
    expect(error.code).toBe(name);
  });

  it("treats a dropped connection as ProviderUnavailable", () => {
    const e = Object.assign(new Error("socket hang up"), { code: "ECONNRESET", name: "TimeoutError" });
    expect(classifyAwsError(e, "sts:GetCallerIdentity", []).reason).toBe("ProviderUnavailable");
  });

  it("scrubs secrets and request ids from the message and the cause", () => {
    const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const error = classifyAwsError(sdkError("SignatureDoesNotMatch", 403, `bad ${secret} RequestId: 1234-abcd`), "sts:GetCallerIdentity", [secret]);
    expect(error.message).not.toContain(secret);
    expect(error.message).not.toContain("1234-abcd");
    expect(String((error.cause as Error).message)).not.toContain(secret);
  });
});

describe("AWS endpoints", () => {
  it("resolves partitions and regional endpoints from the region", () => {
    expect(partitionOf("eu-west-1")).toBe("aws");
    expect(partitionOf("cn-north-1")).toBe("aws-cn");
    expect(partitionOf("us-gov-west-1")).toBe("aws-us-gov");
    expect(stsEndpoint("eu-west-1")).toBe("https://sts.eu-west-1.amazonaws.com");
    expect(stsEndpoint("cn-northwest-1")).toBe("https://sts.cn-northwest-1.amazonaws.com.cn");
    expect(stsEndpoint("us-gov-east-1")).toBe("https://sts.us-gov-east-1.amazonaws.com");
    expect(lambdaEndpoint("cn-north-1")).toBe("https://lambda.cn-north-1.amazonaws.com.cn");
  });

  it("uses the override when set", () => {
    expect(stsEndpoint("eu-west-1", "http://127.0.0.1:4566")).toBe("http://127.0.0.1:4566");
    expect(lambdaEndpoint("eu-west-1", "http://127.0.0.1:4566")).toBe("http://127.0.0.1:4566");
  });
});
