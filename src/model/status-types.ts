// The shapes of credbroker's status entry under `status.statuses.<key>` of an Upstream.
import type { Condition } from "./conditions.js";

export const STATUS_STATES = ["Pending", "Accepted", "Rejected", "Warning"] as const;
export type StatusState = (typeof STATUS_STATES)[number];

export const DEFAULT_REPORTED_BY = "credbroker";
export const MAX_REASON_BYTES = 1024;

export interface AwsIdentity {
  provider: "aws";
  account: string;
  arn: string;
}

export interface AzureIdentity {
  provider: "azure";
  tenantId: string;
  clientId: string;
  subscriptionId?: string;
}

/** Who the credentials proved to be; ids and ARNs only, never key material. */
export type VerifiedIdentity = AwsIdentity | AzureIdentity;

export interface FunctionCounts {
  discovered: number;
  published: number;
  truncated: boolean;
}

export interface StatusDetails {
  /**
   * `metadata.generation` once this entry is stored. Gloo's Upstream has no status subresource, so
   * the write that stores the entry itself bumps the generation: the publisher writes the
   * generation that write produces, and judges "changed" on `observedSpec`, never on this number.
   */
  observedGeneration: number;
  /** specFingerprint of the spec this verdict is about. */
  observedSpec?: string;
  identity?: VerifiedIdentity;
  functions?: FunctionCounts;
  conditions: Condition[];
  /** RFC 3339 time of the last successful verification; written at most once per heartbeat. */
  lastVerified?: string;
  /**
   * The `credbroker.io/reverify` value (reverifyMark) the pass that wrote this entry read: whoever
   * set the annotation (a person, or a replica handing an HTTP request to the shard's leader) knows
   * from it that their request has been answered, even when the verdict did not change.
   */
  observedReverify?: string;
}

export interface StatusEntry {
  state: StatusState;
  /** A human sentence, at most MAX_REASON_BYTES of UTF-8, never secret material; "" when Accepted. */
  reason: string;
  reportedBy: string;
  details: StatusDetails;
}
