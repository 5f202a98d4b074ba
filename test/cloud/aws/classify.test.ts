// AWS error classification and endpoint resolution, without a network, fed with errors shaped exactly as the SDK builds them.
import { LambdaServiceException } from "@aws-sdk/client-lambda";
import { STSServiceException } from "@aws-sdk/client-sts";
import { describe, expect, it } from "vitest";
import { classifyAwsError, refusesCredentials, type AwsCallFacts, type AwsSigner } from "../../../src/cloud/aws/classify.js";
import { lambdaEndpoint, partitionOf, stsEndpoint } from "../../../src/cloud/aws/endpoints.js";

/** When the answers below arrived on AWS's clock. */
const AWS_NOW_MS = Date.parse("2026-12-02T03:11:22Z");
const MINUTE_MS = 60_000;
const SKEW_MESSAGE = "Signature expired: 20261202T025122Z is now earlier than 20261202T025622Z (20261202T031122Z - 15 min.)";

interface Answer {
  status: number;
  headers?: Record<string, string>;
}

/** The SDK's hidden raw response: non-enumerable, headers lower-cased, with AWS's Date. */
function attachResponse(e: object, { status, headers = {} }: Answer): void {
  const all = { date: new Date(AWS_NOW_MS).toUTCString(), "x-amzn-requestid": "be2d34b2-d42f-4ebd-a200-7f5192ad0bc3", ...headers };
  Object.defineProperty(e, "$response", { value: { statusCode: status, headers: all, body: undefined }, enumerable: false });
}

/** A service exception as the SDK throws it for an AWS error document: code in `name`, `$fault`, `$metadata`, `$response`. */
function serviceError(service: "sts" | "lambda", code: string, status: number, message = "m", headers?: Record<string, string>): Error {
  const options = { name: code, $fault: status >= 500 ? ("server" as const) : ("client" as const), $metadata: { httpStatusCode: status, requestId: "be2d34b2", attempts: 1, totalRetryDelay: 0 }, message };
  const e = service === "sts" ? new STSServiceException(options) : new LambdaServiceException(options);
  // STS's query protocol also copies the XML error's fields onto the exception.
  if (service === "sts") Object.assign(e, { Type: status >= 500 ? "Receiver" : "Sender", Code: code, Error: { Type: "Sender", Code: code, Message: message } });
  attachResponse(e, headers === undefined ? { status } : { status, headers });
  return e;
}

/** What the SDK throws when the body is not its protocol at all: the parser's own error, with `$metadata` and the boilerplate hint, no `$fault`. */
function deserializationFailure(status: number, parserError: Error, contentType: string): Error {
  parserError.message += "\n  Deserialization error: to see the raw response, inspect the hidden field {error}.$response on this object.";
  Object.assign(parserError, { $metadata: { httpStatusCode: status, requestId: undefined, extendedRequestId: undefined, cfId: undefined } });
  attachResponse(parserError, { status, headers: { "content-type": contentType } });
  return parserError;
}

const facts = (signer: AwsSigner, brokerBehindMs = 0, signedWithOffsetMs = 0): AwsCallFacts => ({ signer, signedWithOffsetMs, receivedAtMs: AWS_NOW_MS - brokerBehindMs });

describe("classifyAwsError", () => {
  it.each([
    ["sts", "InvalidClientTokenId", "sts:GetCallerIdentity", 403, "InvalidAccessKey", false],
    ["lambda", "UnrecognizedClientException", "lambda:ListFunctions", 403, "InvalidAccessKey", false],
    ["sts", "SignatureDoesNotMatch", "sts:GetCallerIdentity", 403, "InvalidSecretKey", false],
    ["lambda", "InvalidSignatureException", "lambda:ListFunctions", 403, "InvalidSecretKey", false],
    ["sts", "ExpiredToken", "sts:GetCallerIdentity", 400, "ExpiredSessionToken", false],
    ["lambda", "ExpiredTokenException", "lambda:ListFunctions", 403, "ExpiredSessionToken", false],
    ["sts", "AccessDenied", "sts:AssumeRole", 403, "AssumeRoleDenied", false],
    ["lambda", "AccessDeniedException", "lambda:ListFunctions", 403, "DiscoveryDenied", false],
    ["sts", "Throttling", "sts:GetCallerIdentity", 400, "Throttled", true],
    ["lambda", "TooManyRequestsException", "lambda:ListAliases", 429, "Throttled", true],
    ["sts", "InternalFailure", "sts:GetCallerIdentity", 500, "ProviderUnavailable", true],
    ["lambda", "ServiceException", "lambda:ListFunctions", 500, "ProviderUnavailable", true],
    ["lambda", "SomethingNew", "lambda:ListFunctions", 503, "ProviderUnavailable", true],
    ["sts", "SomethingNew", "sts:GetCallerIdentity", 400, "InternalError", true],
    ["sts", "RequestExpired", "sts:GetCallerIdentity", 400, "ClockSkew", true],
    ["lambda", "RequestTimeTooSkewed", "lambda:ListFunctions", 403, "ClockSkew", true],
  ] as const)("%s %s on %s (HTTP %s) is %s, retryable %s", (service, name, operation, status, reason, retryable) => {
    const error = classifyAwsError(serviceError(service, name, status), operation, [], facts("keys"));
    expect(error.reason).toBe(reason);
    expect(error.retryable).toBe(retryable);
    expect(error.code).toBe(name);
  });

  it("reads a timeout without any answer as Timeout", () => {
    const e = Object.assign(new Error("Request timed out"), { name: "TimeoutError" });
    expect(classifyAwsError(e, "sts:GetCallerIdentity", []).reason).toBe("Timeout");
  });

  it("treats a dropped connection as ProviderUnavailable", () => {
    const e = Object.assign(new Error("socket hang up"), { code: "ECONNRESET", name: "TimeoutError" });
    expect(classifyAwsError(e, "sts:GetCallerIdentity", []).reason).toBe("ProviderUnavailable");
  });

  it("scrubs secrets and request ids from the message and the cause", () => {
    const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const error = classifyAwsError(serviceError("sts", "SignatureDoesNotMatch", 403, `bad ${secret} RequestId: 1234-abcd`), "sts:GetCallerIdentity", [secret]);
    expect(error.message).not.toContain(secret);
    expect(error.message).not.toContain("1234-abcd");
    expect(String((error.cause as Error).message)).not.toContain(secret);
  });
});

describe("classifyAwsError: clock skew is measured from the answer's Date", () => {
  it.each([
    ["STS", "sts", "SignatureDoesNotMatch", "sts:GetCallerIdentity"],
    ["Lambda", "lambda", "InvalidSignatureException", "lambda:ListFunctions"],
  ] as const)("reads %s's 'Signature expired' with AWS's Date 20 minutes ahead of the signing clock as transient ClockSkew", (_what, service, code, operation) => {
    const error = classifyAwsError(serviceError(service, code, 403, SKEW_MESSAGE), operation, [], facts("keys", 20 * MINUTE_MS));
    expect(error.reason).toBe("ClockSkew");
    expect(error.retryable).toBe(true);
    expect(error.code).toBe(code);
    // Rounded minutes instead of AWS's timestamps, so the condition does not change on every retry.
    expect(error.message).toBe(`aws ${operation} failed: ${code} (HTTP 403): the broker's clock is 20 min behind AWS's: signatures are accepted within 15 min; check this node's time synchronisation (NTP)`);
  });

  it("says the clock is ahead when AWS's Date is earlier than the signing clock", () => {
    const error = classifyAwsError(serviceError("sts", "SignatureDoesNotMatch", 403, SKEW_MESSAGE), "sts:GetCallerIdentity", [], facts("keys", -20 * MINUTE_MS));
    expect(error.reason).toBe("ClockSkew");
    expect(error.message).toContain("20 min ahead of AWS's");
  });

  it("keeps a signature refusal a verdict when the signing clock agrees with AWS's", () => {
    const error = classifyAwsError(serviceError("sts", "SignatureDoesNotMatch", 403, "The request signature we calculated does not match"), "sts:GetCallerIdentity", [], facts("keys", 30_000));
    expect(error.reason).toBe("InvalidSecretKey");
  });

  it("counts the offset the SDK signed with: a client already corrected by 20 minutes signs on AWS's time", () => {
    const error = classifyAwsError(serviceError("sts", "SignatureDoesNotMatch", 403), "sts:GetCallerIdentity", [], facts("keys", 20 * MINUTE_MS, 20 * MINUTE_MS));
    expect(error.reason).toBe("InvalidSecretKey");
  });

  it("measures nothing without a Date (or without the signing clock) and leaves the code its meaning", () => {
    const noDate = serviceError("sts", "SignatureDoesNotMatch", 403, SKEW_MESSAGE, { date: "" });
    expect(classifyAwsError(noDate, "sts:GetCallerIdentity", [], facts("keys", 20 * MINUTE_MS)).reason).toBe("InvalidSecretKey");
    expect(classifyAwsError(serviceError("sts", "SignatureDoesNotMatch", 403, SKEW_MESSAGE), "sts:GetCallerIdentity", []).reason).toBe("InvalidSecretKey");
  });
});

describe("classifyAwsError: whose credentials were refused", () => {
  it.each([
    ["sts", "InvalidClientTokenId", "sts:GetCallerIdentity"],
    ["lambda", "UnrecognizedClientException", "lambda:ListFunctions"],
  ] as const)("reads %s %s for keys with a session token as InvalidSessionToken, naming the session token", (service, code, operation) => {
    const error = classifyAwsError(serviceError(service, code, 403, "The security token included in the request is invalid."), operation, [], facts("sessionKeys"));
    expect(error.reason).toBe("InvalidSessionToken");
    expect(error.retryable).toBe(false);
    expect(error.message).toBe(`aws ${operation} failed: ${code} (HTTP 403): the session token (sessionToken), or the access key id it belongs to, was not accepted`);
  });

  it("keeps InvalidClientTokenId for long-term keys InvalidAccessKey", () => {
    expect(classifyAwsError(serviceError("sts", "InvalidClientTokenId", 403), "sts:GetCallerIdentity", [], facts("keys")).reason).toBe("InvalidAccessKey");
  });

  it.each(["InvalidClientTokenId", "SignatureDoesNotMatch", "ExpiredToken"])("reads %s for the broker's own (ambient) credentials as transient BrokerNotAuthorized", (code) => {
    const error = classifyAwsError(serviceError("sts", code, 403), "sts:GetCallerIdentity", [], facts("ambient"));
    expect(error.reason).toBe("BrokerNotAuthorized");
    expect(error.retryable).toBe(true);
    expect(error.message).toContain("the broker's own AWS credentials");
  });
});

describe("classifyAwsError: a role session credbroker assumed is credbroker's, not the upstream's", () => {
  it.each([
    ["sts", "InvalidClientTokenId", "sts:GetCallerIdentity", 403, "was not accepted (not yet propagated, or revoked)"],
    ["lambda", "UnrecognizedClientException", "lambda:ListFunctions", 403, "was not accepted (not yet propagated, or revoked)"],
    ["sts", "ExpiredToken", "sts:GetCallerIdentity", 400, "expired before the call"],
    ["lambda", "ExpiredTokenException", "lambda:ListAliases", 403, "expired before the call"],
  ] as const)("reads %s %s on %s for the assumed session as transient ProviderUnavailable", (service, code, operation, status, what) => {
    const error = classifyAwsError(serviceError(service, code, status, "The security token included in the request is invalid."), operation, [], facts("assumedRole"));
    expect(error.reason).toBe("ProviderUnavailable");
    expect(error.retryable).toBe(true);
    expect(error.code).toBe(code);
    expect(error.message).toBe(
      `aws ${operation} failed: ${code} (HTTP ${status}): the role session credbroker assumed for spec.aws.roleArn ${what}; it is dropped and the role assumed again on the next attempt`,
    );
    expect(refusesCredentials(error)).toBe(true);
  });

  it.each(["ExpiredToken", "ExpiredTokenException"])("keeps %s a verdict (ExpiredSessionToken) when the session token is the upstream's own", (code) => {
    const error = classifyAwsError(serviceError("sts", code, 400), "sts:GetCallerIdentity", [], facts("sessionKeys"));
    expect(error.reason).toBe("ExpiredSessionToken");
    expect(error.retryable).toBe(false);
  });

  it("still reads a skewed signature of the assumed session as ClockSkew", () => {
    const error = classifyAwsError(serviceError("lambda", "InvalidSignatureException", 403, SKEW_MESSAGE), "lambda:ListFunctions", [], facts("assumedRole", 20 * MINUTE_MS));
    expect(error.reason).toBe("ClockSkew");
  });

  it("does not call a refusal of anything but the credentials a credential refusal", () => {
    expect(refusesCredentials(classifyAwsError(serviceError("lambda", "AccessDeniedException", 403), "lambda:ListFunctions", [], facts("assumedRole")))).toBe(false);
    expect(refusesCredentials(classifyAwsError(serviceError("lambda", "ServiceException", 500), "lambda:ListFunctions", [], facts("assumedRole")))).toBe(false);
    expect(refusesCredentials(new Error("InvalidClientTokenId"))).toBe(false);
  });
});

describe("classifyAwsError: AssumeRole refused to the broker's own identity", () => {
  const brokerArn = "arn:aws:sts::444455556666:assumed-role/credbroker-irsa/botocore-session-1";
  const refusal = (suffix = "") => serviceError("sts", "AccessDenied", 403, `User: ${brokerArn} is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::111122223333:role/discovery${suffix}`);

  it("keeps a trust-policy refusal the verdict AssumeRoleDenied, naming the broker's identity and what to fix", () => {
    const error = classifyAwsError(refusal(), "sts:AssumeRole", [], facts("ambient"));
    expect(error.reason).toBe("AssumeRoleDenied");
    expect(error.retryable).toBe(false);
    expect(error.message).toBe(
      `aws sts:AssumeRole failed: AccessDenied (HTTP 403): the trust policy of spec.aws.roleArn does not let the broker's own identity (${brokerArn}, account 444455556666) assume it; ` +
        "without a secretRef the upstream is verified with the broker's credentials (aws.allowAmbientCredentials): trust that identity in the role, or give the upstream a secretRef",
    );
  });

  it("says only 'the broker's own identity' when AWS named no caller", () => {
    const error = classifyAwsError(serviceError("sts", "AccessDenied", 403, "Access denied"), "sts:AssumeRole", [], facts("ambient"));
    expect(error.reason).toBe("AssumeRoleDenied");
    expect(error.message).toContain("does not let the broker's own identity assume it");
  });

  it.each([" because no identity-based policy allows the sts:AssumeRole action", " with an explicit deny in a service control policy", " with an explicit deny in a permissions boundary"])(
    "reads a refusal by a policy on the broker's side (%s) as transient BrokerNotAuthorized",
    (suffix) => {
      const error = classifyAwsError(refusal(suffix), "sts:AssumeRole", [], facts("ambient"));
      expect(error.reason).toBe("BrokerNotAuthorized");
      expect(error.retryable).toBe(true);
      expect(error.message).toContain(`the broker's own identity (${brokerArn}, account 444455556666) may not call sts:AssumeRole`);
    },
  );

  it("keeps AssumeRole refused to the upstream's own keys AssumeRoleDenied, whatever policy refused it", () => {
    expect(classifyAwsError(refusal(" because no identity-based policy allows the sts:AssumeRole action"), "sts:AssumeRole", [], facts("keys")).reason).toBe("AssumeRoleDenied");
  });
});

describe("classifyAwsError: answers that are not AWS error documents", () => {
  const html = `<html><body><h1>403 Forbidden</h1>Request blocked by corporate proxy</body></html>`;
  const shapes: [string, (status: number) => Error][] = [
    ["Lambda's JSON parser on an HTML page", (s) => deserializationFailure(s, new SyntaxError(`Unexpected token '<', "<html><bod"... is not valid JSON`), "text/html")],
    ["Lambda's JSON parser on an XML page", (s) => deserializationFailure(s, new SyntaxError(`Unexpected token '<', "<?xml vers"... is not valid JSON`), "application/xml")],
    ["STS's XML parser on a JSON body", (s) => deserializationFailure(s, new Error("@aws-sdk XML parse error: unexpected content."), "application/json")],
    ["STS on an HTML page (no code: Unknown)", (s) => serviceError("sts", "Unknown", s, "Unknown", { "content-type": "text/html" })],
    ["Lambda on a JSON body without a code (UnknownError)", (s) => serviceError("lambda", "Unknown", s, "UnknownError", { "content-type": "application/json" })],
    ["an HTML page that names an AWS code", (s) => serviceError("lambda", "AccessDeniedException", s, html, { "content-type": "text/html" })],
  ];

  for (const [what, build] of shapes) {
    it.each([401, 403, 502, 200])(`reads ${what} (HTTP %s) as transient ProviderUnavailable with our own sentence`, (status) => {
      const error = classifyAwsError(build(status), "lambda:ListFunctions", [], facts("keys"));
      expect(error.reason).toBe("ProviderUnavailable");
      expect(error.retryable).toBe(true);
      expect(error.code).toBeUndefined();
      expect(error.httpStatus).toBe(status);
      expect(error.message).toBe(`aws lambda:ListFunctions failed (HTTP ${status}): the answer is not from AWS (a proxy or firewall in between?)`);
      const cause = error.cause as Error;
      for (const text of [error.message, cause.message, cause.stack ?? ""]) {
        for (const fragment of ["Deserialization", "$response", "<html", "Unexpected token", "proxy</"]) expect(text).not.toContain(fragment);
      }
    });
  }

  it("reads a rate limiter's own 429 page as Throttled, keeping its Retry-After", () => {
    const error = classifyAwsError(serviceError("lambda", "Unknown", 429, "UnknownError", { "content-type": "text/html", "retry-after": "3" }), "lambda:ListFunctions", []);
    expect(error.reason).toBe("Throttled");
    expect(error.retryAfterMs).toBe(3000);
  });
});

describe("classifyAwsError: every message is capped", () => {
  const bytes = (s: string): number => Buffer.byteLength(s, "utf8");

  it("caps a long multi-byte message at 512 bytes on a character boundary", () => {
    const error = classifyAwsError(serviceError("lambda", "ServiceException", 500, "é".repeat(5000)), "lambda:ListFunctions", []);
    expect(bytes(error.message)).toBeLessThanOrEqual(512);
    expect(error.message).not.toContain("\uFFFD");
    expect(bytes((error.cause as Error).message)).toBeLessThanOrEqual(512);
  });

  it("cuts an error code no AWS service would send to an identifier's length", () => {
    const error = classifyAwsError(serviceError("lambda", `Weird${"X".repeat(5000)}`, 400), "lambda:ListFunctions", []);
    expect(bytes(error.code ?? "")).toBeLessThanOrEqual(64);
    expect(bytes(error.message)).toBeLessThanOrEqual(512);
  });

  it("scrubs before it cuts, so no prefix of a secret survives at the cut", () => {
    const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const error = classifyAwsError(serviceError("sts", "SomethingNew", 400, `${"x".repeat(470)}${secret}`), "sts:GetCallerIdentity", [secret]);
    expect(error.message).not.toContain(secret.slice(0, 8));
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
