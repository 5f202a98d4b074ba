// The broker's KubeConfig: API requests share keep-alive connections (client-node 2.0.1 builds a new undici Agent per request) and say who sends them (User-Agent).
import type { RequestOptions } from "node:https";
import {
  KubeConfig,
  ServerConfiguration,
  createConfiguration,
  setHeaderMiddleware,
  type ApiConstructor,
  type ApiType,
  type RequestContext,
} from "@kubernetes/client-node";

type Dispatcher = NonNullable<ReturnType<RequestContext["getDispatcher"]>>;

export interface PooledKubeConfigOptions {
  /** Sent as User-Agent on every request, e.g. `credbroker/0.1.0` (default `credbroker`). */
  userAgent?: string;
}

/** KubeConfig's own dispatcher factory: private in its typings, called for every API request. */
type DispatcherFactory = (cluster: unknown, agentOptions: unknown) => Dispatcher | undefined;

/**
 * client-node 2.0.1 creates a fresh undici Agent for every request, so each call to the API
 * server pays a new TCP and TLS handshake (measured: ~250 patches/s with it against ~2,800/s over a
 * keep-alive agent on the sandbox). This subclass builds the first Agent per cluster and user and
 * hands it to every later request without building another (an Agent built and closed per request
 * cost a cold start of 5,000 upstreams 0.34 s of CPU in the errors undici makes on close alone). The TLS settings of a
 * cluster/user pair do not change within a process (a rotated bearer token travels in a header,
 * not in the Agent), so sharing is safe.
 *
 * It also names the broker to the API server (audit logs, API priority and fairness, `kubectl
 * get --raw /metrics` by user agent): generated API clients, client-node's Watch, and the raw
 * requests of kube-request.ts (which take `applyToHTTPSOptions`) all send `userAgent`.
 */
export class PooledKubeConfig extends KubeConfig {
  private readonly dispatchers = new Map<string, Dispatcher>();
  readonly userAgent: string;

  constructor(options: PooledKubeConfigOptions = {}) {
    super();
    this.userAgent = options.userAgent ?? "credbroker";
    // createDispatcher is private in client-node's typings, so it is wrapped on the instance rather than overridden.
    const self = this as unknown as { createDispatcher: DispatcherFactory };
    const build = self.createDispatcher.bind(this);
    self.createDispatcher = (cluster, agentOptions) => {
      const key = this.poolKey();
      if (key === undefined) return build(cluster, agentOptions);
      const shared = this.dispatchers.get(key);
      if (shared !== undefined) return shared;
      const created = build(cluster, agentOptions);
      if (created !== undefined) this.dispatchers.set(key, created);
      return created;
    };
  }

  /**
   * The pool of the current cluster and user, or undefined when requests must not share one:
   * exec and auth-provider plugins may hand out short-lived client certificates per request, and a
   * shared Agent would keep using the first. In-cluster config's `tokenFile` provider only sets a
   * header (the rotated projected token), so it pools.
   */
  private poolKey(): string | undefined {
    const user = this.getCurrentUser();
    const provider = (user?.authProvider as { name?: unknown } | undefined)?.name;
    if (user?.exec !== undefined || (user?.authProvider !== undefined && provider !== "tokenFile")) return undefined;
    const cluster = this.getCurrentCluster();
    return JSON.stringify([cluster?.name, cluster?.server, user?.name]);
  }

  /**
   * As KubeConfig's, but the one static middleware sets our User-Agent instead of client-node's
   * (`kubernetes-client-javascript/<version>`), which would otherwise overwrite the header that
   * applySecurityAuthentication sets (middleware runs after authentication). Exactly one static
   * middleware on purpose: client-node reverses the static middleware array in place on calls
   * made without per-call options, so two could run in either order.
   */
  override makeApiClient<T extends ApiType>(apiClientType: ApiConstructor<T>): T {
    const cluster = this.getCurrentCluster();
    if (!cluster) throw new Error("No active cluster!");
    const config = createConfiguration({
      baseServer: new ServerConfiguration(cluster.server, {}),
      authMethods: { default: this },
      middleware: [setHeaderMiddleware("User-Agent", this.userAgent)],
    });
    return new apiClientType(config);
  }

  override async applyToHTTPSOptions(opts: Parameters<KubeConfig["applyToHTTPSOptions"]>[0]): Promise<void> {
    await super.applyToHTTPSOptions(opts);
    (opts as RequestOptions).headers = { ...(opts as RequestOptions).headers, "user-agent": this.userAgent };
  }

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    // For client-node's Watch and other helpers that send a bare RequestContext without middleware.
    context.setHeaderParam("User-Agent", this.userAgent);
  }

  /** Closes the shared connections (at shutdown). Idempotent. */
  async closeConnections(): Promise<void> {
    const all = [...this.dispatchers.values()];
    this.dispatchers.clear();
    await Promise.allSettled(all.map((d) => d.close()));
  }
}
