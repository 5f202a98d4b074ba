// Presents the shared AWS and Azure verifiers as the controller's CloudPort, translating request and result shapes.
import type {
  AwsDiscoverRequest,
  AzureDiscoverRequest,
  CloudIdentity,
  CloudProvider,
  DiscoverResult as CloudDiscoverResult,
  AwsVerifyRequest,
  AzureVerifyRequest,
  VerifyResult as CloudVerifyResult,
} from "../cloud/provider.js";
import { toDiscoveredLambda } from "../cloud/aws/discovered.js";
import type { SharedCallOptions } from "../cloud/shared/cloud-verifier.js";
import type { DiscoveredAzureFunction } from "../model/function-list.js";
import type { VerifiedIdentity } from "../model/status-types.js";
import type { AwsCredentialInput, CloudPort, DiscoverRequest, DiscoverResult, VerifyRequest, VerifyResult } from "./ports.js";

/** A provider behind the shared cache: `fresh` bypasses it (forced re-verification). */
export interface SharedProvider<V, D extends V> extends CloudProvider<V, D> {
  verify(request: V, options?: SharedCallOptions): Promise<CloudVerifyResult>;
  discover(request: D, context?: object, options?: SharedCallOptions): Promise<CloudDiscoverResult>;
}

function identityOf(identity: CloudIdentity): VerifiedIdentity {
  if (identity.provider === "aws") return { provider: "aws", account: identity.account, arn: identity.arn };
  const azure: VerifiedIdentity = { provider: "azure", tenantId: identity.tenant ?? "", clientId: identity.arn };
  if (identity.account !== "") azure.subscriptionId = identity.account;
  return azure;
}

function verifyResult(result: CloudVerifyResult): VerifyResult {
  return result.status === "valid" ? { status: "valid", identity: identityOf(result.identity) } : result;
}

function awsBase(request: { region: string; credentials: AwsCredentialInput; roleArn?: string | undefined }, kind: "aws" | "awsEc2"): AwsVerifyRequest {
  const base: AwsVerifyRequest = { kind, region: request.region };
  if (request.credentials.kind === "keys") base.credentials = request.credentials.keys;
  if (request.roleArn !== undefined) base.roleArn = request.roleArn;
  return base;
}

/** Builds the controller's CloudPort over the shared verifiers. No I/O of its own. */
export function createCloudPort(aws: SharedProvider<AwsVerifyRequest, AwsDiscoverRequest>, azure: SharedProvider<AzureVerifyRequest, AzureDiscoverRequest>): CloudPort {
  return {
    async verify(request: VerifyRequest): Promise<VerifyResult> {
      const options = { fresh: request.fresh };
      if (request.provider === "aws") {
        const req = awsBase(request, "aws");
        if (request.expectedAccount !== undefined) req.awsAccountId = request.expectedAccount;
        return verifyResult(await aws.verify(req, options));
      }
      return verifyResult(await azure.verify({ functionAppName: request.functionAppName, principal: request.principal }, options));
    },

    async discover(request: DiscoverRequest): Promise<DiscoverResult> {
      // evaluate() always verifies first, with the same freshness: discovery need not verify again.
      const options = { fresh: request.fresh, verifiedJustNow: true };
      if (request.provider === "aws") {
        const req: AwsDiscoverRequest = { ...awsBase(request, "aws"), qualifiers: request.qualifiers, filter: request.filter };
        if (request.expectedAccount !== undefined) req.awsAccountId = request.expectedAccount;
        const result = await aws.discover(req, {}, options);
        if (result.status !== "listed") return result;
        return { status: "listed", discovered: { provider: "aws", functions: toDiscoveredLambda(result.functions) }, warnings: result.warnings };
      }
      const req: AzureDiscoverRequest = { functionAppName: request.functionAppName, principal: request.principal, filter: request.filter };
      if (request.functionKeys !== undefined) req.apiKeys = request.functionKeys;
      const result = await azure.discover(req, {}, options);
      if (result.status !== "listed") return result;
      const functions: DiscoveredAzureFunction[] = result.functions.flatMap((f) => (f.provider === "azure" ? [{ functionName: f.functionName, authLevel: f.authLevel }] : []));
      return { status: "listed", discovered: { provider: "azure", functions }, warnings: result.warnings };
    },
  };
}
