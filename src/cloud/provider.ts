// The role every cloud plays at the SDK edge: verify credentials (valid / rejected / unknown) and discover functions, per request.
import type { AwsCredentials, AzureFunctionKeys, AzureServicePrincipal } from "../model/credentials.js";
import type { DiscoveredFunction, DiscoverResult, VerifiedIdentity, VerifyResult } from "../model/cloud-results.js";
import type { FunctionFilter, LambdaQualifierKind } from "../model/function-filter.js";

export type { DiscoveredFunction, DiscoverResult, VerifiedIdentity, VerifyResult };

export type CloudName = "aws" | "azure";

/** What an AWS verification needs: the upstream's place and the credentials resolved from its secret. */
export interface AwsVerifyRequest {
  /** `aws` (Lambda) and `awsEc2` upstreams are verified the same way. */
  kind: "aws" | "awsEc2";
  region: string;
  /** Undefined means "no secretRef": the broker's ambient credentials, when the setting allows it. */
  credentials?: AwsCredentials;
  roleArn?: string;
  awsAccountId?: string;
  disableRoleChaining?: boolean;
}

/** An AWS discovery: which qualifiers to list and which names to keep. */
export interface AwsDiscoverRequest extends AwsVerifyRequest {
  qualifiers: readonly LambdaQualifierKind[];
  filter: FunctionFilter;
}

/** What an Azure verification needs: the function app and the service principal that may read it. */
export interface AzureVerifyRequest {
  functionAppName: string;
  principal: AzureServicePrincipal;
}

/** An Azure discovery; with `apiKeys` (the upstream's own secret) the keys are checked against Azure's. */
export interface AzureDiscoverRequest extends AzureVerifyRequest {
  filter: FunctionFilter;
  apiKeys?: AzureFunctionKeys;
}

/**
 * How a request is keyed for sharing: `secrets` is hashed (HMAC) and never stored, `scope` holds
 * the non-secret parts (region, endpoint, role, account, options) in a fixed order.
 */
export interface CacheKeyParts {
  secrets: readonly string[];
  scope: readonly string[];
}

/** Facts the caller already established, so a discovery need not prove them again. */
export interface DiscoverContext {
  /** The identity a verification of the same credentials (as fresh as this discovery) just proved. */
  identity?: VerifiedIdentity;
}

/**
 * A cloud provider. `verify` and `discover` do I/O and never throw: every failure is a
 * `rejected` or `unknown` result carrying a CredbrokerError whose message holds no secret.
 * Results are normalised (functions sorted) so equal clouds give equal results.
 */
export interface CloudProvider<V, D extends V> {
  readonly name: CloudName;
  verify(request: V): Promise<VerifyResult>;
  discover(request: D, context?: DiscoverContext): Promise<DiscoverResult>;
  /** Pure: the parts a verification is shared by. */
  verifyKey(request: V): CacheKeyParts;
  /** Pure: the parts a discovery is shared by (the verification's plus the discovery options). */
  discoverKey(request: D): CacheKeyParts;
  /**
   * Pure, optional: when part of a discovery request does not change which calls it makes (a name
   * filter applied after one full listing), the wider request to discover and share instead, and
   * how to narrow its functions back to this request's. Undefined when nothing can be widened.
   * Only valid when the warnings do not depend on the filter either: every caller gets the shared
   * result's warnings as they are.
   */
  widen?(request: D): WidenedDiscovery<D> | undefined;
}

/** A discovery request with its filter lifted, so upstreams that differ only by filter share one listing. */
export interface WidenedDiscovery<D> {
  request: D;
  /** Pure: keeps what the original request would have listed; order is preserved. */
  narrow(functions: readonly DiscoveredFunction[]): DiscoveredFunction[];
}

export type AwsCloudProvider = CloudProvider<AwsVerifyRequest, AwsDiscoverRequest>;
export type AzureCloudProvider = CloudProvider<AzureVerifyRequest, AzureDiscoverRequest>;
