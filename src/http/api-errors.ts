// The API's error answers: one JSON shape for every refusal, and the translation of express's own errors into it, so no stack trace, internal detail or secret ever reaches a caller.
import type { ErrorRequestHandler, RequestHandler, Response } from "express";

export type ApiErrorCode =
  | "InvalidRequest"
  | "Unauthenticated"
  | "Forbidden"
  | "NotFound"
  | "MethodNotAllowed"
  | "PayloadTooLarge"
  | "UnsupportedMediaType"
  | "RateLimited"
  | "ReverifyQueueFull"
  | "Unavailable"
  | "Internal";

const STATUS: Record<ApiErrorCode, number> = {
  InvalidRequest: 400,
  Unauthenticated: 401,
  Forbidden: 403,
  NotFound: 404,
  MethodNotAllowed: 405,
  PayloadTooLarge: 413,
  UnsupportedMediaType: 415,
  RateLimited: 429,
  ReverifyQueueFull: 429,
  Unavailable: 503,
  Internal: 500,
};

/** A refusal the caller may read in full: the message names what to fix (a field, a permission), never a secret. */
export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly options: { field?: string; headers?: Record<string, string> } = {},
  ) {
    super(message);
  }

  get status(): number {
    return STATUS[this.code];
  }
}

export const invalid = (field: string, problem: string): ApiError => new ApiError("InvalidRequest", `${field}: ${problem}`, { field });

/** Writes `err` as `{"error": {code, message, field?}}` with its status and headers. */
export function sendApiError(res: Response, err: ApiError): void {
  for (const [name, value] of Object.entries(err.options.headers ?? {})) res.setHeader(name, value);
  res.status(err.status).json({ error: { code: err.code, message: err.message, ...(err.options.field !== undefined ? { field: err.options.field } : {}) } });
}

/** Answers a known path asked with a method it does not serve. */
export function methodNotAllowed(allowed: readonly string[]): RequestHandler {
  const allow = allowed.includes("GET") ? [...allowed, "HEAD"] : [...allowed];
  return (req, res) => sendApiError(res, new ApiError("MethodNotAllowed", `${req.method} is not allowed here; use ${allow.join(" or ")}`, { headers: { Allow: allow.join(", ") } }));
}

/** The last route: every path nobody serves. The path is not echoed (it may carry anything). */
export const notFound: RequestHandler = (_req, res) => sendApiError(res, new ApiError("NotFound", "no such route; the API is described at /v1/openapi.json"));

/** body-parser's error types (it marks each error with `type` and `status`). */
function bodyParserType(err: unknown): string | undefined {
  const type = (err as { type?: unknown } | null)?.type;
  return typeof type === "string" ? type : undefined;
}

/**
 * The final error handler: an ApiError as itself; body-parser's refusals as 400, 413 or 415; an
 * aborted request as nothing; anything else as a bare 500 (logged by `onUnexpected`, never sent).
 */
export function errorHandler(onUnexpected: (err: unknown) => void): ErrorRequestHandler {
  return (err: unknown, _req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    if (err instanceof ApiError) {
      sendApiError(res, err);
      return;
    }
    switch (bodyParserType(err) ?? "") {
      case "entity.too.large":
        sendApiError(res, new ApiError("PayloadTooLarge", "the request body is larger than the broker accepts (http.bodyLimitBytes)"));
        return;
      case "entity.parse.failed":
        sendApiError(res, invalid("body", "is not valid JSON"));
        return;
      case "charset.unsupported":
      case "encoding.unsupported":
        sendApiError(res, new ApiError("UnsupportedMediaType", "the body must be JSON in UTF-8, without content encoding"));
        return;
      case "request.aborted":
      case "request.size.invalid":
        sendApiError(res, invalid("body", "ended before its declared length"));
        return;
      default:
        onUnexpected(err);
        sendApiError(res, new ApiError("Internal", "the broker could not answer this request; it has been logged"));
    }
  };
}
