// The stable CamelCase reasons: one list shared by conditions, Events, metric labels and HTTP error codes.

export const REASONS = [
  // success reasons
  "Resolved",
  "Verified",
  "Listed",
  "Published",
  "Skipped",
  // secret resolution
  "SecretNotFound",
  "SecretMalformed",
  "SecretRefNotAllowed",
  "SecretSourceUnavailable",
  // the broker could not log in to Vault: about the broker, never a verdict on an upstream
  "VaultLoginFailed",
  // the broker's own identity may not read or write what it must (its RBAC, its Vault policy, its
  // projected token): about the broker, never a verdict on an upstream
  "BrokerNotAuthorized",
  // spec, and settings (a bad configuration value such as a forbidden status key)
  "InvalidSpec",
  "InvalidSetting",
  // AWS
  "InvalidAccessKey",
  "InvalidSecretKey",
  "InvalidSessionToken",
  "ExpiredSessionToken",
  "AssumeRoleDenied",
  "AccountMismatch",
  "DiscoveryDenied",
  // Azure
  "AzureAuthFailed",
  "FunctionAppNotFound",
  "NotAFunctionApp",
  "FunctionAppStopped",
  "FunctionKeyMissing",
  "FunctionKeyStale",
  // publishing
  "FunctionListTruncated",
  // transient
  "ProviderUnavailable",
  "Throttled",
  "Timeout",
  // the broker's clock is too far from the provider's for signatures or assertions to be accepted
  "ClockSkew",
  // the broker's own configuration does not fit the provider (an endpoint or cloud the tenant does not know)
  "BrokerMisconfigured",
  // this replica lost its lease mid-reconcile: the new leader carries on (never a condition)
  "NotLeader",
  // catch-all for faults in credbroker itself
  "InternalError",
] as const;

export type Reason = (typeof REASONS)[number];

/** Reasons that describe a passing fault: they never turn an Accepted upstream Rejected. */
export const TRANSIENT_REASONS: ReadonlySet<Reason> = new Set<Reason>([
  "SecretSourceUnavailable",
  "VaultLoginFailed",
  "BrokerNotAuthorized",
  "ClockSkew",
  "BrokerMisconfigured",
  "ProviderUnavailable",
  "Throttled",
  "Timeout",
  "NotLeader",
  "InternalError",
]);

export function isReason(value: unknown): value is Reason {
  return typeof value === "string" && (REASONS as readonly string[]).includes(value);
}

export function isTransientReason(reason: Reason): boolean {
  return TRANSIENT_REASONS.has(reason);
}
