// Every Entra and ARM request of the provider over one keep-alive Agent: without it each SDK client
// (two per principal, made again every CLIENT_REUSE_MS) opened its own pool and parsed the CA bundle
// for each new connection.
import type { Agent as HttpsAgent } from "node:https";
import type { ClientSecretCredentialOptions } from "@azure/identity";

type PipelinePolicy = NonNullable<ClientSecretCredentialOptions["additionalPolicies"]>[number];

/**
 * A per-call policy that sends https requests through `agent` (the pipeline's documented
 * `request.agent`, which its Node HTTP client prefers over building one from `tlsOptions`). A
 * request that already names an agent keeps it.
 */
export function sharedAgentPolicy(agent: HttpsAgent): PipelinePolicy {
  return {
    position: "perCall",
    policy: {
      name: "credbrokerSharedAgent",
      sendRequest: (request, next) => {
        if (request.agent === undefined && request.url.startsWith("https:")) request.agent = agent;
        return next(request);
      },
    },
  };
}
