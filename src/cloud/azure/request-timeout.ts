// A deadline for every Azure request: the SDKs set none, so an Entra or ARM endpoint that accepts a
// connection and never answers would hold a reconcile (and its worker) for good.
import type { ClientSecretCredentialOptions } from "@azure/identity";

type PipelinePolicy = NonNullable<ClientSecretCredentialOptions["additionalPolicies"]>[number];

/** Deadline of one Entra or ARM request, as the AWS clients' request timeout. */
export const AZURE_REQUEST_TIMEOUT_MS = 10_000;

/**
 * A per-retry policy that gives each request `timeoutMs` unless it already has a deadline; the
 * Node HTTP client aborts it then, and the classifier reads the AbortError as a Timeout.
 */
export function requestTimeoutPolicy(timeoutMs: number): PipelinePolicy {
  return {
    position: "perRetry",
    policy: {
      name: "credbrokerRequestTimeout",
      sendRequest: (request, next) => {
        if (request.timeout === 0) request.timeout = timeoutMs;
        return next(request);
      },
    },
  };
}
