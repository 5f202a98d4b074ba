// The Kubernetes calls the controller makes on Upstreams, Namespaces and Events, behind a small typed interface.
import { ApiException, CoreV1Api, CustomObjectsApi, PatchStrategy, type ConfigurationOptions, type CoreV1Event, type KubeConfig } from "@kubernetes/client-node";
import { BrokerNotAuthorizedError, CredbrokerError, DependencyCallError } from "../model/errors.js";
import { isObject, type JsonObject } from "../model/fields.js";
import { UPSTREAM_GROUP, UPSTREAM_KIND, UPSTREAM_PLURAL, UPSTREAM_VERSION } from "../model/upstream.js";
import { callOptions, kubeTimeout } from "../runtime/kube/call-options.js";
import { kubeRefusalHint, refusesBroker } from "../runtime/kube/kube-request.js";
import type { NotAuthorizedStreak } from "../secrets/not-authorized-streak.js";

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

/**
 * What the controller needs from the Kubernetes API. Every method does I/O and has a deadline: a
 * request that outlives it rejects with a retryable CredbrokerError naming the call.
 */
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
  // The broker's own RBAC or token, never the upstream's doing: retried, and the operator told what to fix.
  if (refusesBroker(code)) return new BrokerNotAuthorizedError(`kubernetes ${call} failed with HTTP ${code}: ${kubeRefusalHint(code)}`, { cause });
  return new CredbrokerError("InternalError", `kubernetes ${call} failed${code !== undefined ? ` with HTTP ${code}` : ""}`, { cause, retryable });
}

export interface KubeUpstreamApiOptions {
  /**
   * Deadline of one request, from the call to the end of the response body (default 10 s). Writes
   * also send it as the API server's `timeout`, so the server abandons them too.
   */
  requestTimeoutMs?: number;
  /** Who writes: the Event source component and the `fieldManager` of every write (default `credbroker`). */
  component?: string;
  /** Told of every 401/403 and of every answered call, so a refused broker is logged once per streak (the Secret reads' streak). */
  refusals?: Pick<NotAuthorizedStreak, "refused" | "authorized">;
}

/** The UpstreamApi over client-node. Creates API clients from `kc`; no I/O until a method is called. */
export function createKubeUpstreamApi(kc: KubeConfig, options: KubeUpstreamApiOptions = {}): UpstreamApi {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const core = kc.makeApiClient(CoreV1Api);
  const base = { group: UPSTREAM_GROUP, version: UPSTREAM_VERSION, plural: UPSTREAM_PLURAL };
  const timeoutMs = options.requestTimeoutMs ?? 10_000;
  const component = options.component ?? "credbroker";
  const fieldManager = component;

  /**
   * Sends one request under a fresh deadline (started before authentication, which may run an exec
   * plugin). An abort becomes the timeout error; an API answer (ApiException) goes to `onError`, which
   * returns the method's answer for it or throws.
   */
  async function bounded<T>(call: string, write: boolean, send: (o: ConfigurationOptions) => Promise<T>, onError: (err: unknown) => T, contentType?: string): Promise<T> {
    const signal = AbortSignal.timeout(timeoutMs);
    // "patch upstream ns/name" → the refused operation and its subject, as the Secret reads report theirs.
    const subject = call.slice(call.lastIndexOf(" ") + 1);
    const operation = call.slice(0, call.lastIndexOf(" "));
    try {
      const answer = await send(callOptions({ signal, ...(write ? { serverTimeoutMs: timeoutMs } : {}), ...(contentType !== undefined ? { contentType } : {}) }));
      options.refusals?.authorized(subject);
      return answer;
    } catch (err) {
      if (signal.aborted && !(err instanceof ApiException)) throw kubeTimeout(call, timeoutMs);
      const status = err instanceof ApiException ? err.code : undefined;
      if (refusesBroker(status)) options.refusals?.refused({ operation, subject, status, why: `kubernetes ${call} failed with HTTP ${status}` });
      else if (status !== undefined) options.refusals?.authorized(subject);
      return onError(err);
    }
  }

  return {
    get(namespace, name) {
      const call = `get upstream ${namespace}/${name}`;
      return bounded(
        call,
        false,
        async (o) => {
          const obj: unknown = await custom.getNamespacedCustomObject({ ...base, namespace, name }, o);
          return isObject(obj) ? obj : undefined;
        },
        (err) => {
          if (err instanceof ApiException && err.code === 404) return undefined;
          throw kubeFailure(call, err);
        },
      );
    },

    mergePatch(namespace, name, patch) {
      const call = `patch upstream ${namespace}/${name}`;
      return bounded<PatchAnswer>(
        call,
        true,
        async (o) => {
          const obj: unknown = await custom.patchNamespacedCustomObject({ ...base, namespace, name, body: patch, fieldManager }, o);
          if (!isObject(obj)) throw new Error("patch answered without an object");
          return { kind: "patched", object: obj };
        },
        (err) => {
          if (err instanceof ApiException && err.code === 409) return { kind: "conflict" };
          if (err instanceof ApiException && err.code === 404) return { kind: "gone" };
          throw kubeFailure(call, err);
        },
        PatchStrategy.MergePatch,
      );
    },

    namespaceLabels(namespace) {
      const call = `get namespace ${namespace}`;
      return bounded(
        call,
        false,
        async (o) => (await core.readNamespace({ name: namespace }, o)).metadata?.labels ?? {},
        (err) => {
          if (err instanceof ApiException && (err.code === 404 || err.code === 403)) return {};
          throw kubeFailure(call, err);
        },
      );
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
      const call = `create event for upstream ${event.namespace}/${event.name}`;
      await bounded(
        call,
        true,
        async (o) => {
          await core.createNamespacedEvent({ namespace: event.namespace, body, fieldManager }, o);
        },
        (err) => {
          throw kubeFailure(call, err);
        },
      );
    },
  };
}
