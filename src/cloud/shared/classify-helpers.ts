// What the AWS and Azure classifiers share: socket error codes, the Retry-After header, and building the scrubbed CloudCallError.
import type { Reason } from "../../model/reasons.js";
import type { CloudName } from "../provider.js";
import { CloudCallError } from "./call-error.js";
import { truncateUtf8 } from "../../model/text.js";
import { MAX_PROVIDER_MESSAGE_BYTES, sanitizedCause, sanitizeProviderCode, sanitizeProviderText } from "./sanitize.js";

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
  /** The provider's error code, or the socket code for a network failure; undefined when the answer carried none (not the provider's). */
  code: string | undefined;
  status: number | undefined;
  /** The provider's raw text (or the classifier's own sentence); scrubbed of `secrets` here. */
  message: string;
  secrets: readonly string[];
  retryAfterMs: number | undefined;
}

/**
 * The CloudCallError for a classified failure: `<provider> <operation> failed: <code> (HTTP n): <scrubbed text>`
 * (without a code: `<provider> <operation> failed (HTTP n): <text>`). The code is scrubbed and cut to an
 * identifier's length, the text scrubbed, and the whole message capped at 512 bytes. Pure.
 */
export function classifiedCallError(c: ClassifiedCall): CloudCallError {
  const text = sanitizeProviderText(c.message, c.secrets);
  const code = c.code === undefined ? undefined : sanitizeProviderCode(c.code, c.secrets);
  const head = `${c.provider} ${c.operation} failed${code === undefined ? "" : `: ${code}`}${c.status === undefined ? "" : ` (HTTP ${c.status})`}`;
  const message = truncateUtf8(text === "" ? head : `${head}: ${text}`, MAX_PROVIDER_MESSAGE_BYTES);
  return new CloudCallError(c.reason, c.provider, c.operation, message, {
    ...(code === undefined ? {} : { code }),
    ...(c.status === undefined ? {} : { httpStatus: c.status }),
    ...(c.retryAfterMs === undefined ? {} : { retryAfterMs: c.retryAfterMs }),
    cause: sanitizedCause(code ?? "Error", c.message, c.secrets),
  });
}
