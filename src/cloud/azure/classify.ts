// Maps @azure/identity and ARM errors to reasons by their real shapes: status from the cause chain, AADSTS code lists, ARM codes, Retry-After.
import type { Reason } from "../../model/reasons.js";
import type { CloudCallError } from "../shared/call-error.js";
import { classifiedCallError, networkCodes, retryAfterMs } from "../shared/classify-helpers.js";
import { reasonOfAadsts } from "./entra-codes.js";
import { azureErrorFacts, type AzureErrorFacts } from "./error-facts.js";

const NETWORK_CODES = networkCodes("REQUEST_SEND_ERROR");

function isTimeout(f: AzureErrorFacts): boolean {
  return f.names.some((n) => n === "AbortError" || n === "TimeoutError") || f.code === "ETIMEDOUT";
}

/** The reason of an ARM (or otherwise non-AADSTS) answer with an HTTP status. */
function armReason(status: number, code: string | undefined, operation: string): Reason {
  if (status === 404 && operation.startsWith("arm:sites")) return "FunctionAppNotFound";
  // ARM proxies the function list to the app's own host; a stopped (or not yet started) host answers 404 "Error retrieving functions".
  if (status === 404 && operation === "arm:functions.list") return "FunctionAppStopped";
  if (status === 403 || code === "AuthorizationFailed") return "DiscoveryDenied";
  // ARM's 401 codes say whose fault it is. An expired token that MSAL still served as fresh means
  // the pod's clock is behind; a token for another audience means azure.armEndpoint names another
  // cloud. Any other 401 refuses a token Entra just issued: the principal is gone.
  if (status === 401 && code === "ExpiredAuthenticationToken") return "ClockSkew";
  if (status === 401 && code === "InvalidAuthenticationTokenAudience") return "BrokerMisconfigured";
  if (status === 401) return "AzureAuthFailed";
  return "InternalError";
}

/**
 * Classifies one failed Azure call. Passing faults first — timeouts, no answer, 429 (`Throttled`,
 * Retry-After kept), 5xx (`ProviderUnavailable`) — since a throttled or failing Entra still puts an
 * AADSTS code in its body. Then the AADSTS code: throttling and service codes are transient, a
 * wrong ARM resource or authority is `BrokerMisconfigured`, an assertion outside its time window
 * is `ClockSkew`, any other is `AzureAuthFailed` (the code in the message, never the secret).
 * Then ARM: 404 on the site → `FunctionAppNotFound`, 404 on the function list (the app's host is
 * not running) → `FunctionAppStopped`, 403 → `DiscoveryDenied`, 401 → `AzureAuthFailed` (but `ExpiredAuthenticationToken` →
 * `ClockSkew`, `InvalidAuthenticationTokenAudience` → `BrokerMisconfigured`). Pure apart from reading the clock for an HTTP-date Retry-After.
 */
export function classifyAzureError(err: unknown, operation: string, secrets: readonly string[]): CloudCallError {
  const f = azureErrorFacts(err);
  const status = f.status;
  let reason: Reason;
  let code = f.armCode ?? f.code ?? f.names[0] ?? "Error";
  if (isTimeout(f)) {
    reason = "Timeout";
  } else if (f.code !== undefined && NETWORK_CODES.has(f.code)) {
    reason = "ProviderUnavailable";
  } else if (status === 429) {
    reason = "Throttled";
    if (f.aadsts !== undefined) code = `AADSTS${f.aadsts}`;
  } else if (status !== undefined && status >= 500) {
    reason = "ProviderUnavailable";
    if (f.aadsts !== undefined) code = `AADSTS${f.aadsts}`;
  } else if (f.aadsts !== undefined) {
    code = `AADSTS${f.aadsts}`;
    reason = reasonOfAadsts(f.aadsts);
  } else if (status !== undefined) {
    reason = armReason(status, f.armCode ?? f.code, operation);
  } else {
    // No AADSTS code and no HTTP answer (for @azure/identity: CredentialUnavailableError and the
    // like): the authority or ARM could not be reached, or MSAL could not resolve the endpoints.
    reason = "ProviderUnavailable";
  }
  const message = f.armMessage !== undefined && !f.message.includes(f.armMessage) ? f.armMessage : f.message;
  return classifiedCallError({ provider: "azure", reason, operation, code, status, message, secrets, retryAfterMs: retryAfterMs(f.retryAfter, Date.now) });
}
