// Maps AWS SDK errors (STS, Lambda, network) to reasons: permanent verdicts about credentials, or transient faults.
import type { Reason } from "../../model/reasons.js";
import type { CloudCallError } from "../shared/call-error.js";
import { classifiedCallError, networkCodes, retryAfterMs } from "../shared/classify-helpers.js";

/** Error codes by reason; the SDK puts the AWS error code in `name`. */
const BY_CODE: Record<string, Reason> = {
  InvalidClientTokenId: "InvalidAccessKey",
  UnrecognizedClientException: "InvalidAccessKey",
  MissingAuthenticationToken: "InvalidAccessKey",
  MissingAuthenticationTokenException: "InvalidAccessKey",
  SignatureDoesNotMatch: "InvalidSecretKey",
  InvalidSignatureException: "InvalidSecretKey",
  ExpiredToken: "ExpiredSessionToken",
  ExpiredTokenException: "ExpiredSessionToken",
  Throttling: "Throttled",
  ThrottlingException: "Throttled",
  TooManyRequestsException: "Throttled",
  RequestLimitExceeded: "Throttled",
  InternalFailure: "ProviderUnavailable",
  InternalError: "ProviderUnavailable",
  ServiceException: "ProviderUnavailable",
  ServiceUnavailable: "ProviderUnavailable",
  ServiceUnavailableException: "ProviderUnavailable",
  TimeoutError: "Timeout",
  AbortError: "Timeout",
  RequestTimeout: "Timeout",
  RequestTimeoutException: "Timeout",
};

const NETWORK_CODES = networkCodes("UND_ERR_SOCKET");

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  $response?: { headers?: Record<string, unknown> };
}

/**
 * Classifies one failed AWS call. AccessDenied on AssumeRole is `AssumeRoleDenied`;
 * AccessDeniedException on a Lambda list is `DiscoveryDenied`; both permanent. Unknown 4xx
 * codes are `InternalError` (transient) so a misunderstanding never rejects an upstream. Pure.
 */
export function classifyAwsError(err: unknown, operation: string, secrets: readonly string[]): CloudCallError {
  const e = (typeof err === "object" && err !== null ? err : {}) as SdkErrorShape;
  const name = typeof e.name === "string" ? e.name : "Error";
  const sysCode = typeof e.code === "string" ? e.code : undefined;
  const message = typeof e.message === "string" ? e.message : String(err);
  const status = typeof e.$metadata?.httpStatusCode === "number" ? e.$metadata.httpStatusCode : undefined;
  const network = sysCode !== undefined && NETWORK_CODES.has(sysCode);
  // A dropped connection can surface under a timeout-ish name; the socket's own code says what happened.
  let reason: Reason | undefined = network ? (sysCode === "ETIMEDOUT" ? "Timeout" : "ProviderUnavailable") : BY_CODE[name];
  if (name === "AccessDenied" || name === "AccessDeniedException") {
    reason = operation.endsWith("AssumeRole") ? "AssumeRoleDenied" : operation.startsWith("lambda:") ? "DiscoveryDenied" : "InternalError";
  }
  if (reason === undefined) {
    if (status === 429) reason = "Throttled";
    else if (status !== undefined && status >= 500) reason = "ProviderUnavailable";
    else if (status === undefined) reason = "ProviderUnavailable"; // no HTTP answer at all: connection-level failure
    else reason = "InternalError";
  }
  const code = network && sysCode !== undefined ? sysCode : name;
  // Delay-seconds only, as this classifier has always read it (no HTTP-date).
  const wait = retryAfterMs(e.$response?.headers?.["retry-after"]);
  return classifiedCallError({ provider: "aws", reason, operation, code, status, message, secrets, retryAfterMs: wait });
}
