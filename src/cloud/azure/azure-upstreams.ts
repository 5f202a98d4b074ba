// The Azure provider as the controller sees it: `azure` upstreams, their service principal and function keys, Entra/ARM verification, function entries.
import type { UpstreamOptions } from "../../model/annotations.js";
import { verdictOf, type DiscoverResult, type VerifyResult } from "../../model/cloud-results.js";
import type { AzureFunctionKeys } from "../../model/credentials.js";
import { CredbrokerError, toCredbrokerError, ValidationError } from "../../model/errors.js";
import { parseAuthLevel, type CloudUpstream, type FunctionListField, type UpstreamKind } from "../../model/upstream.js";
import type { AzureDiscoverRequest, AzureVerifyRequest } from "../provider.js";
import { materialOf, wrongKind, type CredentialPlan, type ResolvedCredentials, type SecretNeed, type UpstreamProvider } from "../registry.js";
import type { SharedProvider } from "../shared/shared-provider.js";
import { azureEntries } from "./azure-entries.js";
import { parseAzurePrincipal } from "./azure-provider.js";

/** `spec.azure.functions`, named by functionName. */
export const AZURE_FUNCTION_LIST: FunctionListField = {
  type: "azure",
  list: "functions",
  key: "functionName",
  fields: ["functionName", "authLevel"],
  // Gloo accepts the authLevel enum by name or number (0, 1, 2) and a missing one means Anonymous.
  canonical: (entry) => {
    const e = entry as Record<string, unknown>;
    return { ...e, authLevel: canonicalAuthLevel(e.authLevel) };
  },
};

function canonicalAuthLevel(value: unknown): unknown {
  try {
    return parseAuthLevel(value, "authLevel");
  } catch {
    // Unreadable (parseUpstream has already reported it): compared as stored.
    return value;
  }
}

const PRINCIPAL_FIELD = 'metadata.annotations["credbroker.io/azure-credentials"]';

type AzureUpstream = Extract<CloudUpstream, { kind: "azure" }>;

function azureUpstream(upstream: CloudUpstream): AzureUpstream {
  if (upstream.kind === "azure") return upstream;
  throw wrongKind("azure", upstream);
}

function verifyRequest(upstream: AzureUpstream, credentials: ResolvedCredentials): AzureVerifyRequest {
  return { functionAppName: upstream.spec.functionAppName, principal: parseAzurePrincipal(materialOf(credentials, "principal")) };
}

function functionKeys(credentials: ResolvedCredentials): AzureFunctionKeys | undefined {
  const material = credentials.get("functionKeys");
  if (material === undefined) return undefined;
  if (material.kind !== "azureFunctionKeys") throw new ValidationError("SecretMalformed", "spec.azure.secretRef", `holds ${material.kind}, expected Azure function keys`);
  return material;
}

/** Registers Azure for `azure` over the shared Entra/ARM provider. No I/O of its own. */
export function createAzureUpstreamProvider(shared: SharedProvider<AzureVerifyRequest, AzureDiscoverRequest>): UpstreamProvider {
  return {
    name: "azure",
    kinds: ["azure"],
    functionList: (kind: UpstreamKind) => (kind === "azure" ? AZURE_FUNCTION_LIST : undefined),

    /** The gateway's function keys (spec.azure.secretRef, optional) and the service principal that may read the app (annotation, required). */
    credentials(upstream: CloudUpstream, options: UpstreamOptions): CredentialPlan {
      const u = azureUpstream(upstream);
      const secrets: SecretNeed[] = [];
      if (u.spec.secretRef !== undefined) secrets.push({ role: "functionKeys", ref: u.spec.secretRef, expected: "azureFunctionKeys", field: "spec.azure.secretRef", label: "function keys" });
      if (options.azureCredentials === undefined) {
        throw new CredbrokerError("SecretNotFound", "annotation credbroker.io/azure-credentials is not set: a service principal is needed to verify the function app", { field: PRINCIPAL_FIELD });
      }
      secrets.push({ role: "principal", ref: options.azureCredentials, expected: "azureServicePrincipal", field: PRINCIPAL_FIELD, label: "service principal" });
      return { secrets };
    },

    async verify(upstream, credentials, policy): Promise<VerifyResult> {
      try {
        return await shared.verify(verifyRequest(azureUpstream(upstream), credentials), policy);
      } catch (err) {
        return verdictOf(toCredbrokerError(err, "azure verification"));
      }
    },

    async discover(upstream, options, credentials, identity, policy): Promise<DiscoverResult> {
      try {
        const request: AzureDiscoverRequest = { ...verifyRequest(azureUpstream(upstream), credentials), filter: options.functionFilter };
        const keys = functionKeys(credentials);
        if (keys !== undefined) request.apiKeys = keys;
        return await shared.discover(request, { identity }, policy);
      } catch (err) {
        return verdictOf(toCredbrokerError(err, "azure discovery"));
      }
    },

    entries: (_upstream, functions, options: UpstreamOptions) => azureEntries(functions, options.functionFilter),
  };
}
