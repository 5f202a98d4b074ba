// Maps whatever node-vault or the network threw into the secret-source errors, without copying bodies, tokens or messages.
import { BrokerNotAuthorizedError, CredbrokerError, DependencyCallError, SecretNotFoundError, SecretSourceUnavailableError } from "../../model/errors.js";

/**
 * The broker could not log in to Vault (any status, 403 included: Vault's Kubernetes auth answers
 * every failed TokenReview with 403 "permission denied", also when the Kubernetes API errs or is
 * unreachable). It says nothing about an upstream's secret, so it is transient: the last verdict
 * stands. The cause is the classified login error.
 */
export class VaultLoginError extends CredbrokerError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super("VaultLoginFailed", message, { ...options, retryable: true });
  }
}

/** The same failure with more said about it (the outage's start, the cached copy left unused); same class and reason. */
export function withContext(err: CredbrokerError, context: string): CredbrokerError {
  const message = `${err.message}; ${context}`;
  if (err instanceof VaultLoginError) return new VaultLoginError(message, { cause: err });
  if (err instanceof SecretSourceUnavailableError) return new SecretSourceUnavailableError(message, { cause: err });
  return err;
}

/** The Vault operations counted in telemetry (`credbroker_vault_operations_total{operation}`). */
export type VaultOperation = "login" | "renew" | "read" | "revoke" | "lookup";

/** Telemetry result label of a failed or successful call. */
export type VaultResult = "ok" | "denied" | "not_found" | "unavailable" | "error";

// The library (axios) error holds the request headers, among them X-Vault-Token, and Vault's
// response body: only a DependencyCallError with the status or network code is kept as `cause`.

function statusOf(err: unknown): number | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const response = (err as { response?: unknown }).response;
  if (typeof response !== "object" || response === null) return undefined;
  const r = response as { statusCode?: unknown; status?: unknown };
  if (typeof r.statusCode === "number") return r.statusCode;
  return typeof r.status === "number" ? r.status : undefined;
}

function codeOf(err: unknown): string | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string" && /^[A-Z0-9_]+$/.test(code)) return code;
  // Undici and some axios paths keep the system error one level down.
  const cause = (err as { cause?: unknown }).cause;
  return cause === err ? undefined : codeOf(cause);
}

/** What the operator should fix when Vault refuses the broker's token for `operation` on `subject`. */
function refusalHint(operation: VaultOperation, subject: string): string {
  if (operation === "read") return `the broker's Vault token may not read ${subject}: grant "read" on this path in the broker's Vault policy (policies/credbroker.hcl), or check that the token is still valid`;
  return `Vault does not accept the broker's token for ${subject} (revoked, expired, or without Vault's "default" policy)`;
}

/** The settings that decide what a request looks like, named when Vault rejects one as malformed. */
/**
 * Whether a 404 body is Vault saying "nothing stored here": KV answers an absent secret with
 * `{"errors":[]}` and a deleted version with its envelope. A 404 with errors ("no handler for route …": no mount there) or a body that is
 * not Vault's JSON (a proxy's page) says the broker asked the wrong place. Only the shape is read;
 * the body is never kept or rendered.
 */
function isAbsentSecret(err: unknown): boolean {
  const response = (err as { response?: { body?: unknown } } | null)?.response;
  let body = response?.body;
  if (typeof body === "string") {
    try {
      body = JSON.parse(body) as unknown;
    } catch {
      return false;
    }
  }
  if (typeof body !== "object" || body === null) return false;
  // KV v2 answers a deleted or destroyed version with its envelope (`data.metadata` says which).
  if (typeof (body as { data?: unknown }).data === "object") return true;
  const errors = (body as { errors?: unknown }).errors;
  return Array.isArray(errors) && errors.length === 0;
}

function requestSettings(operation: VaultOperation): string {
  return operation === "read" ? "vault.address, vault.namespace, vault.kvMount, vault.kvVersion, vault.rootKey and vault.pathTemplate" : "vault.address and vault.namespace";
}

/**
 * Classifies a failed Vault call. Pure. `subject` names what was asked for (a path or the auth
 * mount, never a value). Only KV's own 404 (`{"errors":[]}`) is about the secret (SecretNotFoundError,
 * a verdict; Vault's deleted and destroyed versions are found in the payload); a 404 from no mount
 * or not Vault at all is BrokerMisconfigured. 401/403 refuse the broker's own token
 * (its policy, its validity) → BrokerNotAuthorizedError, transient, naming the policy to fix. 429,
 * 412, 5xx (503 sealed included), timeouts, refused or reset connections → SecretSourceUnavailableError.
 * Another 4xx (400, 405, 409, 422...) means the broker asked wrongly (its path settings, a proxy) →
 * InternalError, transient, naming the status and the settings. On the login path every refusal
 * (any 4xx but 429/412) is VaultLoginError: the broker cannot log in, never a verdict either.
 */
export function classifyVaultError(err: unknown, operation: VaultOperation, subject: string): CredbrokerError {
  if (err instanceof CredbrokerError) return err;
  const status = statusOf(err);
  const code = status === undefined ? codeOf(err) : undefined;
  const cause = new DependencyCallError("Vault", status, code);
  const what = `Vault ${operation} ${subject}`;
  if (status !== undefined) {
    if (status === 429) return new SecretSourceUnavailableError(`${what}: rate limited by Vault`, { cause });
    if (status === 503) return new SecretSourceUnavailableError(`${what}: Vault is sealed or in standby`, { cause });
    if (status >= 500 || status === 412) return new SecretSourceUnavailableError(`${what}: Vault answered HTTP ${status}`, { cause });
    if (operation === "login") return new VaultLoginError(`${what}: ${status === 401 || status === 403 ? "permission denied" : `Vault refused the login (HTTP ${status})`}`, { cause });
    if (status === 403 || status === 401) return new BrokerNotAuthorizedError(`${what}: permission denied (HTTP ${status}): ${refusalHint(operation, subject)}`, { cause });
    if (status === 404 && (operation !== "read" || isAbsentSecret(err))) return new SecretNotFoundError(`${what}: not found`, { cause });
    if (status === 404) return new CredbrokerError("BrokerMisconfigured", `${what}: Vault has no such route (HTTP 404 without a KV answer: no mount there, or not Vault); not a verdict on the secret: check ${requestSettings(operation)}`, { cause, retryable: true });
    return new CredbrokerError("InternalError", `${what}: Vault rejected the broker's request (HTTP ${status}); not a verdict on the secret: check ${requestSettings(operation)}`, { cause, retryable: true });
  }
  if (code !== undefined) {
    if (code === "ECONNABORTED" || code === "ETIMEDOUT" || code.includes("TIMEOUT")) return new SecretSourceUnavailableError(`${what}: timed out`, { cause });
    if (code.startsWith("ERR_TLS") || code.includes("CERT") || code.includes("SELF_SIGNED")) return new SecretSourceUnavailableError(`${what}: TLS handshake failed (${code})`, { cause });
    return new SecretSourceUnavailableError(`${what}: Vault unreachable (${code})`, { cause });
  }
  return new SecretSourceUnavailableError(`${what}: unexpected failure`, { cause: new DependencyCallError("Vault", undefined, undefined) });
}

/** The telemetry result label for an error from classifyVaultError. */
export function resultOf(err: CredbrokerError): VaultResult {
  if (err.reason === "BrokerNotAuthorized" || err.reason === "VaultLoginFailed") return "denied";
  if (err.reason === "SecretNotFound") return "not_found";
  if (err.reason === "SecretSourceUnavailable") return "unavailable";
  return "error";
}
