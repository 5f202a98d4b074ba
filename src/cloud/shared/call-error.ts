// The error every cloud call turns into: a reason, the provider's own error code, and never a secret or request id.
import { CredbrokerError } from "../../model/errors.js";
import type { Reason } from "../../model/reasons.js";
import type { CloudName } from "../provider.js";

export interface CloudCallErrorOptions {
  /** The provider's error code (`InvalidClientTokenId`, `AADSTS7000215`, `AuthorizationFailed`); codes are not secret. */
  code?: string;
  httpStatus?: number;
  /** How long the provider asked us to wait (Retry-After), when it said. */
  retryAfterMs?: number;
  /** A sanitised stand-in for the SDK error: its code and scrubbed message, no request, no headers. */
  cause?: Error;
}

/** A classified failure of one provider call. Message: provider, operation, code, scrubbed provider text. */
export class CloudCallError extends CredbrokerError {
  readonly provider: CloudName;
  readonly operation: string;
  readonly code: string | undefined;
  readonly httpStatus: number | undefined;

  constructor(reason: Reason, provider: CloudName, operation: string, message: string, options: CloudCallErrorOptions = {}) {
    super(reason, message, { ...(options.cause === undefined ? {} : { cause: options.cause }), retryAfterMs: options.retryAfterMs });
    this.provider = provider;
    this.operation = operation;
    this.code = options.code;
    this.httpStatus = options.httpStatus;
  }
}
