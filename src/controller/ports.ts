// What a reconcile needs from the secret and cloud layers, stated from the controller's side.
import type { LambdaQualifierKind } from "../model/function-filter.js";
import type { FunctionFilter } from "../model/function-filter.js";
import type { SecretSourceKind } from "../model/annotations.js";
import type { AwsCredentials, AzureFunctionKeys, AzureServicePrincipal, SecretMaterialKind } from "../model/credentials.js";
import type { CredbrokerError } from "../model/errors.js";
import type { DiscoveredAzureFunction, DiscoveredLambdaFunction } from "../model/function-list.js";
import type { VerifiedIdentity } from "../model/status-types.js";
import type { SecretRef } from "../model/upstream.js";
import type { ResolvedSecret } from "../secrets/secret-source.js";

export interface SecretLookup {
  ref: SecretRef;
  expected: SecretMaterialKind;
  /** The upstream asking, so a rotation of this secret requeues it. */
  upstreamKey: string;
  override?: SecretSourceKind | undefined;
  fresh: boolean;
}

/** Resolves secret references (Kubernetes, Vault) in the configured order. Throws CredbrokerErrors. */
export interface SecretPort {
  /** Resolves and remembers that `lookup.upstreamKey` uses the secret, so its rotation requeues the upstream. */
  resolve(lookup: SecretLookup): Promise<ResolvedSecret>;
  /** The upstream no longer uses any secret (deleted); the next resolve records what it uses now. */
  forget(upstreamKey: string): void;
  /** Calls `listener` with the upstreams whose secret changed or disappeared. Returns an unsubscribe function. */
  onRotation(listener: (upstreamKeys: string[]) => void): () => void;
  /** Feeds the metadata-only Secret watch to the Kubernetes source's cache. */
  secretEvent(type: "added" | "modified" | "deleted", metadata: Record<string, unknown>): void;
}

/** AWS credentials to verify with: resolved keys, or the broker's own ambient credentials. */
export type AwsCredentialInput = { kind: "keys"; keys: AwsCredentials } | { kind: "ambient" };

export type VerifyRequest =
  | { provider: "aws"; region: string; credentials: AwsCredentialInput; roleArn?: string | undefined; expectedAccount?: string | undefined; fresh: boolean }
  | { provider: "azure"; principal: AzureServicePrincipal; functionAppName: string; fresh: boolean };

export type DiscoverRequest =
  | {
      provider: "aws";
      region: string;
      credentials: AwsCredentialInput;
      roleArn?: string | undefined;
      /** As in VerifyRequest: discovery verifies first, through the same shared result. */
      expectedAccount?: string | undefined;
      qualifiers: readonly LambdaQualifierKind[];
      filter: FunctionFilter;
      fresh: boolean;
    }
  | {
      provider: "azure";
      principal: AzureServicePrincipal;
      functionAppName: string;
      /** The upstream's function keys, to check against Azure's. */
      functionKeys?: AzureFunctionKeys | undefined;
      filter: FunctionFilter;
      fresh: boolean;
    };

/** `rejected` is a verdict on the credentials; `unknown` a passing fault that must not change the last verdict. */
export type VerifyResult =
  | { status: "valid"; identity: VerifiedIdentity }
  | { status: "rejected"; error: CredbrokerError }
  | { status: "unknown"; error: CredbrokerError };

/** Functions as the cloud reports them, before the model maps them to spec entries. */
export type DiscoveredFunctions =
  | { provider: "aws"; functions: DiscoveredLambdaFunction[] }
  | { provider: "azure"; functions: DiscoveredAzureFunction[] };

export type DiscoverResult =
  | { status: "listed"; discovered: DiscoveredFunctions; warnings: CredbrokerError[] }
  | { status: "rejected"; error: CredbrokerError }
  | { status: "unknown"; error: CredbrokerError };

/** Verification and discovery, shared and single-flight underneath. Never throws: failures are results. */
export interface CloudPort {
  verify(request: VerifyRequest): Promise<VerifyResult>;
  discover(request: DiscoverRequest): Promise<DiscoverResult>;
}
