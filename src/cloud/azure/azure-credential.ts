// Builds the @azure/identity credential for a service principal: client secret, certificate (PEM) or workload identity.
import { ClientCertificateCredential, ClientSecretCredential, WorkloadIdentityCredential } from "@azure/identity";
import type { ClientSecretCredentialOptions, TokenCredential } from "@azure/identity";
import type { AzureServicePrincipal } from "../../model/credentials.js";
import { ValidationError } from "../../model/errors.js";

export interface AzureIdentitySettings {
  /** https authority host (public, China, US Gov, or an emulator). */
  authorityHost: string;
  disableInstanceDiscovery: boolean;
  /** Federated token file for WorkloadIdentityCredential, used when the principal has neither secret nor certificate. */
  workloadIdentityTokenFile?: string;
  /** Pipeline policies for the identity client (the Entra response probe, the shared Agent with the trusted CAs). */
  additionalPolicies?: ClientSecretCredentialOptions["additionalPolicies"];
  /** Replaces the HTTP client (tests answer with Entra's documented responses this way). */
  httpClient?: ClientSecretCredentialOptions["httpClient"];
}

/**
 * A credential for `principal`. Pure apart from object construction (no token is fetched).
 * Throws ValidationError(InvalidSetting) for an authority that is not https, and
 * ValidationError(SecretMalformed) when the principal has no usable credential.
 */
export function createAzureCredential(principal: AzureServicePrincipal, settings: AzureIdentitySettings): TokenCredential {
  if (!settings.authorityHost.startsWith("https://")) {
    throw new ValidationError("InvalidSetting", "azure.authorityHost", "must be an https:// URL");
  }
  const options = {
    authorityHost: settings.authorityHost,
    disableInstanceDiscovery: settings.disableInstanceDiscovery,
    // One attempt: retries belong to the work queue, and a wrong secret must not be tried thrice.
    retryOptions: { maxRetries: 0 },
    ...(settings.additionalPolicies === undefined ? {} : { additionalPolicies: settings.additionalPolicies }),
    ...(settings.httpClient === undefined ? {} : { httpClient: settings.httpClient }),
  };
  if (principal.clientSecret !== undefined) return new ClientSecretCredential(principal.tenantId, principal.clientId, principal.clientSecret, options);
  if (principal.clientCertificate !== undefined) {
    return new ClientCertificateCredential(principal.tenantId, principal.clientId, { certificate: principal.clientCertificate }, options);
  }
  if (settings.workloadIdentityTokenFile !== undefined) {
    return new WorkloadIdentityCredential({ ...options, tenantId: principal.tenantId, clientId: principal.clientId, tokenFilePath: settings.workloadIdentityTokenFile });
  }
  throw new ValidationError("SecretMalformed", "azure_client_secret", "the service principal has neither a client secret nor a certificate");
}
