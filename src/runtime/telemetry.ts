// Narrow metric shapes the inner layers record into, so secrets/ and cloud/ need not import prom-client.

export type Labels = Record<string, string>;

export interface CounterLike {
  inc(labels: Labels, value?: number): void;
}

export interface GaugeLike {
  set(labels: Labels, value: number): void;
}

export interface HistogramLike {
  observe(labels: Labels, value: number): void;
}

/** What secret sources record. */
export interface SecretsTelemetry {
  /** Vault calls: `{operation: login|renew|read|revoke|lookup, result: ok|denied|not_found|unavailable|error}`. */
  vaultOperations: CounterLike;
  /** Seconds left on the Vault token: `{auth: <method>}`. */
  vaultTokenTtlSeconds: GaugeLike;
  /** Parsed-secret cache lookups: `{source, result: hit|miss}`. */
  secretCache: CounterLike;
  /** Streaks of failed Vault logins (one per streak, however many attempts): `{auth: <method>}`. */
  vaultLoginFailureStreaks: CounterLike;
  /** Streaks of 401/403 refusals of the broker's own identity (one per streak): `{dependency: kubernetes|vault}`. */
  notAuthorizedStreaks: CounterLike;
}

/** What cloud providers and the shared verification layer record. */
export interface CloudTelemetry {
  /** `{provider, operation, result}` where result is ok or a reason. */
  providerCalls: CounterLike;
  /** `{provider, operation}`, seconds. */
  providerCallSeconds: HistogramLike;
  /** Verification/discovery cache: `{kind: verify|discover, result: hit|miss|joined}`. */
  cloudCache: CounterLike;
  /** The provider's clock minus ours, as last measured from its answers, in seconds: `{provider}`. */
  clockOffsetSeconds: GaugeLike;
}

const noopCounter: CounterLike = { inc: () => undefined };
const noopGauge: GaugeLike = { set: () => undefined };
const noopHistogram: HistogramLike = { observe: () => undefined };

/** Telemetry that records nothing, for one-shot commands and tests that do not read metrics. */
export function silentSecretsTelemetry(): SecretsTelemetry {
  return { vaultOperations: noopCounter, vaultTokenTtlSeconds: noopGauge, secretCache: noopCounter, vaultLoginFailureStreaks: noopCounter, notAuthorizedStreaks: noopCounter };
}

export function silentCloudTelemetry(): CloudTelemetry {
  return { providerCalls: noopCounter, providerCallSeconds: noopHistogram, cloudCache: noopCounter, clockOffsetSeconds: noopGauge };
}
