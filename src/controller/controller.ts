// The running controller: watches feed a keyed work queue; the shard leader reconciles; rotations and annotations requeue.
import type { KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { ANNOTATIONS, type DiscoveryMode, type SecretRefPolicy } from "../model/annotations.js";
import type { Condition } from "../model/conditions.js";
import { isObject, type JsonObject } from "../model/fields.js";
import { PUBLISHED_FUNCTIONS_ANNOTATION } from "../model/function-list.js";
import { readOwnStatus, type FunctionCounts, type StatusState, type VerifiedIdentity } from "../model/status.js";
import { canonicalJson } from "../model/text.js";
import { UPSTREAM_GROUP, UPSTREAM_PLURAL, UPSTREAM_VERSION } from "../model/upstream.js";
import type { Metrics } from "../observability/metrics.js";
import type { Clock } from "../runtime/clock.js";
import { CredbrokerError } from "../model/errors.js";
import type { UpstreamApi } from "./kube-upstreams.js";
import type { CloudPort, SecretPort } from "./ports.js";
import { reconcile, type ReconcileResult } from "./reconcile.js";
import { createShardedElector, shardOf, type ShardedElector } from "../runtime/leader/shards.js";
import { createWatchLoop, type WatchedObject, type WatchEventType, type WatchLoop } from "../runtime/kube/watch-loop.js";
import { WorkQueue, type Priority } from "../runtime/queue/work-queue.js";

export interface ControllerSettings {
  statusKey: string;
  heartbeatMs: number;
  maxFunctions: number;
  discoveryMode: DiscoveryMode;
  secretRefPolicy: SecretRefPolicy;
  allowAmbientCredentials: boolean;
  /** Namespaces to watch; empty for all. */
  namespaces: readonly string[];
  concurrency: number;
  ratePerSecond: number;
  verifyIntervalMs: number;
  backoffMinMs: number;
  backoffMaxMs: number;
  watchStallMs: number;
  /** A reconcile still running after this long is abandoned: it may no longer write, and the key is retried. */
  reconcileTimeoutMs: number;
  leader: {
    enabled: boolean;
    namespace: string;
    name: string;
    identity: string;
    leaseDurationMs: number;
    renewDeadlineMs: number;
    retryPeriodMs: number;
    shards: number;
  };
  /** Deadline of one Kubernetes request: a list page of the watches, a Lease call (capped by the renew deadline in the elector). */
  requestTimeoutMs: number;
}

export interface ControllerDeps {
  kubeConfig: KubeConfig;
  api: UpstreamApi;
  secrets: SecretPort;
  cloud: CloudPort;
  settings: ControllerSettings;
  logger: Logger;
  metrics: Metrics;
  clock: Clock;
  random: () => number;
}

/** What the broker knows of one upstream: for the HTTP interface and the demo. Never holds a secret. */
export interface UpstreamView {
  namespace: string;
  name: string;
  kind: string;
  state: StatusState | "Unverified";
  reason: string;
  conditions: Condition[];
  identity?: VerifiedIdentity;
  functions?: FunctionCounts;
  lastVerified?: string;
}

function splitKey(key: string): [string, string] {
  const slash = key.indexOf("/");
  return [key.slice(0, slash), key.slice(slash + 1)];
}

/**
 * Owns the watches, the queue, leader election and the reconcile loop. `start` returns once the
 * watches are running; `ready` says when they have synced. `stop` drains in-flight work,
 * releases leases and stops the watches. Does I/O throughout.
 */
export class Controller {
  private readonly objects = new Map<string, WatchedObject>();
  /** The parts of each upstream whose change warrants a reconcile (so our own writes do not requeue). */
  private readonly fingerprints = new Map<string, string>();
  private readonly reverifyTokens = new Map<string, string | undefined>();
  private readonly namespaceLabels = new Map<string, Record<string, string>>();
  private readonly forced = new Set<string>();
  /** Published state per upstream, for the credbroker_upstreams gauge without rescanning the fleet. */
  private readonly states = new Map<string, string>();
  private readonly watches: WatchLoop[] = [];
  private readonly queue: WorkQueue;
  private readonly elector: ShardedElector | undefined;
  private readonly unsubscribe: Array<() => void> = [];
  /** Reconciles whose run has not settled, timed-out ones included: the lease is released only once none is left. */
  private readonly running = new Set<Promise<unknown>>();
  private started = false;
  /** Set by stop(): a reconcile still running after the drain must not write (with or without a lease). */
  private stopping = false;
  private completed = 0;

  constructor(private readonly deps: ControllerDeps) {
    const { settings, metrics } = deps;
    this.queue = new WorkQueue({
      clock: deps.clock,
      random: deps.random,
      ratePerSecond: settings.ratePerSecond,
      backoff: { minMs: settings.backoffMinMs, maxMs: settings.backoffMaxMs },
      onEvent: () => {
        metrics.queueDepth.set(this.queue.readyDepth);
        metrics.queueInFlight.set(this.queue.inFlight);
      },
    });
    if (settings.leader.enabled) {
      this.elector = createShardedElector({
        kubeConfig: deps.kubeConfig,
        namespace: settings.leader.namespace,
        name: settings.leader.name,
        identity: settings.leader.identity,
        leaseDurationMs: settings.leader.leaseDurationMs,
        renewDeadlineMs: settings.leader.renewDeadlineMs,
        retryPeriodMs: settings.leader.retryPeriodMs,
        shards: settings.leader.shards,
        requestTimeoutMs: settings.requestTimeoutMs,
        clock: deps.clock,
        random: deps.random,
        logger: deps.logger,
        onStartedLeading: (shard) => {
          metrics.leader.set({ shard: String(shard) }, 1);
          deps.logger.info({ shard }, "leading shard: queueing its upstreams");
          for (const key of this.objects.keys()) if (shardOf(key, settings.leader.shards) === shard) this.queue.add(key, { priority: "new" });
        },
        onStoppedLeading: (shard) => {
          metrics.leader.set({ shard: String(shard) }, 0);
          deps.logger.warn({ shard }, "stopped leading shard");
          // Only the leader reports upstream states: a former leader's numbers would go stale and double-count.
          for (const key of [...this.states.keys()]) {
            if (shardOf(key, settings.leader.shards) !== shard) continue;
            this.setState(key, undefined);
            metrics.forgetUpstream(...splitKey(key));
          }
        },
      });
    }
  }

  /** True when this replica may write for `key`: it leads the key's shard (or election is off) and is not stopping. */
  owns(key: string): boolean {
    if (this.stopping) return false;
    return this.elector === undefined ? true : this.elector.owns(key);
  }

  /** Watches have listed everything once. */
  ready(): boolean {
    return this.started && this.watches.every((w) => w.synced);
  }

  isLeader(): boolean {
    return this.elector === undefined ? true : this.elector.ownedShards().length > 0;
  }

  /** Queues a key; `forced` bypasses caches and jumps the queue. Unknown keys are ignored (false). */
  enqueue(key: string, priority: Priority): boolean {
    if (!this.objects.has(key)) return false;
    if (priority === "forced") this.forced.add(key);
    this.queue.add(key, { priority });
    return true;
  }

  /** Work waiting (due now), running, and reconciles finished since start: for tests, the demo and the HTTP view. */
  progress(): { ready: number; inFlight: number; reconciled: number } {
    return { ready: this.queue.readyDepth, inFlight: this.queue.inFlight, reconciled: this.completed };
  }

  /** Keys of the upstreams the broker watches, optionally in one namespace. */
  keys(namespace?: string): string[] {
    const all = [...this.objects.keys()].sort();
    return namespace === undefined ? all : all.filter((k) => k.startsWith(`${namespace}/`));
  }

  /** The broker's view of one upstream (from the newest object it has seen), or undefined. */
  view(key: string): UpstreamView | undefined {
    const obj = this.objects.get(key);
    if (obj === undefined) return undefined;
    const spec = isObject(obj.spec) ? obj.spec : {};
    const kind = ["aws", "azure", "awsEc2"].find((k) => spec[k] !== undefined) ?? "other";
    const entry = readOwnStatus(obj, this.deps.settings.statusKey);
    const view: UpstreamView = {
      namespace: obj.metadata.namespace ?? "",
      name: obj.metadata.name,
      kind,
      state: entry?.state ?? "Unverified",
      reason: entry?.reason ?? "",
      conditions: entry?.details.conditions ?? [],
    };
    if (entry?.details.identity) view.identity = entry.details.identity;
    if (entry?.details.functions) view.functions = entry.details.functions;
    if (entry?.details.lastVerified !== undefined) view.lastVerified = entry.details.lastVerified;
    return view;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    const { settings, kubeConfig, clock, random, logger } = this.deps;
    const common = { kubeConfig, clock, random, backoff: { minMs: settings.backoffMinMs, maxMs: settings.backoffMaxMs }, stallTimeoutMs: settings.watchStallMs, requestTimeoutMs: settings.requestTimeoutMs, logger };
    const scopes = settings.namespaces.length === 0 ? [undefined] : settings.namespaces;
    for (const ns of scopes) {
      const prefix = ns === undefined ? "" : `/namespaces/${ns}`;
      this.watches.push(
        createWatchLoop({ ...common, path: `/apis/${UPSTREAM_GROUP}/${UPSTREAM_VERSION}${prefix}/${UPSTREAM_PLURAL}`, onEvent: (t, o) => this.onUpstream(t, o), onSynced: () => logger.info({ namespace: ns ?? "*" }, "upstreams synced") }),
      );
    }
    // Upstreams may reference Secrets outside the watched namespaces unless the policy forbids it:
    // the metadata-only Secret watch must cover every namespace a referenced Secret can live in.
    const secretScopes = settings.secretRefPolicy === "same-namespace" ? scopes : [undefined];
    for (const ns of secretScopes) {
      const prefix = ns === undefined ? "" : `/namespaces/${ns}`;
      this.watches.push(createWatchLoop({ ...common, path: `/api/v1${prefix}/secrets`, metadataOnly: true, onEvent: (t, o) => this.deps.secrets.secretEvent(t, o.metadata), onSynced: () => undefined }));
    }
    // Reconciles wait for the namespace labels: Gloo's discovery label may sit on a namespace.
    this.watches.push(
      createWatchLoop({
        ...common,
        path: "/api/v1/namespaces",
        metadataOnly: true,
        onEvent: (t, o) => this.onNamespace(t, o),
        onSynced: () => this.queue.run((key) => this.work(key), settings.concurrency),
      }),
    );
    this.unsubscribe.push(
      this.deps.secrets.onRotation((keys) => {
        logger.info({ upstreams: keys.length }, "secret rotated: requeueing the upstreams that use it");
        for (const key of keys) this.queue.add(key, { priority: "routine" });
      }),
    );
    for (const w of this.watches) w.start();
    this.elector?.start();
  }

  /**
   * Stops taking work, waits for in-flight reconciles (up to `drainTimeoutMs`), gives up the
   * leases (unless `release` is false: then they expire, as after a crash), stops the watches.
   */
  async stop(options: { drainTimeoutMs?: number; release?: boolean } = {}): Promise<void> {
    if (!this.started) return;
    this.started = false;
    const abandoned = await this.queue.shutdown({ drainTimeoutMs: options.drainTimeoutMs ?? 10_000 });
    this.stopping = true;
    if (abandoned.length > 0) this.deps.logger.warn({ abandoned: abandoned.length }, "reconciles abandoned at shutdown");
    // A write already on the wire may still land. Releasing the lease now would let another replica
    // write at the same time, so with anything still running the lease is left to expire instead.
    const unsettled = this.running.size;
    if (options.release === false || unsettled > 0) {
      if (unsettled > 0 && options.release !== false) this.deps.logger.warn({ unsettled }, "requests still in flight at shutdown: leaving the lease to expire instead of releasing it");
      await this.elector?.stop();
    } else await this.elector?.release();
    for (const off of this.unsubscribe.splice(0)) off();
    await Promise.all(this.watches.map((w) => w.stop()));
  }

  /**
   * The parts of an upstream whose change warrants a reconcile. What credbroker itself writes (the
   * function lists, its annotation, status, generation bumps they cause) is left out, so our own
   * writes never requeue the upstream; the reverify token is tracked separately.
   */
  private relevantFingerprint(obj: WatchedObject): string {
    const annotations = isObject(obj.metadata.annotations) ? { ...obj.metadata.annotations } : {};
    delete annotations[PUBLISHED_FUNCTIONS_ANNOTATION];
    delete annotations[ANNOTATIONS.reverify];
    const spec = isObject(obj.spec) ? structuredClone(obj.spec) : {};
    if (isObject(spec.aws)) delete spec.aws.lambdaFunctions;
    if (isObject(spec.azure)) delete spec.azure.functions;
    return canonicalJson({ spec, labels: obj.metadata.labels, annotations });
  }

  private onUpstream(type: WatchEventType, obj: WatchedObject): void {
    const key = `${obj.metadata.namespace ?? ""}/${obj.metadata.name}`;
    if (type === "deleted") {
      this.objects.delete(key);
      this.fingerprints.delete(key);
      this.reverifyTokens.delete(key);
      this.forced.delete(key);
      this.queue.forget(key);
      this.deps.secrets.forget(key);
      this.deps.metrics.forgetUpstream(obj.metadata.namespace ?? "", obj.metadata.name);
      this.setState(key, undefined);
      return;
    }
    this.objects.set(key, obj);
    const fingerprint = this.relevantFingerprint(obj);
    const annotations = isObject(obj.metadata.annotations) ? obj.metadata.annotations : {};
    const rawToken = annotations[ANNOTATIONS.reverify];
    const token = typeof rawToken === "string" ? rawToken : undefined;
    const known = this.fingerprints.has(key);
    const tokenChanged = known && this.reverifyTokens.get(key) !== token;
    const changed = this.fingerprints.get(key) !== fingerprint;
    this.fingerprints.set(key, fingerprint);
    this.reverifyTokens.set(key, token);
    if (tokenChanged) this.enqueue(key, "forced");
    else if (!known) this.queue.add(key, { priority: readOwnStatus(obj, this.deps.settings.statusKey) === undefined ? "new" : "routine" });
    else if (changed) this.queue.add(key, { priority: "routine" });
  }

  private onNamespace(type: WatchEventType, obj: WatchedObject): void {
    const ns = obj.metadata.name;
    const labels = type === "deleted" ? {} : isObject(obj.metadata.labels) ? (obj.metadata.labels as Record<string, string>) : {};
    const before = this.namespaceLabels.get(ns);
    if (type === "deleted") this.namespaceLabels.delete(ns);
    else this.namespaceLabels.set(ns, labels);
    // Gloo's discovery label may sit on the namespace: a change there concerns every upstream in it.
    if (before !== undefined && canonicalJson(before) !== canonicalJson(labels)) {
      for (const key of this.keys(ns)) this.queue.add(key, { priority: "routine" });
    }
  }

  private async work(key: string): Promise<void> {
    // Not ours (now): dropped. Whenever this replica starts leading the key's shard again, even after
    // a lapse of a moment, onStartedLeading queues every key of the shard, so nothing is lost; a
    // pending forced re-verification stays marked for that run.
    if (!this.owns(key)) return;
    const fresh = this.forced.delete(key);
    const started = this.deps.clock.now();
    this.deps.secrets.forget(key);
    const result = await this.reconcileWithDeadline(key, fresh);
    this.completed++;
    const seconds = (this.deps.clock.now() - started) / 1000;
    const { metrics, settings } = this.deps;
    // Deleted meanwhile, or no longer ours: its series belong to nobody (or to the new leader).
    const current = this.objects.has(key) && this.owns(key);
    switch (result.kind) {
      case "gone":
        metrics.reconciles.inc({ outcome: "gone", reason: "" });
        this.queue.forget(key);
        return;
      case "skipped":
        metrics.reconciles.inc({ outcome: "skipped", reason: "" });
        metrics.forgetUpstream(...splitKey(key));
        this.setState(key, undefined);
        this.queue.succeeded(key);
        return;
      case "superseded":
        // The spec changed while the verdict was computed: evaluate the new spec, after the per-key
        // backoff, so an editor who never stops cannot make a hot loop. A forced pass already made
        // its fresh cloud calls, and their results are in the shared caches: the next pass is routine.
        metrics.reconciles.inc({ outcome: "superseded", reason: "" });
        this.rememberWritten(key, result.object);
        this.queue.retry(key);
        return;
      case "failed":
        metrics.reconciles.inc({ outcome: "failed", reason: result.error.reason });
        metrics.reconcileSeconds.observe({ outcome: "failed" }, seconds);
        this.queue.retry(key);
        return;
      case "published": {
        this.rememberWritten(key, result.object);
        const reason = this.view(key)?.conditions.find((c) => c.status !== "True")?.reason ?? "Verified";
        if (current) metrics.setUpstreamState(...splitKey(key), result.state, reason);
        metrics.reconciles.inc({ outcome: "published", reason });
        metrics.reconcileSeconds.observe({ outcome: "published" }, seconds);
        if (result.transient) this.queue.retry(key);
        else {
          this.queue.succeeded(key);
          this.queue.schedulePeriodic(key, settings.verifyIntervalMs);
        }
        if (current) this.setState(key, result.state);
        return;
      }
    }
  }

  /**
   * Runs one reconcile with a deadline. At the deadline it is abandoned: it may no longer write
   * (a write already sent ends at its own request deadline) and the key is retried with backoff.
   * Its work on the clouds goes on and lands in the shared caches, so the retry is cheap.
   */
  private async reconcileWithDeadline(key: string, fresh: boolean): Promise<ReconcileResult> {
    const { clock, settings } = this.deps;
    let expired = false;
    const run = reconcile(this.objects.get(key), fresh, {
      api: this.deps.api,
      secrets: this.deps.secrets,
      cloud: this.deps.cloud,
      settings: { ...settings, reportedBy: "credbroker" },
      canWrite: () => !expired && this.owns(key),
      namespaceLabels: (ns) => this.namespaceLabels.get(ns) ?? {},
      logger: this.deps.logger,
      onWrite: (kind, outcome) => this.deps.metrics.writes.inc({ kind, result: outcome }),
    });
    this.running.add(run);
    const settled = (): void => void this.running.delete(run);
    run.then(settled, settled);
    const timer = clock.setTimeout(() => {
      expired = true;
      this.deps.logger.warn({ upstream: key, timeoutMs: settings.reconcileTimeoutMs }, "reconcile timed out; abandoned, will retry");
    }, settings.reconcileTimeoutMs);
    // The run is awaited even past its deadline, so the key stays in flight (one run per key) until
    // its last request has ended at its own deadline; from the deadline on it may no longer write.
    const result = await run;
    clock.clearTimeout(timer);
    if (!expired) return result;
    return { kind: "failed", error: new CredbrokerError("Timeout", `reconcile of ${key} did not finish within ${settings.reconcileTimeoutMs} ms`, { retryable: true }) };
  }

  /** Keeps the object our own patch returned if it is newer than what the watch delivered so far. */
  private rememberWritten(key: string, obj: JsonObject): void {
    const current = this.objects.get(key);
    const meta = isObject(obj.metadata) ? obj.metadata : undefined;
    if (current === undefined || meta === undefined) return;
    const newer = Number(meta.resourceVersion) > Number(current.metadata.resourceVersion);
    if (!newer) return;
    // Like the watches: managedFields are never kept in memory.
    const { managedFields: _managedFields, ...rest } = meta;
    this.objects.set(key, { ...obj, metadata: rest } as WatchedObject);
  }

  private setState(key: string, state: string | undefined): void {
    const before = this.states.get(key);
    if (before === state) return;
    const gauge = this.deps.metrics.upstreamsByState;
    if (before !== undefined) gauge.dec({ state: before });
    if (state === undefined) this.states.delete(key);
    else {
      this.states.set(key, state);
      gauge.inc({ state });
    }
  }

}
