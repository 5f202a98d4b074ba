// The role every cloud plays: verify credentials (valid / rejected / unknown) and discover functions.
import type { CredbrokerError } from "../model/errors.js";

export type CloudName = "aws" | "azure";

/** Who the credentials turned out to be; published in status, never secret. */
export interface CloudIdentity {
  provider: CloudName;
  /** AWS account id, or Azure subscription id. */
  account: string;
  /** AWS caller ARN (assumed-role ARN when a role was assumed), or the Azure principal's client id. */
  arn: string;
  /** Azure tenant id. */
  tenant?: string;
}

/**
 * The outcome of a verification. `rejected` is a verdict about the credentials (permanent until
 * someone changes them); `unknown` is a passing fault (throttling, 5xx, timeout, outage) and must
 * never change an earlier verdict.
 */
export type VerifyResult =
  | { status: "valid"; identity: CloudIdentity }
  | { status: "rejected"; error: CredbrokerError }
  | { status: "unknown"; error: CredbrokerError };

/** A function as a cloud reports it, before it is mapped to the upstream's spec shape. */
export type DiscoveredFunction =
  | { provider: "aws"; functionName: string; qualifier: "$LATEST" | `${number}` | string; qualifierKind: "latest" | "version" | "alias" }
  | { provider: "azure"; functionName: string; authLevel: "Anonymous" | "Function" | "Admin" };

export type DiscoverResult =
  | { status: "listed"; functions: DiscoveredFunction[]; warnings: CredbrokerError[] }
  | { status: "rejected"; error: CredbrokerError }
  | { status: "unknown"; error: CredbrokerError };
