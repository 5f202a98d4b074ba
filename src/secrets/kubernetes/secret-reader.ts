// Reads one Kubernetes Secret by name through client-node, with a timeout, mapping failures to the secret-source errors.
import { ApiException, CoreV1Api, Observable, type KubeConfig, type ObservableMiddleware } from "@kubernetes/client-node";
import { CredbrokerError, DependencyCallError, SecretDeniedError, SecretNotFoundError, SecretSourceUnavailableError } from "../../model/errors.js";

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
 * Classifies a failed Secret read. Pure. 404 → SecretNotFoundError; 401/403 → SecretDeniedError
 * (KubernetesDenied: the broker's RBAC); 429, 5xx, timeouts and network errors → SecretSourceUnavailableError.
 */
export function classifyKubernetesError(err: unknown, subject: string): CredbrokerError {
  if (err instanceof CredbrokerError) return err;
  if (err instanceof ApiException) {
    const status = err.code;
    const cause = new DependencyCallError("Kubernetes", status, undefined);
    if (status === 404) return new SecretNotFoundError(`Kubernetes Secret ${subject} not found`, { cause });
    if (status === 401 || status === 403) return new SecretDeniedError(`reading Kubernetes Secret ${subject}: forbidden for the broker's service account`, { reason: "KubernetesDenied", cause });
    if (status === 429 || status >= 500) return new SecretSourceUnavailableError(`reading Kubernetes Secret ${subject}: API server answered HTTP ${status}`, { cause });
    return new SecretDeniedError(`reading Kubernetes Secret ${subject}: API server refused the request (HTTP ${status})`, { reason: "KubernetesDenied", cause });
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
