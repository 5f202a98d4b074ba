// The Lease calls of leader election and shard membership, each with a deadline on our clock, and the MicroTime handling client-node gets wrong.
import { ApiException, CoordinationV1Api, V1MicroTime, type ConfigurationOptions, type KubeConfig, type V1Lease, type V1LeaseSpec } from "@kubernetes/client-node";
import type { Clock } from "../clock.js";
import { CredbrokerError } from "../../model/errors.js";
import { callOptions, kubeTimeout } from "../kube/call-options.js";

export type LeaseVerb = "get" | "list" | "create" | "update" | "release" | "delete";

export interface LeaseApiOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  clock: Clock;
  /** Deadline of one call when the caller gives none shorter. */
  requestTimeoutMs: number;
  /** `fieldManager` of the writes. */
  fieldManager: string;
}

/** The HTTP status of a Kubernetes API error, else undefined. Pure. */
export function statusOf(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

/** client-node deserialises MicroTime fields as strings (the type is not in its serializer's map), so accept both. Pure. */
export function microTimeMs(value: unknown): number | undefined {
  if (value instanceof Date) return value.getTime();
  if (typeof value !== "string") return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

/** V1MicroTime serialises with six fractional digits; a plain Date's three are rejected by the API server. Pure. */
export function microTime(ms: number): V1MicroTime {
  return new V1MicroTime(ms);
}

/** Carries acquireTime/renewTime over as V1MicroTime, since they were read back as strings. Pure. */
export function rewriteTimes(spec: V1LeaseSpec): V1LeaseSpec {
  const out: V1LeaseSpec = { ...spec };
  const acquired = microTimeMs(spec.acquireTime);
  const renewed = microTimeMs(spec.renewTime);
  if (acquired === undefined) delete out.acquireTime;
  else out.acquireTime = microTime(acquired);
  if (renewed === undefined) delete out.renewTime;
  else out.renewTime = microTime(renewed);
  return out;
}

/**
 * Leases of one namespace. Every call is bounded by requestTimeoutMs, cut to what is left before
 * an optional `deadline` (monotonic ms); writes send the same budget as the API server's `timeout`.
 * A call cut off rejects with a retryable CredbrokerError naming it; with no budget left it is not
 * sent. Other failures reject with client-node's ApiException. I/O.
 */
export class LeaseApi {
  private readonly api: CoordinationV1Api;

  constructor(private readonly o: LeaseApiOptions) {
    this.api = o.kubeConfig.makeApiClient(CoordinationV1Api);
  }

  get namespace(): string {
    return this.o.namespace;
  }

  /** The lease, or undefined when there is none (404). */
  async read(name: string, deadline?: number): Promise<V1Lease | undefined> {
    try {
      return await this.call("get", name, deadline, (options) => this.api.readNamespacedLease({ name, namespace: this.o.namespace }, options));
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  create(body: V1Lease, deadline?: number): Promise<V1Lease> {
    const name = body.metadata?.name ?? "";
    return this.call("create", name, deadline, (options) => this.api.createNamespacedLease({ namespace: this.o.namespace, body, fieldManager: this.o.fieldManager }, options));
  }

  /** A replace carrying body.metadata.resourceVersion: a concurrent writer makes it a 409. */
  replace(name: string, body: V1Lease, deadline?: number, verb: "update" | "release" = "update"): Promise<V1Lease> {
    return this.call(verb, name, deadline, (options) => this.api.replaceNamespacedLease({ name, namespace: this.o.namespace, body, fieldManager: this.o.fieldManager }, options));
  }

  /** Leases matching a label selector (one page: the few leases of one install). */
  async list(labelSelector: string, deadline?: number): Promise<V1Lease[]> {
    const list = await this.call("list", "", deadline, (options) => this.api.listNamespacedLease({ namespace: this.o.namespace, labelSelector }, options));
    return list.items;
  }

  /**
   * Deletes the lease, only if it is still at `resourceVersion` when one is given. Resolves false
   * when it was already gone (404) or has changed since (409).
   */
  async delete(name: string, resourceVersion?: string, deadline?: number): Promise<boolean> {
    try {
      await this.call("delete", name, deadline, (options) =>
        this.api.deleteNamespacedLease({ name, namespace: this.o.namespace, ...(resourceVersion === undefined ? {} : { body: { preconditions: { resourceVersion } } }) }, options),
      );
      return true;
    } catch (err) {
      const status = statusOf(err);
      if (status === 404 || status === 409) return false;
      throw err;
    }
  }

  private async call<T>(verb: LeaseVerb, name: string, deadline: number | undefined, send: (options: ConfigurationOptions) => Promise<T>): Promise<T> {
    const what = name === "" ? `${verb} leases ${this.o.namespace}` : `${verb} lease ${this.o.namespace}/${name}`;
    const left = deadline === undefined ? this.o.requestTimeoutMs : Math.floor(deadline - this.o.clock.monotonicNow());
    const timeoutMs = Math.min(this.o.requestTimeoutMs, left);
    if (timeoutMs <= 0) throw new CredbrokerError("InternalError", `kubernetes ${what} not sent: the attempt has used up its renew deadline`, { retryable: true });
    const controller = new AbortController();
    const timer = this.o.clock.setTimeout(() => controller.abort(kubeTimeout(what, timeoutMs)), timeoutMs);
    const reads = verb === "get" || verb === "list";
    try {
      return await send(callOptions({ signal: controller.signal, ...(reads ? {} : { serverTimeoutMs: timeoutMs }) }));
    } catch (err) {
      if (controller.signal.aborted && !(err instanceof ApiException)) throw kubeTimeout(what, timeoutMs);
      throw err;
    } finally {
      this.o.clock.clearTimeout(timer);
    }
  }
}
