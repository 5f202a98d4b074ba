// Where a secret reference lives in Vault: Gloo's KV v2 or v1 layout, or an operator's path template.
import { SecretNotFoundError } from "../../model/errors.js";
import type { SecretRef } from "../../model/upstream.js";

/** Path settings; structurally a subset of `Config["vault"]`. */
export interface VaultPathSettings {
  kvMount: string;
  kvVersion: 1 | 2;
  rootKey: string;
  /** Full API path after `/v1/` with `{namespace}` and `{name}`; for KV v2 it includes the `data/` segment. */
  pathTemplate?: string | undefined;
}

// Kubernetes object names (DNS subdomains); anything else could walk out of the intended path.
const NAME = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/;

const trimSlashes = (s: string): string => s.replace(/^\/+|\/+$/g, "");

/**
 * The Vault API path (without `/v1/`) of `ref`. Pure. Gloo's layout is
 * `<mount>/data/<rootKey>/gloo.solo.io/v1/Secret/<ns>/<name>` on KV v2 and the same without
 * `data/` on KV v1. Throws SecretNotFoundError for a reference no Kubernetes name could have
 * (such a secret cannot exist, and the name must not alter the path).
 */
export function vaultSecretPath(settings: VaultPathSettings, ref: SecretRef): string {
  for (const part of [ref.namespace, ref.name]) {
    if (!NAME.test(part) || part.includes("..")) throw new SecretNotFoundError(`secret reference ${ref.namespace}/${ref.name} is not a valid Kubernetes name`);
  }
  if (settings.pathTemplate !== undefined) {
    return trimSlashes(settings.pathTemplate.replaceAll("{namespace}", ref.namespace).replaceAll("{name}", ref.name));
  }
  const mount = trimSlashes(settings.kvMount);
  const tail = `${trimSlashes(settings.rootKey)}/gloo.solo.io/v1/Secret/${ref.namespace}/${ref.name}`;
  return settings.kvVersion === 2 ? `${mount}/data/${tail}` : `${mount}/${tail}`;
}
