// What a reconcile needs from the secret layer, and the resolver presented that way: every resolve records which upstream uses the secret.
import type { SecretSourceKind } from "../model/annotations.js";
import type { SecretMaterialKind } from "../model/credentials.js";
import type { SecretRef } from "../model/upstream.js";
import type { KubernetesSecretSource } from "../secrets/kubernetes/kubernetes-secret-source.js";
import type { SecretResolver } from "../secrets/resolver.js";
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
  /** Resolves and records that `lookup.upstreamKey` uses the secret, so its rotation requeues the upstream. */
  resolve(lookup: SecretLookup): Promise<ResolvedSecret>;
  /** Drops every record of which secrets the upstream uses (it was deleted, or a pass is about to record them anew). */
  untrack(upstreamKey: string): void;
  /** Calls `listener` with the upstreams whose secret changed or disappeared. Returns an unsubscribe function. */
  onRotation(listener: (upstreamKeys: string[]) => void): () => void;
  /** Feeds the metadata-only Secret watch to the Kubernetes source's cache. */
  secretEvent(type: "added" | "modified" | "deleted", metadata: Record<string, unknown>): void;
}

const WATCH_TYPES = { added: "ADDED", modified: "MODIFIED", deleted: "DELETED" } as const;

/** Wraps the resolver as the controller's SecretPort. No I/O of its own. */
export function createSecretPort(resolver: SecretResolver, kubernetes: KubernetesSecretSource | undefined): SecretPort {
  return {
    async resolve(lookup) {
      resolver.track(lookup.upstreamKey, lookup.ref);
      return resolver.resolve({ ref: lookup.ref, expected: lookup.expected, fresh: lookup.fresh, override: lookup.override });
    },
    untrack: (upstreamKey) => resolver.untrack(upstreamKey),
    onRotation: (listener) => resolver.onRotation((keys) => listener(keys)),
    secretEvent: (type, metadata) => {
      kubernetes?.handleSecretEvent(WATCH_TYPES[type], metadata);
    },
  };
}
