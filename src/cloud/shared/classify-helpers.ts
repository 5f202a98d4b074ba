// What the AWS and Azure classifiers share: socket error codes, the Retry-After header, and building the scrubbed CloudCallError.
import type { Reason } from "../../model/reasons.js";
import type { CloudName } from "../provider.js";
import { CloudCallError } from "./call-error.js";
import { sanitizedCause, sanitizeProviderText } from "./sanitize.js";

/** Node socket and DNS error codes: the call got no answer, so it says nothing about the credentials. */
const SOCKET_CODES = ["ECONNRESET", "ECONNREFUSED", "EPIPE", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "ETIMEDOUT"];

/** The socket codes plus an SDK's own codes for a request that never got an answer. Pure. */
export function networkCodes(...sdkCodes: string[]): ReadonlySet<string> {
  return new Set([...SOCKET_CODES, ...sdkCodes]);
}

/**
 * A Retry-After header value in milliseconds: delay-seconds, or — only when `now` is given — an
 * HTTP-date measured from `now()` (never negative). Undefined when absent or unreadable. Pure
 * apart from calling `now`.
 */
export function retryAfterMs(raw: unknown, now?: () => number): number | undefined {
  if (typeof raw !== "string") return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  if (now === undefined) return undefined;
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now());
}

export interface ClassifiedCall {
  provider: CloudName;
  reason: Reason;
  operation: string;
  /** The provider's error code, or the socket code for a network failure. */
  code: string;
  status: number | undefined;
  /** The provider's raw text; scrubbed of `secrets` here. */
  message: string;
  secrets: readonly string[];
  retryAfterMs: number | undefined;
}

/** The CloudCallError for a classified failure: `<provider> <operation> failed: <code> (HTTP n): <scrubbed text>`. Pure. */
export function classifiedCallError(c: ClassifiedCall): CloudCallError {
  const text = sanitizeProviderText(c.message, c.secrets);
  return new CloudCallError(c.reason, c.provider, c.operation, `${c.provider} ${c.operation} failed: ${c.code}${c.status === undefined ? "" : ` (HTTP ${c.status})`}${text === "" ? "" : `: ${text}`}`, {
    code: c.code,
    ...(c.status === undefined ? {} : { httpStatus: c.status }),
    ...(c.retryAfterMs === undefined ? {} : { retryAfterMs: c.retryAfterMs }),
    cause: sanitizedCause(c.code, c.message, c.secrets),
  });
}
