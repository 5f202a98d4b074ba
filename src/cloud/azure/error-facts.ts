// Reads what an Azure SDK error knows, wherever in its cause chain it sits: HTTP status, AADSTS code, ARM error code, Retry-After.
//
// The shapes, as the SDKs build them:
// - @azure/identity wraps MSAL's ServerError in AuthenticationRequiredError; the HTTP status is on
//   the cause (`cause.status`), the first AADSTS number on `cause.errorNo`, and the OAuth error in
//   `cause.errorCode`. A request MSAL refused itself, because an earlier 429/5xx set its throttle,
//   carries the AADSTS numbers as `errorCode` ("90055") and no status at all.
// - An ARM RestError has `statusCode`, `code` from `error.code`, and the raw `response` (headers,
//   bodyAsText). Microsoft.Web answers some errors with a capitalised `{Code, Message}` body the
//   SDK does not parse, so the body is read here.

/** What the classifier needs from an Azure error. Values are codes and numbers, never secrets. */
export interface AzureErrorFacts {
  /** Every `name` in the chain, outermost first. */
  names: string[];
  /** The outermost text (scrubbed later by the classifier). */
  message: string;
  /** Node or SDK error code (ECONNRESET, REQUEST_SEND_ERROR), when one is in the chain. */
  code: string | undefined;
  /** HTTP status from `statusCode` or `status`, first found. */
  status: number | undefined;
  /** The first AADSTS number (digits only). */
  aadsts: string | undefined;
  /** ARM's error code (`error.code` or Microsoft.Web's `Code`). */
  armCode: string | undefined;
  /** ARM's error message, when the SDK left only the raw body. */
  armMessage: string | undefined;
  /** The raw Retry-After header value, when any error in the chain carries one. */
  retryAfter: string | undefined;
}

interface HeadersLike {
  get?: (name: string) => string | undefined;
}

const MAX_DEPTH = 6;

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** The first AADSTS number in a text (MSAL folds the Entra body into its messages). Pure. */
export function aadstsCode(value: string): string | undefined {
  return /AADSTS(\d{5,8})/.exec(value)?.[1];
}

/** `{error: {code, message}}`, `{Code, Message}` or `{error: {Code, Message}}` from a raw ARM body. Pure. */
export function armErrorOf(body: unknown): { code: string | undefined; message: string | undefined } {
  let parsed: unknown = body;
  if (typeof body === "string") {
    try {
      parsed = JSON.parse(body);
    } catch {
      return { code: undefined, message: undefined };
    }
  }
  const top = record(parsed);
  const inner = record(top?.error) ?? top;
  return { code: text(inner?.code) ?? text(inner?.Code), message: text(inner?.message) ?? text(inner?.Message) };
}

/** Collects the facts from `err` and its causes (bounded depth). Pure. */
export function azureErrorFacts(err: unknown): AzureErrorFacts {
  const facts: AzureErrorFacts = { names: [], message: "", code: undefined, status: undefined, aadsts: undefined, armCode: undefined, armMessage: undefined, retryAfter: undefined };
  let current: unknown = err;
  for (let depth = 0; depth < MAX_DEPTH && current !== undefined && current !== null; depth++) {
    const e = record(current);
    if (e === undefined) {
      if (depth === 0 && (typeof current === "string" || typeof current === "number")) facts.message = String(current);
      break;
    }
    const name = text(e.name);
    if (name !== undefined) facts.names.push(name);
    const message = text(e.message) ?? "";
    if (depth === 0) facts.message = message;
    if (facts.status === undefined && typeof e.statusCode === "number") facts.status = e.statusCode;
    if (facts.status === undefined && typeof e.status === "number") facts.status = e.status;
    if (facts.code === undefined && typeof e.code === "string" && !/^\d+$/.test(e.code)) facts.code = e.code;
    facts.aadsts ??= typeof e.errorNo === "number" || (typeof e.errorNo === "string" && /^\d+$/.test(e.errorNo)) ? String(e.errorNo) : undefined;
    facts.aadsts ??= typeof e.errorCode === "string" && /^\d{5,8}$/.test(e.errorCode.split(" ")[0] ?? "") ? e.errorCode.split(" ")[0] : undefined;
    facts.aadsts ??= aadstsCode(message);
    facts.retryAfter ??= text(e.retryAfter);
    const response = record(e.response);
    if (response !== undefined) {
      facts.retryAfter ??= (response.headers as HeadersLike | undefined)?.get?.("retry-after");
      if (facts.armCode === undefined) {
        const arm = armErrorOf(response.bodyAsText);
        facts.armCode = arm.code;
        facts.armMessage = arm.message;
      }
    }
    current = e.cause;
  }
  return facts;
}
