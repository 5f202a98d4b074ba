// The Kubernetes calls the controller makes on Upstreams, Namespaces and Events, behind a small typed interface.
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type CoreV1Event,
  type KubeConfig,
} from "@kubernetes/client-node";
import { CredbrokerError, DependencyCallError } from "../model/errors.js";
import { isObject, type JsonObject } from "../model/fields.js";
import { UPSTREAM_GROUP, UPSTREAM_KIND, UPSTREAM_PLURAL, UPSTREAM_VERSION } from "../model/upstream.js";

export type PatchAnswer = { kind: "patched"; object: JsonObject } | { kind: "conflict" } | { kind: "gone" };

export interface UpstreamEvent {
  namespace: string;
  name: string;
  uid?: string;
  resourceVersion?: string;
  type: "Normal" | "Warning";
  reason: string;
  message: string;
}

/** What the controller needs from the Kubernetes API. Every method does I/O. */
export interface UpstreamApi {
  /** The upstream as stored now, or undefined when it does not exist. */
  get(namespace: string, name: string): Promise<JsonObject | undefined>;
  /**
   * Applies a JSON merge patch (never JSON-patch: client-node's default content type is
   * overridden). A `metadata.resourceVersion` inside the patch is a precondition: a stale one
   * answers `conflict`; a missing object answers `gone`.
   */
  mergePatch(namespace: string, name: string, patch: JsonObject): Promise<PatchAnswer>;
  /** Labels of a namespace (Gloo's discovery label may sit there); empty when it cannot be read. */
  namespaceLabels(namespace: string): Promise<Record<string, string>>;
  /** Records a Kubernetes Event on the upstream. */
  recordEvent(event: UpstreamEvent): Promise<void>;
}

/** Errors from the API server that a later retry may get past (connection, 5xx, 429). */
function kubeFailure(call: string, err: unknown): CredbrokerError {
  const code = err instanceof ApiException ? err.code : undefined;
  const retryable = code === undefined || code >= 500 || code === 429;
  // client-node's ApiException carries the response body and headers: keep only what is safe to log.
  const raw = (err as { code?: unknown } | undefined)?.code;
  const cause = new DependencyCallError("Kubernetes", code, typeof raw === "string" ? raw : undefined);
  return new CredbrokerError("InternalError", `kubernetes ${call} failed${code !== undefined ? ` with HTTP ${code}` : ""}`, { cause, retryable });
}

const MERGE_PATCH = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

export function createKubeUpstreamApi(kc: KubeConfig, component = "credbroker"): UpstreamApi {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const core = kc.makeApiClient(CoreV1Api);
  const base = { group: UPSTREAM_GROUP, version: UPSTREAM_VERSION, plural: UPSTREAM_PLURAL };

  return {
    async get(namespace, name) {
      try {
        const obj: unknown = await custom.getNamespacedCustomObject({ ...base, namespace, name });
        return isObject(obj) ? obj : undefined;
      } catch (err) {
        if (err instanceof ApiException && err.code === 404) return undefined;
        throw kubeFailure(`get upstream ${namespace}/${name}`, err);
      }
    },

    async mergePatch(namespace, name, patch) {
      try {
        const obj: unknown = await custom.patchNamespacedCustomObject({ ...base, namespace, name, body: patch }, MERGE_PATCH);
        if (!isObject(obj)) throw new Error("patch answered without an object");
        return { kind: "patched", object: obj };
      } catch (err) {
        if (err instanceof ApiException && err.code === 409) return { kind: "conflict" };
        if (err instanceof ApiException && err.code === 404) return { kind: "gone" };
        throw kubeFailure(`patch upstream ${namespace}/${name}`, err);
      }
    },

    async namespaceLabels(namespace) {
      try {
        const ns = await core.readNamespace({ name: namespace });
        return ns.metadata?.labels ?? {};
      } catch (err) {
        if (err instanceof ApiException && (err.code === 404 || err.code === 403)) return {};
        throw kubeFailure(`get namespace ${namespace}`, err);
      }
    },

    async recordEvent(event) {
      const now = new Date();
      const body: CoreV1Event = {
        metadata: { generateName: `${event.name}.`, namespace: event.namespace },
        involvedObject: {
          apiVersion: `${UPSTREAM_GROUP}/${UPSTREAM_VERSION}`,
          kind: UPSTREAM_KIND,
          namespace: event.namespace,
          name: event.name,
          ...(event.uid !== undefined ? { uid: event.uid } : {}),
          ...(event.resourceVersion !== undefined ? { resourceVersion: event.resourceVersion } : {}),
        },
        type: event.type,
        reason: event.reason,
        message: event.message,
        source: { component },
        reportingComponent: component,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      };
      try {
        await core.createNamespacedEvent({ namespace: event.namespace, body });
      } catch (err) {
        throw kubeFailure(`create event for upstream ${event.namespace}/${event.name}`, err);
      }
    },
  };
}
