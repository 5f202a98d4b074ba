// One vocabulary for what a cloud answers: a verdict on credentials, the functions it lists, who the credentials are.
import type { CredbrokerError } from "./errors.js";
import type { VerifiedIdentity } from "./status-types.js";
import { assertNever } from "./upstream.js";

export type { VerifiedIdentity };

/**
 * The outcome of a verification. `rejected` is a verdict about the credentials (permanent until
 * someone changes them); `unknown` is a passing fault (throttling, 5xx, timeout, outage) and must
 * never change an earlier verdict.
 */
export type VerifyResult =
  | {
      status: "valid";
      identity: VerifiedIdentity;
      /** When the cloud gave this answer (epoch ms); set by the shared layer, so a cached answer keeps its age. */
      verifiedAtMs?: number;
    }
  | { status: "rejected"; error: CredbrokerError }
  | { status: "unknown"; error: CredbrokerError };

/** A function as a cloud reports it, before its provider maps it to the upstream's spec entries. */
export type DiscoveredFunction =
  // The literals document the common qualifiers; aliases are arbitrary names, hence `string`.
  // eslint-disable-next-line @typescript-eslint/no-redundant-type-constituents
  | { provider: "aws"; functionName: string; qualifier: "$LATEST" | `${number}` | string; qualifierKind: "latest" | "version" | "alias" }
  | { provider: "azure"; functionName: string; authLevel: "Anonymous" | "Function" | "Admin" };

export type DiscoverResult =
  | { status: "listed"; functions: DiscoveredFunction[]; warnings: CredbrokerError[] }
  | { status: "rejected"; error: CredbrokerError }
  | { status: "unknown"; error: CredbrokerError };

/** `rejected` for a permanent reason, `unknown` for a transient one. Pure. */
export function verdictOf(error: CredbrokerError): { status: "rejected" | "unknown"; error: CredbrokerError } {
  return { status: error.retryable ? "unknown" : "rejected", error };
}

/** A failed verification as the discovery it guarded: the same verdict (nothing is listed without authentication). Pure. */
export function discoverFailure(result: Exclude<VerifyResult, { status: "valid" }>): DiscoverResult {
  return { status: result.status, error: result.error };
}

/** An identity in a few characters, for a terminal table column: the ARN without its prefix, or a client id's start. Pure. */
export function shortIdentity(identity: VerifiedIdentity): string {
  switch (identity.provider) {
    case "aws":
      return identity.arn.replace(/^arn:aws[a-z-]*:(iam|sts)::/, "");
    case "azure":
      return `azure ${identity.clientId.slice(0, 8)}…`;
    default:
      return assertNever(identity, "identity provider");
  }
}

/** How an identity reads in a condition message and the `check` table: ARNs and ids only. Pure. */
export function describeIdentity(identity: VerifiedIdentity): string {
  switch (identity.provider) {
    case "aws":
      return identity.arn;
    case "azure":
      return `client ${identity.clientId} in tenant ${identity.tenantId}`;
    default:
      return assertNever(identity, "identity provider");
  }
}
