// Shapes shared by the route tables: the parsed request, a route's contract, replies and Vault's JSON envelope.
import { randomUUID } from "node:crypto";
import type { Capability } from "./hcl.js";
import type { VaultOperationName } from "./operations.js";
import type { TokenEntry } from "./tokens.js";
import type { VaultState } from "./vault-state.js";

/** Vault's logical operation, derived from the HTTP method (`?list=true` and LIST both mean list). */
export type Operation = "read" | "list" | "write" | "delete" | "patch";

export interface RequestContext {
  op: Operation;
  httpMethod: string;
  /** Path after `/v1/`, without a leading slash; list requests end with "/" as in Vault. */
  path: string;
  query: URLSearchParams;
  body: Record<string, unknown>;
  /** The token the client presented (X-Vault-Token, else a Bearer Authorization header), checked or not. */
  clientToken: string | undefined;
  /** Set for routes that need a token, once it has been checked. */
  token: TokenEntry | undefined;
  state: VaultState;
}

export interface Route {
  /** Name used for fault targeting and call counters, e.g. `kv read`; VAULT_OPERATIONS lists them all. */
  operation: VaultOperationName;
  /** "none": unauthenticated (health, login); "token": a live token and the ACL are required. */
  auth: "none" | "token";
  /**
   * One of Vault's own HTTP handlers (sys/health, sys/seal-status, sys/unseal) rather than a
   * logical request: it reads the raw body itself, answers while sealed, takes no token, and is
   * given every method (refusing the wrong ones itself). `handle` is then never called.
   */
  rawHttp?: (ctx: RequestContext, raw: Buffer) => VaultReply;
  /** Needs `sudo` on the path in addition to the operation's capability. */
  sudo?: boolean;
  /** For writes: whether the target exists, which makes the needed capability `update` instead of `create`. Absent: always `update`. */
  exists?: (ctx: RequestContext) => boolean;
  /** Skips the ACL check while still requiring a live token (Vault's own preflight endpoints). */
  skipAcl?: boolean;
  handle(ctx: RequestContext): VaultReply | Promise<VaultReply>;
}

export interface VaultReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /**
   * The backend chose the status itself (sdk logical.RespondWithStatusCode, as KV v2 does for a
   * deleted version): Vault then writes the body with json.Marshal, without the trailing newline
   * of its other answers, and the envelope's `mount_type` is empty.
   */
  withStatusCode?: boolean;
}

/** A refusal answered as `{"errors": [...]}` with its status (404 with `[]` is Vault's "not found"). */
export class VaultError extends Error {
  constructor(
    readonly status: number,
    readonly errors: string[],
  ) {
    super(errors[0] ?? `status ${status}`);
    this.name = "VaultError";
  }
}

/**
 * The text go-multierror's ListFormatFunc gives a list of errors. Vault puts it in the body
 * whenever the error that reaches the client is such a list rather than one error, which is how
 * an ACL denial and a dead token read ("1 error occurred:\n\t* permission denied\n\n"). Pure.
 */
export function goMultiError(messages: readonly string[]): string {
  if (messages.length === 1) return `1 error occurred:\n\t* ${messages[0] ?? ""}\n\n`;
  return `${messages.length} errors occurred:\n\t${messages.map((m) => `* ${m}`).join("\n\t")}\n\n`;
}

export const notFound = (): VaultError => new VaultError(404, []);
/** A request without any token, or a login the auth method refused: Vault's bare logical.ErrPermissionDenied. */
export const permissionDenied = (): VaultError => new VaultError(403, ["permission denied"]);
/** The token is live but its policies do not grant the request (vault/request_handling.go CheckToken appends ErrPermissionDenied to a multierror). */
export const aclDenied = (): VaultError => new VaultError(403, [goMultiError(["permission denied"])]);
/** The token is unknown, expired or revoked (fetchACLTokenEntryAndEntity: multierror.Append(ErrPermissionDenied, ErrInvalidToken)). */
export const invalidToken = (): VaultError => new VaultError(403, [goMultiError(["permission denied", "invalid token"])]);
export const badRequest = (message: string): VaultError => new VaultError(400, [message]);

/** The capability the ACL must grant for this request. */
export function requiredCapability(route: Route, ctx: RequestContext): Capability {
  switch (ctx.op) {
    case "read":
    case "list":
    case "delete":
    case "patch":
      return ctx.op;
    case "write":
      return route.exists && !route.exists(ctx) ? "create" : "update";
    default: {
      const never: never = ctx.op;
      return never;
    }
  }
}

/** Vault's response envelope; callers pass the parts they fill. */
export function envelope(parts: { data?: unknown; auth?: unknown; warnings?: string[]; leaseDurationSeconds?: number; mountType?: string } = {}): Record<string, unknown> {
  return {
    request_id: randomUUID(),
    lease_id: "",
    renewable: false,
    lease_duration: parts.leaseDurationSeconds ?? 0,
    data: parts.data ?? null,
    wrap_info: null,
    warnings: parts.warnings && parts.warnings.length > 0 ? parts.warnings : null,
    auth: parts.auth ?? null,
    ...(parts.mountType === undefined ? {} : { mount_type: parts.mountType }),
  };
}

export const ok = (body: unknown): VaultReply => ({ status: 200, body });
export const noContent = (): VaultReply => ({ status: 204 });

/** Runs a side effect and answers 204, the reply of most Vault writes and deletes. */
export function done(effect: () => unknown): VaultReply {
  effect();
  return noContent();
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** Reads a list of version numbers from a request field (`[1, 2]` or `"1,2"`). */
export function versionList(value: unknown): number[] {
  const raw = Array.isArray(value) ? value : typeof value === "string" ? value.split(",") : [];
  return raw.map((v) => Number(v)).filter((n) => Number.isInteger(n) && n > 0);
}

/** Reads a list of names (`["a","b"]` or `"a,b"`). */
export function stringList(value: unknown): string[] {
  const raw = Array.isArray(value) ? value : typeof value === "string" ? value.split(",") : [];
  return raw.filter((v): v is string => typeof v === "string").map((v) => v.trim()).filter((v) => v !== "");
}
