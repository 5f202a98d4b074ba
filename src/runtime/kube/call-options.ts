// Per-call options for client-node's generated API clients: the abort signal that bounds a request, the API server's own `timeout`, a Content-Type override.
import { Observable, type ConfigurationOptions, type RequestContext } from "@kubernetes/client-node";
import { CredbrokerError, DependencyCallError } from "../../model/errors.js";

/** The API server's `timeout` query parameter in Go duration syntax (`10s`, `300ms`). Pure. */
export function apiServerTimeout(ms: number): string {
  const whole = Math.max(1, Math.ceil(ms));
  return whole % 1000 === 0 ? `${whole / 1000}s` : `${whole}ms`;
}

export interface CallOptions {
  /** Aborts the request (connection, response head and body). */
  signal: AbortSignal;
  /**
   * Sent as `?timeout=`, so the API server abandons a write it cannot finish in time instead of
   * completing it after we have given up (apiserver's request-deadline filter and write handlers).
   */
  serverTimeoutMs?: number;
  /** Replaces the Content-Type client-node picks (it defaults patches to JSON patch). */
  contentType?: string;
}

/**
 * ConfigurationOptions for one generated client-node call. client-node 2.0.1 has no timeout
 * setting, but the fetch it makes passes the RequestContext's signal on (gen/http/isomorphic-fetch.js
 * `signal: request.getSignal()`; set with `RequestContext.setSignal`, gen/http/http.js), and a
 * middleware's `pre` runs after the request is built and authenticated, just before it is sent.
 * Appended, so client-node's static middleware (the User-Agent) still runs. Pure.
 */
export function callOptions(o: CallOptions): ConfigurationOptions {
  const pre = (ctx: RequestContext): Observable<RequestContext> => {
    ctx.setSignal(o.signal);
    if (o.serverTimeoutMs !== undefined) ctx.setQueryParam("timeout", apiServerTimeout(o.serverTimeoutMs));
    if (o.contentType !== undefined) ctx.setHeaderParam("Content-Type", o.contentType);
    return new Observable(Promise.resolve(ctx));
  };
  return {
    middleware: [{ pre, post: (res) => new Observable(Promise.resolve(res)) }],
    middlewareMergeStrategy: "append",
  };
}

/**
 * The retryable error for a Kubernetes call cut off by its deadline. The message names the call and
 * the deadline (`kubernetes patch upstream ns/name timed out after 10000 ms`); the cause carries no
 * header or body.
 */
export function kubeTimeout(call: string, timeoutMs: number): CredbrokerError {
  return new CredbrokerError("InternalError", `kubernetes ${call} timed out after ${timeoutMs} ms`, {
    cause: new DependencyCallError("Kubernetes", undefined, "timeout"),
    retryable: true,
  });
}
