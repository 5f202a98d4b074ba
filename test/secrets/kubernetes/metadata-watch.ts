// Test helper: a client-node Watch of Secrets asking for metadata only (PartialObjectMetadata), feeding KubernetesSecretSource.
import { KubeConfig, Watch, type RequestContext } from "@kubernetes/client-node";
import type { KubernetesSecretSource } from "../../../src/secrets/kubernetes/kubernetes-secret-source.js";

export const METADATA_ACCEPT = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";

/** A KubeConfig whose requests ask for PartialObjectMetadata: client-node's Watch has no Accept option of its own. */
class MetadataOnlyKubeConfig extends KubeConfig {
  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    context.setHeaderParam("Accept", METADATA_ACCEPT);
  }
}

export interface MetadataWatch {
  /** Every event as received: type and object, so tests can check no data arrived. */
  events: Array<{ type: string; object: Record<string, unknown> }>;
  stop(): void;
}

/** Watches Secrets in all namespaces from now on and passes each event's metadata to `source`. */
export async function watchSecretMetadata(kubeconfigYaml: string, source: KubernetesSecretSource, resourceVersion: string): Promise<MetadataWatch> {
  const kc = new MetadataOnlyKubeConfig();
  kc.loadFromString(kubeconfigYaml);
  const events: MetadataWatch["events"] = [];
  const controller = await new Watch(kc).watch(
    "/api/v1/secrets",
    { resourceVersion, allowWatchBookmarks: false },
    (type: string, object: Record<string, unknown>) => {
      events.push({ type, object });
      source.handleSecretEvent(type, object.metadata);
    },
    () => undefined,
  );
  return { events, stop: () => controller.abort() };
}
