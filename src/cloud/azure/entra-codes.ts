// What an AADSTS code says about a failed token request: a passing fault, the broker's own setup, or a verdict on the principal.
import type { Reason } from "../../model/reasons.js";

/**
 * Codes from Microsoft's "Microsoft Entra authentication and authorization error codes"
 * (learn.microsoft.com/entra/identity-platform/reference-error-codes), grouped by who can fix
 * them. Every code not listed is a verdict on the principal (AzureAuthFailed), e.g. 7000215
 * InvalidClientSecret, 7000222 InvalidClientSecretExpiredKeysProvided, 700016 the application
 * was not found in the tenant, 90002 InvalidTenantName, 7000112 the application is disabled,
 * 700027 the assertion's signature does not verify with any certificate of the app.
 */
const CODE_REASONS: ReadonlyMap<string, Reason> = new Map<string, Reason>([
  // TenantThrottlingError: too many requests for the tenant.
  ["90055", "Throttled"],
  // LoopDetected: the client asked too often; Entra asks it to back off.
  ["50196", "Throttled"],
  // TokenIssuanceError: an issue with the sign-in service itself.
  ["50000", "ProviderUnavailable"],
  // MsodsServiceUnavailable: the directory service is unavailable.
  ["90033", "ProviderUnavailable"],
  // ExternalServerRetryableError: the service is temporarily unavailable.
  ["90006", "ProviderUnavailable"],
  // InvalidResourceServicePrincipalNotFound: the ARM resource the broker asks a token for is not in
  // the tenant — the armEndpoint setting names another cloud, not a fault of the principal.
  ["500011", "BrokerMisconfigured"],
  // InvalidResource: the resource (our ARM scope) is disabled or does not exist.
  ["50001", "BrokerMisconfigured"],
  // InvalidScope: the scope the broker builds from armEndpoint is not valid.
  ["70011", "BrokerMisconfigured"],
  ["1002012", "BrokerMisconfigured"],
  // UnknownOrInvalidInstance: the authorityHost setting is not an Entra instance.
  ["50049", "BrokerMisconfigured"],
  // The client assertion is not within its valid time range: the broker's clock (it signs the assertion).
  ["700024", "ClockSkew"],
]);

/** The reason for an AADSTS code (digits only): a listed one's, else AzureAuthFailed. Pure. */
export function reasonOfAadsts(code: string): Reason {
  return CODE_REASONS.get(code) ?? "AzureAuthFailed";
}
