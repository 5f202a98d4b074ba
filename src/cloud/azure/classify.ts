// Maps @azure/identity and ARM errors to reasons: AADSTS codes are auth verdicts, 404/403 are app verdicts, 429/5xx/network are transient.
import type { Reason } from "../../model/reasons.js";
import type { CloudCallError } from "../shared/call-error.js";
import { classifiedCallError, networkCodes, retryAfterMs } from "../shared/classify-helpers.js";

/**
 * AADSTS codes that say the service is having a moment rather than that the credentials are wrong
 * (90033 temporarily unavailable, 50196 loop detected, 90006 server error). 7000112 — the
 * application is disabled — is a verdict, not among them.
 */
const TRANSIENT_AADSTS = new Set(["90033", "50196", "90006"]);

const NETWORK_CODES = networkCodes("REQUEST_SEND_ERROR");

interface AzureErrorShape {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  statusCode?: unknown;
  response?: { headers?: { get?: (name: string) => string | undefined } };
}

/** The AADSTS code in an identity error's text (MSAL folds the Entra response into the message). Pure. */
export function aadstsCode(text: string): string | undefined {
  return /AADSTS(\d{5,8})/.exec(text)?.[1];
}

/**
 * Classifies one failed Azure call. An AADSTS code → `AzureAuthFailed` (permanent; the code is
 * in the message, the secret never is), except the few transient ones; 404 on the site →
 * `FunctionAppNotFound`; 403 AuthorizationFailed → `DiscoveryDenied`; 429 → `Throttled`
 * (Retry-After kept on the error); 5xx and network → `ProviderUnavailable`; abort/timeout →
 * `Timeout`. Pure.
 */
export function classifyAzureError(err: unknown, operation: string, secrets: readonly string[]): CloudCallError {
  const e = (typeof err === "object" && err !== null ? err : {}) as AzureErrorShape;
  const name = typeof e.name === "string" ? e.name : "Error";
  const message = typeof e.message === "string" ? e.message : String(err);
  const rawCode = typeof e.code === "string" ? e.code : undefined;
  const status = typeof e.statusCode === "number" ? e.statusCode : undefined;
  const aadsts = aadstsCode(message);
  let reason: Reason;
  let code = rawCode ?? name;
  // Passing faults first: a throttled or failing service may still put an AADSTS code in its text.
  if (name === "AbortError" || name === "TimeoutError" || rawCode === "ETIMEDOUT") {
    reason = "Timeout";
  } else if (rawCode !== undefined && NETWORK_CODES.has(rawCode)) {
    reason = "ProviderUnavailable";
  } else if (status === 429) {
    reason = "Throttled";
  } else if (status !== undefined && status >= 500) {
    reason = "ProviderUnavailable";
  } else if (aadsts !== undefined) {
    code = `AADSTS${aadsts}`;
    reason = TRANSIENT_AADSTS.has(aadsts) ? "ProviderUnavailable" : "AzureAuthFailed";
  } else if (status === 404 && operation.startsWith("arm:sites")) {
    reason = "FunctionAppNotFound";
  } else if (status === 403 || rawCode === "AuthorizationFailed") {
    reason = "DiscoveryDenied";
  } else if (status === 401) {
    // ARM refused a token Entra just issued: the principal is gone or the token is for another audience.
    reason = "AzureAuthFailed";
  } else if (name === "CredentialUnavailableError" || name === "AuthenticationError" || name === "AuthenticationRequiredError") {
    // No AADSTS code and no HTTP answer: the authority could not be reached or resolved.
    reason = "ProviderUnavailable";
  } else if (status === undefined) {
    reason = "ProviderUnavailable";
  } else {
    reason = "InternalError";
  }
  const wait = retryAfterMs(e.response?.headers?.get?.("retry-after"), Date.now);
  return classifiedCallError({ provider: "azure", reason, operation, code, status, message, secrets, retryAfterMs: wait });
}
