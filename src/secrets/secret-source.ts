// The role every secret backend plays: resolve a reference to typed material, and say when it changed.
import type { SecretMaterial, SecretMaterialKind } from "../model/credentials.js";
import type { SecretRef } from "../model/upstream.js";

export type SecretSourceName = "kubernetes" | "vault";

export interface SecretRequest {
  ref: SecretRef;
  /** The format the caller needs; another format is SecretMalformed naming what was expected. */
  expected?: SecretMaterialKind;
  /** Skip caches and read from the backend (forced re-verification). */
  fresh?: boolean;
}

export interface ResolvedSecret {
  material: SecretMaterial;
  source: SecretSourceName;
  /** Changes whenever the stored secret changes (Kubernetes resourceVersion, Vault version). */
  version: string;
  /** Where it was read, for messages and the rotation index: `kubernetes:ns/name`, `vault:secret/data/...`. Never a value. */
  location: string;
}

/**
 * A secret backend. `resolve` throws only CredbrokerErrors. Verdicts, about the secret itself:
 * SecretNotFoundError (404, deleted or destroyed) and ValidationError(SecretMalformed) (the
 * payload). Never verdicts, retryable: BrokerNotAuthorizedError (401/403: the broker's own RBAC,
 * policy or token; whether an upstream may use a secret is `secrets.refPolicy`'s to say, not the
 * backend's), SecretSourceUnavailableError (429, 5xx, network, timeouts) and
 * CredbrokerError(InternalError) (another 4xx: the broker asked wrongly). It does I/O and may
 * answer from its cache unless `fresh` is set.
 */
export interface SecretSource {
  readonly name: SecretSourceName;
  resolve(request: SecretRequest): Promise<ResolvedSecret>;
  /** Calls `listener` with the reference of every cached secret that changed or disappeared. Returns an unsubscribe function. */
  onChange(listener: (ref: SecretRef) => void): () => void;
  /** Starts background work (watches, token renewal, polling). Idempotent. */
  start(): Promise<void>;
  /** Stops background work and releases credentials (revokes the Vault token). Idempotent. */
  stop(): Promise<void>;
}
