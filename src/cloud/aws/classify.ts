// Maps AWS SDK errors (STS, Lambda, network) to reasons: permanent verdicts about credentials, or transient faults.
import type { Reason } from "../../model/reasons.js";
import { CloudCallError } from "../shared/call-error.js";
import { sanitizedCause, sanitizeProviderText } from "../shared/sanitize.js";

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

const NETWORK_CODES = new Set(["ECONNRESET", "ECONNREFUSED", "EPIPE", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "ETIMEDOUT", "UND_ERR_SOCKET"]);

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  $response?: { headers?: Record<string, unknown> };
}

function retryAfterMs(err: SdkErrorShape): number | undefined {
  const raw = err.$response?.headers?.["retry-after"];
  const seconds = typeof raw === "string" ? Number(raw) : NaN;
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
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
  const text = sanitizeProviderText(message, secrets);
  const wait = retryAfterMs(e);
  return new CloudCallError(reason, "aws", operation, `aws ${operation} failed: ${code}${status === undefined ? "" : ` (HTTP ${status})`}${text === "" ? "" : `: ${text}`}`, {
    code,
    ...(status === undefined ? {} : { httpStatus: status }),
    ...(wait === undefined ? {} : { retryAfterMs: wait }),
    cause: sanitizedCause(code, message, secrets),
  });
}
