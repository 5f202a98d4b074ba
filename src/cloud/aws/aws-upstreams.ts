// The AWS provider as the controller sees it: `aws` and `awsEc2` upstreams, their keys (or the broker's own), STS verification, Lambda entries.
import type { UpstreamOptions } from "../../model/annotations.js";
import { verdictOf, type DiscoverResult, type VerifyResult } from "../../model/cloud-results.js";
import { CredbrokerError, toCredbrokerError } from "../../model/errors.js";
import type { CloudUpstream, FunctionListField, UpstreamKind } from "../../model/upstream.js";
import type { AwsDiscoverRequest, AwsVerifyRequest } from "../provider.js";
import { materialOf, wrongKind, type CredentialPlan, type ResolvedCredentials, type UpstreamProvider } from "../registry.js";
import type { SharedProvider } from "../shared/shared-provider.js";
import { parseAwsCredentials } from "./aws-provider.js";
import { lambdaEntries, toDiscoveredLambda } from "./lambda-entries.js";

/** `spec.aws.lambdaFunctions`, named by logicalName. EC2 instances are never written into the spec. */
export const LAMBDA_FUNCTION_LIST: FunctionListField = { type: "aws", list: "lambdaFunctions", key: "logicalName", fields: ["logicalName", "lambdaFunctionName", "qualifier"] };

type AwsUpstream = Extract<CloudUpstream, { kind: "aws" | "awsEc2" }>;

function awsUpstream(upstream: CloudUpstream): AwsUpstream {
  if (upstream.kind === "aws" || upstream.kind === "awsEc2") return upstream;
  throw wrongKind("aws", upstream);
}

/** The verification request of an upstream; with no secret resolved, the broker's ambient credentials. Throws like parseAwsCredentials. */
function verifyRequest(upstream: AwsUpstream, credentials: ResolvedCredentials): AwsVerifyRequest {
  const request: AwsVerifyRequest = { kind: upstream.kind, region: upstream.spec.region };
  if (credentials.has("keys")) request.credentials = parseAwsCredentials(materialOf(credentials, "keys"));
  if (upstream.spec.roleArn !== undefined) request.roleArn = upstream.spec.roleArn;
  if (upstream.kind === "aws" && upstream.spec.awsAccountId !== undefined) request.awsAccountId = upstream.spec.awsAccountId;
  return request;
}

/** Registers AWS for `aws` and `awsEc2` over the shared STS/Lambda provider. No I/O of its own. */
export function createAwsUpstreamProvider(shared: SharedProvider<AwsVerifyRequest, AwsDiscoverRequest>, settings: { allowAmbientCredentials: boolean }): UpstreamProvider {
  return {
    name: "aws",
    kinds: ["aws", "awsEc2"],
    functionList: (kind: UpstreamKind) => (kind === "aws" ? LAMBDA_FUNCTION_LIST : undefined),

    credentials(upstream: CloudUpstream): CredentialPlan {
      const u = awsUpstream(upstream);
      const field = `spec.${u.kind}.secretRef`;
      const ref = u.spec.secretRef;
      if (ref !== undefined) return { secrets: [{ role: "keys", ref, expected: "awsKeys", field, label: "AWS keys" }] };
      if (!settings.allowAmbientCredentials) {
        throw new CredbrokerError("SecretNotFound", `${field} is not set and the broker's ambient credentials are not allowed (aws.allowAmbientCredentials)`, { field });
      }
      return { secrets: [], ambient: "no secretRef: using the broker's ambient AWS credentials" };
    },

    async verify(upstream, credentials, policy): Promise<VerifyResult> {
      try {
        return await shared.verify(verifyRequest(awsUpstream(upstream), credentials), policy);
      } catch (err) {
        return verdictOf(toCredbrokerError(err, "aws verification"));
      }
    },

    async discover(upstream, options, credentials, identity, policy): Promise<DiscoverResult> {
      try {
        const request: AwsDiscoverRequest = { ...verifyRequest(awsUpstream(upstream), credentials), qualifiers: options.lambdaQualifiers, filter: options.functionFilter };
        return await shared.discover(request, { identity }, policy);
      } catch (err) {
        return verdictOf(toCredbrokerError(err, "aws discovery"));
      }
    },

    entries: (_upstream, functions, options: UpstreamOptions) => lambdaEntries(toDiscoveredLambda(functions), options.lambdaQualifiers, options.functionFilter),
  };
}
