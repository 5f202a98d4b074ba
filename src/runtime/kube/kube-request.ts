// Raw GET requests to the Kubernetes API with client-node's credentials, for the watch loop's custom Accept headers and streamed bodies.
import { request as httpRequest, type ClientRequest, type IncomingMessage, type RequestOptions } from "node:http";
import { request as httpsRequest } from "node:https";
import type { KubeConfig } from "@kubernetes/client-node";
import { CredbrokerError } from "../../model/errors.js";

/** Whether an HTTP status refuses the broker's own identity (its credentials, its permissions). Pure. */
export function refusesBroker(status: number | undefined): status is 401 | 403 {
  return status === 401 || status === 403;
}

/**
 * What the operator should fix when the API server answers `status`. A 401 means the broker's
 * credentials are not accepted (an expired or revoked projected token, a deleted ServiceAccount);
 * a 403 that its RBAC does not grant the call (deploy/kustomize/base/rbac.yaml). Pure.
 */
export function kubeRefusalHint(status: 401 | 403): string {
  return status === 401
    ? "the API server does not accept the broker's credentials: check its service-account token (projected token expired or revoked, ServiceAccount recreated) or kubernetes.kubeconfig"
    : "the broker's RBAC does not allow this call: restore the rule in its ClusterRole or Role (deploy/kustomize/base/rbac.yaml)";
}

/**
 * A failed call to the Kubernetes API. The message names the path and status, never a header or
 * body. Always retryable. A 401 or 403 is `BrokerNotAuthorized`: the broker's own identity was
 * refused, which is never a verdict on an upstream (the message says what to fix); anything else
 * is `InternalError`.
 */
export class KubeApiError extends CredbrokerError {
  constructor(
    message: string,
    /** HTTP status, or the `code` of a watch ERROR event; undefined for transport failures. */
    readonly status: number | undefined,
    options: { cause?: unknown } = {},
  ) {
    super(refusesBroker(status) ? "BrokerNotAuthorized" : "InternalError", refusesBroker(status) ? `${message}: ${kubeRefusalHint(status)}` : message, { ...options, retryable: true });
  }
}

export interface OpenedRequest {
  /** Resolves with the response head (any status); rejects on transport errors or abort. */
  readonly response: Promise<IncomingMessage>;
  /** Ends the request and its response stream; idempotent. */
  abort(reason: Error): void;
}

/**
 * Starts `GET <server><pathAndQuery>` with the current context's credentials, TLS settings and
 * proxy. client-node 2.0.1 has no public fetch-options hook and its Watch class cannot send a
 * custom Accept header, so we take its node:https options (agent with CA, client certificate or
 * proxy; auth headers from token, exec or OIDC plugins; PooledKubeConfig adds the broker's
 * User-Agent there) and make the request ourselves. Like
 * client-node, a plain-http server is refused unless the kubeconfig skips TLS verification.
 * I/O; throws KubeApiError when there is no current cluster.
 */
export async function openGet(kubeConfig: KubeConfig, pathAndQuery: string, accept: string): Promise<OpenedRequest> {
  const cluster = kubeConfig.getCurrentCluster();
  if (cluster === null) throw new KubeApiError("kubeconfig has no current cluster", undefined);
  const url = new URL(cluster.server.replace(/\/+$/, "") + pathAndQuery);
  const options: RequestOptions = { method: "GET", headers: {} };
  try {
    await kubeConfig.applyToHTTPSOptions(options);
  } catch (err) {
    throw new KubeApiError(`kubeconfig cannot be applied to ${url.origin}`, undefined, { cause: err });
  }
  options.headers = { ...options.headers, accept };
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  let req: ClientRequest | undefined;
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    req = send(url, options, resolve);
    req.on("error", (err) => reject(new KubeApiError(`GET ${url.pathname} failed`, undefined, { cause: err })));
    req.end();
  });
  // A request aborted before anyone awaits its response must not become an unhandled rejection.
  response.catch(() => undefined);
  return {
    response,
    abort: (reason) => {
      req?.destroy(reason);
    },
  };
}

/** Reads a whole response body as JSON. Rejects with KubeApiError on a non-2xx status or bad JSON. */
export async function readJson(res: IncomingMessage, what: string): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  const status = res.statusCode ?? 0;
  if (status < 200 || status >= 300) throw new KubeApiError(`${what}: HTTP ${status}`, status);
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new KubeApiError(`${what}: response is not JSON`, status, { cause: err });
  }
}
