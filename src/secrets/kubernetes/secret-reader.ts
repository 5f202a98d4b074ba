// Reads one Kubernetes Secret by name through client-node, with a timeout, mapping failures to the secret-source errors.
import { ApiException, CoreV1Api, Observable, type KubeConfig, type ObservableMiddleware } from "@kubernetes/client-node";
import { BrokerNotAuthorizedError, CredbrokerError, DependencyCallError, SecretNotFoundError, SecretSourceUnavailableError } from "../../model/errors.js";
import { kubeRefusalHint, refusesBroker } from "../../runtime/kube/kube-request.js";

/** Reads a Secret object by namespace and name. I/O; throws the secret-source errors only. */
export interface KubernetesSecretReader {
  read(namespace: string, name: string): Promise<unknown>;
}

function networkCode(err: unknown, depth = 0): string | undefined {
  if (typeof err !== "object" || err === null || depth > 4) return undefined;
  const { code, name, cause } = err as { code?: unknown; name?: unknown; cause?: unknown };
  if (name === "TimeoutError" || name === "AbortError") return "ETIMEDOUT";
  if (typeof code === "string" && /^[A-Z0-9_]+$/.test(code)) return code;
  return networkCode(cause, depth + 1);
}

/**
 * Classifies a failed Secret read. Pure. Only a 404 is about the Secret (SecretNotFoundError, a
 * verdict). 401/403 refuse the broker's own identity (its token, its RBAC): BrokerNotAuthorizedError,
 * transient, naming what to fix. Another 4xx means the broker asked wrongly (a kubeconfig pointing
 * at something that is not an API server, a proxy in between): InternalError, transient, naming
 * the status and the setting. 429, 5xx, timeouts and network errors → SecretSourceUnavailableError.
 */
export function classifyKubernetesError(err: unknown, subject: string): CredbrokerError {
  if (err instanceof CredbrokerError) return err;
  if (err instanceof ApiException) {
    const status = err.code;
    const cause = new DependencyCallError("Kubernetes", status, undefined);
    if (status === 404) return new SecretNotFoundError(`Kubernetes Secret ${subject} not found`, { cause });
    if (refusesBroker(status)) return new BrokerNotAuthorizedError(`reading Kubernetes Secret ${subject}: HTTP ${status}: ${kubeRefusalHint(status)} (get on secrets)`, { cause });
    if (status === 429 || status >= 500) return new SecretSourceUnavailableError(`reading Kubernetes Secret ${subject}: API server answered HTTP ${status}`, { cause });
    return new CredbrokerError("InternalError", `reading Kubernetes Secret ${subject}: the API server rejected the broker's request (HTTP ${status}); not a verdict on the Secret: check that kubernetes.kubeconfig points at the API server, without a proxy rewriting requests`, { cause, retryable: true });
  }
  const code = networkCode(err);
  const cause = new DependencyCallError("Kubernetes", undefined, code);
  if (code === "ETIMEDOUT") return new SecretSourceUnavailableError(`reading Kubernetes Secret ${subject}: timed out`, { cause });
  return new SecretSourceUnavailableError(`reading Kubernetes Secret ${subject}: API server unreachable${code === undefined ? "" : ` (${code})`}`, { cause });
}

/** A reader over CoreV1Api.readNamespacedSecret; each read is aborted after `requestTimeoutMs`. */
export function createKubernetesSecretReader(kubeConfig: KubeConfig, options: { requestTimeoutMs: number }): KubernetesSecretReader {
  const api = kubeConfig.makeApiClient(CoreV1Api);
  return {
    read: async (namespace, name) => {
      const timeout: ObservableMiddleware = {
        pre: (ctx) => {
          ctx.setSignal(AbortSignal.timeout(options.requestTimeoutMs));
          return new Observable(Promise.resolve(ctx));
        },
        post: (rsp) => new Observable(Promise.resolve(rsp)),
      };
      try {
        return await api.readNamespacedSecret({ namespace, name }, { middleware: [timeout], middlewareMergeStrategy: "append" });
      } catch (err) {
        throw classifyKubernetesError(err, `${namespace}/${name}`);
      }
    },
  };
}
