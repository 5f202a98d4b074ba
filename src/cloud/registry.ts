// Providers by upstream kind, so the controller never names a cloud: each says which secrets an upstream needs, verifies it, and turns its discoveries into spec entries.
import type { UpstreamOptions } from "../model/annotations.js";
import type { DiscoveredFunction, DiscoverResult, VerifiedIdentity, VerifyResult } from "../model/cloud-results.js";
import type { SecretMaterial, SecretMaterialKind } from "../model/credentials.js";
import { CredbrokerError } from "../model/errors.js";
import { CLOUD_UPSTREAM_KINDS, type CloudUpstream, type FunctionListField, type SecretRef, type UpstreamKind } from "../model/upstream.js";

/** One secret an upstream needs resolved. */
export interface SecretNeed {
  /** The provider's own name for it (`keys`, `principal`), to find it among the resolved ones. */
  role: string;
  ref: SecretRef;
  expected: SecretMaterialKind;
  /** The field that names the reference: in errors, and where the secret-reference policy points. */
  field: string;
  /** How it reads in the SecretResolved message ("AWS keys"). */
  label: string;
}

/** What an upstream needs before it can be verified: secrets to resolve, or none (`ambient` says whose identity is used then). */
export interface CredentialPlan {
  secrets: SecretNeed[];
  ambient?: string;
}

/** The resolved material, by role. */
export type ResolvedCredentials = ReadonlyMap<string, SecretMaterial>;

/** How a pass calls the clouds: `fresh` skips every shared result (a forced re-verification). */
export interface CallPolicy {
  fresh: boolean;
  /**
   * Told how each cloud answer came: `true` from a shared result (cached, or joined in flight),
   * `false` by calls of the pass's own. A provider that says nothing counts as calling.
   */
  onAnswer?: (shared: boolean) => void;
}

/**
 * A cloud as the controller sees it, registered for the upstream kinds it serves. `credentials`
 * and `entries` are pure; `verify` and `discover` do I/O and never throw (every failure is a
 * `rejected` or `unknown` result). `discover` is called only for a kind with a function list,
 * after `verify` proved `identity` with the same policy, so it need not verify again.
 */
export interface UpstreamProvider {
  readonly name: string;
  readonly kinds: readonly UpstreamKind[];
  /** Where `kind` keeps its function list; undefined when it publishes none. */
  functionList(kind: UpstreamKind): FunctionListField | undefined;
  /** Throws CredbrokerError naming the field when the upstream cannot be checked at all (no reference, ambient credentials not allowed). */
  credentials(upstream: CloudUpstream, options: UpstreamOptions): CredentialPlan;
  verify(upstream: CloudUpstream, credentials: ResolvedCredentials, policy: CallPolicy): Promise<VerifyResult>;
  discover(upstream: CloudUpstream, options: UpstreamOptions, credentials: ResolvedCredentials, identity: VerifiedIdentity, policy: CallPolicy): Promise<DiscoverResult>;
  /** Discovered functions as entries of the kind's function list, filtered as the upstream asks, sorted by key. */
  entries(upstream: CloudUpstream, functions: readonly DiscoveredFunction[], options: UpstreamOptions): object[];
}

export interface ProviderRegistry {
  /** The provider of `kind`. Throws CredbrokerError(InternalError) for a kind nobody registered (a composition bug). */
  forKind(kind: UpstreamKind): UpstreamProvider;
  /** Every function-list field some kind has: what credbroker writes into specs (so its own writes never requeue). */
  functionLists(): FunctionListField[];
}

/**
 * A registry of `providers`. Throws CredbrokerError(InvalidSetting) when two claim one kind, or
 * when a kind of `required` (default: every cloud upstream kind) has no provider. Pure.
 */
export function createProviderRegistry(providers: readonly UpstreamProvider[], required: readonly UpstreamKind[] = CLOUD_UPSTREAM_KINDS): ProviderRegistry {
  const byKind = new Map<string, UpstreamProvider>();
  for (const provider of providers) {
    for (const kind of provider.kinds) {
      const other = byKind.get(kind);
      if (other !== undefined) throw new CredbrokerError("InvalidSetting", `upstream kind ${kind} is claimed by providers ${other.name} and ${provider.name}`);
      byKind.set(kind, provider);
    }
  }
  const missing = required.filter((k) => !byKind.has(k));
  if (missing.length > 0) throw new CredbrokerError("InvalidSetting", `no provider registered for upstream kind ${missing.join(", ")}`);
  const lists = [...byKind].flatMap(([kind, p]) => p.functionList(kind as UpstreamKind) ?? []);
  return {
    forKind(kind) {
      const provider = byKind.get(kind);
      if (provider === undefined) throw new CredbrokerError("InternalError", `no provider registered for upstream kind ${kind}`, { retryable: false });
      return provider;
    },
    functionLists: () => [...lists],
  };
}

/** The material resolved for `role`; throws CredbrokerError(InternalError) when the plan did not ask for it (a provider bug). */
export function materialOf(credentials: ResolvedCredentials, role: string): SecretMaterial {
  const material = credentials.get(role);
  if (material === undefined) throw new CredbrokerError("InternalError", `no ${role} secret was resolved`);
  return material;
}

/** The error for an upstream handed to a provider that does not serve its kind (a registry bug). */
export function wrongKind(provider: string, upstream: CloudUpstream): CredbrokerError {
  return new CredbrokerError("InternalError", `provider ${provider} does not serve upstreams of kind ${upstream.kind}`, { retryable: false });
}
