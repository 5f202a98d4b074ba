// The error hierarchy: one base class carrying a stable reason and whether a retry may help.
import { isTransientReason, type Reason } from "./reasons.js";
import { truncateUtf8 } from "./text.js";

/** No error message grows past this, whatever it echoes (a name, a field path, a provider's text). */
export const MAX_ERROR_MESSAGE_BYTES = 1024;

export interface CredbrokerErrorOptions {
  /** The underlying error; kept for debugging, never rendered into status or HTTP bodies. */
  cause?: unknown;
  /** Field path of untrusted input the error is about, e.g. `spec.aws.region`. */
  field?: string;
  /** Overrides the default retryability derived from the reason. */
  retryable?: boolean;
  /** How long the dependency asked us to wait before trying again (Retry-After), when it said. */
  retryAfterMs?: number | undefined;
}

/**
 * Base of every error credbroker throws on purpose. `message` names the reference, provider or
 * call — never a secret value. `reason` is one of REASONS; `retryable` says whether the same
 * call may succeed later without anyone changing anything.
 */
export class CredbrokerError extends Error {
  readonly reason: Reason;
  readonly retryable: boolean;
  readonly field: string | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(reason: Reason, message: string, options: CredbrokerErrorOptions = {}) {
    super(truncateUtf8(message, MAX_ERROR_MESSAGE_BYTES), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.reason = reason;
    this.retryable = options.retryable ?? isTransientReason(reason);
    this.field = options.field;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** Untrusted input (a spec, a secret payload, a setting) does not have the expected shape. */
export class ValidationError extends CredbrokerError {
  constructor(reason: Reason, field: string, problem: string, options: Omit<CredbrokerErrorOptions, "field"> = {}) {
    super(reason, `${field}: ${problem}`, { ...options, field });
  }
}

/** The referenced secret does not exist (or is deleted/destroyed in Vault). */
export class SecretNotFoundError extends CredbrokerError {
  constructor(message: string, options: CredbrokerErrorOptions = {}) {
    super("SecretNotFound", message, options);
  }
}

/**
 * The broker's own identity was refused (401 or 403 from Kubernetes or Vault: its RBAC, its Vault
 * policy, its projected or Vault token). It says nothing about an upstream's secret, so it is
 * never a verdict: retryable, the last verdict stands, and the operator is told to fix the grant.
 */
export class BrokerNotAuthorizedError extends CredbrokerError {
  constructor(message: string, options: CredbrokerErrorOptions = {}) {
    super("BrokerNotAuthorized", message, { ...options, retryable: true });
  }
}

/** The secret source cannot answer now (down, sealed, timeout); retryable. */
export class SecretSourceUnavailableError extends CredbrokerError {
  constructor(message: string, options: CredbrokerErrorOptions = {}) {
    super("SecretSourceUnavailable", message, { ...options, retryable: true });
  }
}

/**
 * A sanitised stand-in for a client library's error, kept as `cause`: only the HTTP status or the
 * network error code survive. Library errors carry request headers (bearer and Vault tokens) and
 * response bodies, so they are never kept. `name` is `<dependency>CallError`.
 */
export class DependencyCallError extends Error {
  constructor(
    readonly dependency: string,
    readonly status: number | undefined,
    readonly code: string | undefined,
  ) {
    super(status !== undefined ? `HTTP ${status}` : `network error ${code ?? "unknown"}`);
    this.name = `${dependency}CallError`;
  }
}

/** Normalises anything thrown into a CredbrokerError without copying its message (which may hold secrets). */
export function toCredbrokerError(err: unknown, context: string): CredbrokerError {
  if (err instanceof CredbrokerError) return err;
  return new CredbrokerError("InternalError", `${context}: unexpected failure`, { cause: err, retryable: true });
}
