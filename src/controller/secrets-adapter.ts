// Presents the SecretResolver (and the Kubernetes source's watch feed) as the controller's SecretPort.
import type { KubernetesSecretSource } from "../secrets/kubernetes/kubernetes-secret-source.js";
import type { SecretResolver } from "../secrets/resolver.js";
import type { SecretPort } from "./ports.js";

const WATCH_TYPES = { added: "ADDED", modified: "MODIFIED", deleted: "DELETED" } as const;

/** Wraps the resolver: every resolve records which upstream uses the secret, so its rotation requeues it. No I/O of its own. */
export function createSecretPort(resolver: SecretResolver, kubernetes: KubernetesSecretSource | undefined): SecretPort {
  return {
    async resolve(lookup) {
      resolver.track(lookup.upstreamKey, lookup.ref);
      return resolver.resolve({ ref: lookup.ref, expected: lookup.expected, fresh: lookup.fresh, override: lookup.override });
    },
    forget: (upstreamKey) => resolver.untrack(upstreamKey),
    onRotation: (listener) => resolver.onRotation((keys) => listener(keys)),
    secretEvent: (type, metadata) => {
      kubernetes?.handleSecretEvent(WATCH_TYPES[type], metadata);
    },
  };
}
