// Entra ID error bodies in the real shape: OAuth `error`, an AADSTS-prefixed description with trace ids, and `error_codes`.
import { randomUUID } from "node:crypto";

export interface EntraError {
  status: number;
  body: {
    error: string;
    error_description: string;
    error_codes: number[];
    timestamp: string;
    trace_id: string;
    correlation_id: string;
    error_uri: string;
  };
}

/** Entra's timestamp format in bodies and descriptions: `2024-05-01 12:34:56Z`. */
function entraTimestamp(nowMs: number): string {
  return `${new Date(nowMs).toISOString().slice(0, 19).replace("T", " ")}Z`;
}

/** Builds one error; `correlationId` echoes the client's `client-request-id` as Entra does. */
export function entraError(
  status: number,
  error: string,
  code: number,
  message: string,
  origin: string,
  nowMs: number,
  correlationId: string = randomUUID(),
): EntraError {
  const traceId = randomUUID();
  const timestamp = entraTimestamp(nowMs);
  return {
    status,
    body: {
      error,
      error_description: `AADSTS${code}: ${message} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
      error_codes: [code],
      timestamp,
      trace_id: traceId,
      correlation_id: correlationId,
      error_uri: `${origin}/error?code=${code}`,
    },
  };
}

/** The AADSTS messages the emulator can answer with, worded as Entra ID words them. */
export const AADSTS = {
  tenantNotFound: (tenantId: string): [number, string] => [
    90002,
    `Tenant '${tenantId}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
  ],
  appNotFound: (clientId: string, tenantId: string): [number, string] => [
    700016,
    `Application with identifier '${clientId}' was not found in the directory '${tenantId}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
  ],
  invalidSecret: (clientId: string): [number, string] => [
    7000215,
    `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`,
  ],
  credentialMissing: (): [number, string] => [7000216, "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type."],
  assertionInvalid: (reason: string): [number, string] => [700027, `Client assertion failed signature validation. [Reason - ${reason}]`],
  assertionExpired: (): [number, string] => [700024, "Client assertion is not within its valid time range."],
  assertionClientMismatch: (): [number, string] => [700021, "Client assertion application identifier doesn't match 'client_id' parameter."],
  unsupportedGrant: (grant: string): [number, string] => [70003, `The app requested an unsupported grant type '${grant}'.`],
  missingParameter: (name: string): [number, string] => [900144, `The request body must contain the following parameter: '${name}'.`],
  invalidScope: (scope: string): [number, string] => [
    1002012,
    `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
  ],
  resourceNotFound: (resource: string, tenantId: string): [number, string] => [
    500011,
    `The resource principal named ${resource} was not found in the tenant named ${tenantId}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`,
  ],
  transient: (): [number, string] => [90033, "A transient error has occurred. Please try again."],
  tenantThrottled: (): [number, string] => [90055, "TenantThrottlingError - There are too many incoming requests. This exception is thrown for blocked tenants."],
  tokenIssuance: (): [number, string] => [50000, "TokenIssuanceError - There's an issue with the sign-in service."],
  appDisabled: (clientId: string): [number, string] => [7000112, `Application '${clientId}' is disabled.`],
} as const;
