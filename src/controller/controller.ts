// The running controller: watches feed the upstream index, triggers put keys on the work queue, the shard leader reconciles.
import type { KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { CallPolicy, ProviderRegistry } from "../cloud/registry.js";
import type { DiscoveryMode, SecretRefPolicy } from "../model/annotations.js";
import type { Condition } from "../model/conditions.js";
import { CredbrokerError } from "../model/errors.js";
import { isObject, type JsonObject } from "../model/fields.js";
import { readOwnStatus, type FunctionCounts, type StatusState, type VerifiedIdentity } from "../model/status.js";
import { CLOUD_UPSTREAM_KINDS, type UpstreamKind, UPSTREAM_GROUP, UPSTREAM_PLURAL, UPSTREAM_VERSION } from "../model/upstream.js";
import type { Metrics } from "../observability/metrics.js";
import type { Clock } from "../runtime/clock.js";
import { createWatchLoop, type WatchedObject, type WatchEventType, type WatchLoop } from "../runtime/kube/watch-loop.js";
import { createShardedElector, shardOf, type ShardedElector } from "../runtime/leader/shards.js";
import { keyFraction, resumeDelayMs } from "../runtime/pacing/resume.js";
import { DEFAULT_PERIODIC_JITTER, WorkQueue, type Priority } from "../runtime/queue/work-queue.js";
import type { UpstreamApi } from "./kube-upstreams.js";
import { reconcile, type ReconcileResult } from "./reconcile.js";
import type { SecretPort } from "./secret-port.js";
import { followUp, leftAlone, OUTSIDE, referencedSecrets, RESUMES, resumeOf, SETTLE_MS, SETTLES, TRIGGERS, type Trigger } from "./triggers.js";
import { UpstreamIndex } from "./upstream-index.js";
import { UpstreamStates } from "./upstream-states.js";
import { ReverifyRequests, type ReverifyOutcome } from "./reverify-requests.js";
import { matchesLabels, type LabelSelector } from "../model/label-selector.js";
import { ANNOTATIONS } from "../model/annotations.js";
import { labelsOf } from "../model/object-meta.js";

export interface ControllerSettings {
  statusKey: string;
  heartbeatMs: number;
  maxFunctions: number;
  discoveryMode: DiscoveryMode;
  secretRefPolicy: SecretRefPolicy;
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
    /** Most shards this replica leads (0 or unset: its fair share); see ShardedElectorOptions.maxShards. */
    maxShards?: number | undefined;
  };
  /** Deadline of one Kubernetes request: a list page of the watches, a Lease call (capped by the renew deadline in the elector). */
  requestTimeoutMs: number;
  /** The settle window of edits to one upstream or namespace: at most one reconcile they cause per window (SETTLE_MS by default). */
  changeSettleMs?: number;
  /** Re-verifications asked for over HTTP that may be queued or handed off at once (default 5,000). */
  maxQueuedReverify?: number;
}

/** Which upstreams a request means: all of them, one namespace, one upstream, optionally narrowed by labels. */
export interface UpstreamSelection {
  namespace?: string | undefined;
  name?: string | undefined;
  labels?: LabelSelector | undefined;
}

export interface ControllerDeps {
  kubeConfig: KubeConfig;
  api: UpstreamApi;
  secrets: SecretPort;
  providers: ProviderRegistry;
  settings: ControllerSettings;
  logger: Logger;
  metrics: Metrics;
  clock: Clock;
  random: () => number;
  /** How a watch is made; default the runtime's list-then-watch loop. Unit tests pass loops they drive by hand. */
  createWatch?: typeof createWatchLoop;
  /** How the sharded elector is made (with leader.enabled); default the Lease elector. Unit tests pass one they drive by hand. */
  createElector?: typeof createShardedElector;
}

/** What the broker knows of one upstream: for the HTTP interface and the demo. Never holds a secret. */
export interface UpstreamView {
  namespace: string;
  name: string;
  kind: UpstreamKind | "other";
  state: StatusState | "Unverified";
  reason: string;
  conditions: Condition[];
  identity?: VerifiedIdentity;
  functions?: FunctionCounts;
  lastVerified?: string;
}

const ANSWER_LABELS = { queued: "queued", joined: "joined", handedOff: "handed_off", joinedHandOff: "joined_hand_off" } as const;

function cloudKindOf(obj: JsonObject): UpstreamView["kind"] {
  const spec = isObject(obj.spec) ? obj.spec : {};
  return CLOUD_UPSTREAM_KINDS.find((k) => spec[k] !== undefined && spec[k] !== null) ?? "other";
}

function splitKey(key: string): [string, string] {
  const slash = key.indexOf("/");
  return [key.slice(0, slash), key.slice(slash + 1)];
}

/**
 * Owns the watches, the queue, leader election and the reconcile loop. `start` returns once the
 * watches are running; `ready` says when they have synced. `stop` drains in-flight work,
 * releases leases and stops the watches. Does I/O throughout. Every enqueue goes through
 * `trigger` with a name from TRIGGERS; every reconcile's follow-up comes from `followUp`.
 */
export class Controller {
  private readonly index: UpstreamIndex;
  /** Keys with a forced re-verification pending: the next run bypasses every cache. */
  private readonly forced = new Set<string>();
  /** Keys an OUTSIDE trigger touched since their last run here began, with its priority: never resumed, run at once. */
  private readonly unseen = new Map<string, Priority>();
  /** When each Secret (`namespace/name`) last changed as its watch saw it, oldest first; pruned by secretChanged. */
  private readonly secretChanges = new Map<string, number>();
  /** When each key's last edit-caused reconcile was due (settleDelay); dropped with the upstream. */
  private readonly settled = new Map<string, number>();
  private readonly states: UpstreamStates;
  private readonly reverifies: ReverifyRequests<UpstreamView>;
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
    this.index = new UpstreamIndex(settings.statusKey, deps.providers.functionLists());
    this.states = new UpstreamStates(metrics.upstreamsByState);
    this.reverifies = new ReverifyRequests<UpstreamView>({
      clock: deps.clock,
      random: deps.random,
      owns: (key) => this.owns(key),
      queueForced: (key) => this.trigger("reverifyRequested", [key]),
      annotate: async (key, token) => {
        const [namespace, name] = splitKey(key);
        const answer = await deps.api.mergePatch(namespace, name, { metadata: { annotations: { [ANNOTATIONS.reverify]: token } } });
        return answer.kind === "patched" ? answer.object : undefined;
      },
      view: (key) => this.view(key),
      maxQueued: settings.maxQueuedReverify ?? 5_000,
      statusKey: settings.statusKey,
      onAnswer: (answer) => metrics.reverifyRequests.inc({ answer: ANSWER_LABELS[answer] }),
      onDepth: (depth) => metrics.reverifyQueued.set(depth),
    });
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
      this.elector = (deps.createElector ?? createShardedElector)({
        kubeConfig: deps.kubeConfig,
        namespace: settings.leader.namespace,
        name: settings.leader.name,
        identity: settings.leader.identity,
        leaseDurationMs: settings.leader.leaseDurationMs,
        renewDeadlineMs: settings.leader.renewDeadlineMs,
        retryPeriodMs: settings.leader.retryPeriodMs,
        shards: settings.leader.shards,
        maxShards: settings.leader.maxShards,
        requestTimeoutMs: settings.requestTimeoutMs,
        clock: deps.clock,
        random: deps.random,
        logger: deps.logger,
        onStartedLeading: (shard) => {
          metrics.leader.set({ shard: String(shard) }, 1);
          deps.logger.info({ shard }, "leading shard: queueing its upstreams");
          this.trigger("shardAcquired", this.index.keys().filter((key) => shardOf(key, settings.leader.shards) === shard));
        },
        onStoppedLeading: (shard) => {
          metrics.leader.set({ shard: String(shard) }, 0);
          deps.logger.warn({ shard }, "stopped leading shard");
          // Only the leader reports upstream states: a former leader's numbers would go stale and double-count.
          for (const key of this.states.keys()) if (shardOf(key, settings.leader.shards) === shard) this.forgetSeries(key);
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

  /** Asks for a re-verification of `key` now (bypassing caches). Unknown keys are ignored (false). */
  reverify(key: string): boolean {
    if (!this.index.has(key)) return false;
    this.trigger("reverifyRequested", [key]);
    return true;
  }

  /**
   * Keys of the cloud upstreams (aws, azure, awsEc2) a selection means, sorted. Other upstream
   * types are watched but never verified, so no selection includes them.
   */
  select(selection: UpstreamSelection): string[] {
    const { namespace, name, labels } = selection;
    const keys = name !== undefined && namespace !== undefined ? (this.index.has(`${namespace}/${name}`) ? [`${namespace}/${name}`] : []) : this.index.keys(namespace);
    return keys.filter((key) => {
      const obj = this.index.get(key);
      if (obj === undefined || cloudKindOf(obj) === "other") return false;
      return labels === undefined || matchesLabels(labels, labelsOf(obj));
    });
  }

  /**
   * Re-verifies `keys` now, bypassing the shared caches: queued ahead of routine work where this
   * replica leads the key's shard, handed to the leader (the reverify annotation) elsewhere; a key
   * already asked for joins that request. With `wait`, resolves once each has a newly published
   * verdict, or at `timeoutMs`. Throws ReverifyQueueFullError past the cap (nothing queued).
   */
  requestReverify(keys: readonly string[], options: { wait: boolean; timeoutMs: number }): Promise<ReverifyOutcome<UpstreamView>> {
    return this.reverifies.request(keys, options);
  }

  /** Work waiting (due now), running, and reconciles finished since start: for tests, the demo and the HTTP view. */
  progress(): { ready: number; inFlight: number; reconciled: number } {
    return { ready: this.queue.readyDepth, inFlight: this.queue.inFlight, reconciled: this.completed };
  }

  /** Keys of the upstreams the broker watches, optionally in one namespace. */
  keys(namespace?: string): string[] {
    return this.index.keys(namespace);
  }

  /** The broker's view of one upstream (from the newest object it has seen), or undefined. */
  view(key: string): UpstreamView | undefined {
    const obj = this.index.get(key);
    if (obj === undefined) return undefined;
    const kind = cloudKindOf(obj);
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
    const { settings, kubeConfig, clock, random, logger, metrics } = this.deps;
    const common = { kubeConfig, clock, random, backoff: { minMs: settings.backoffMinMs, maxMs: settings.backoffMaxMs }, stallTimeoutMs: settings.watchStallMs, requestTimeoutMs: settings.requestTimeoutMs, logger };
    const createWatch = this.deps.createWatch ?? createWatchLoop;
    const restarts = (resource: string) => (cause: string) => metrics.watchRestarts.inc({ resource, cause });
    const scopes = settings.namespaces.length === 0 ? [undefined] : settings.namespaces;
    for (const ns of scopes) {
      const prefix = ns === undefined ? "" : `/namespaces/${ns}`;
      this.watches.push(
        createWatch({
          ...common,
          path: `/apis/${UPSTREAM_GROUP}/${UPSTREAM_VERSION}${prefix}/${UPSTREAM_PLURAL}`,
          onEvent: (t, o) => this.onUpstream(t, o),
          onSynced: () => logger.info({ namespace: ns ?? "*" }, "upstreams synced"),
          onRestart: restarts("upstreams"),
        }),
      );
    }
    // Upstreams may reference Secrets outside the watched namespaces unless the policy forbids it:
    // the metadata-only Secret watch must cover every namespace a referenced Secret can live in.
    const secretScopes = settings.secretRefPolicy === "same-namespace" ? scopes : [undefined];
    for (const ns of secretScopes) {
      const prefix = ns === undefined ? "" : `/namespaces/${ns}`;
      const onEvent = (t: WatchEventType, o: WatchedObject): void => {
        this.deps.secrets.secretEvent(t, o.metadata);
        // The first list's "added" events are what exists, not changes; a later one is a Secret created.
        if (t !== "added" || loop.synced) this.secretChanged(o.metadata);
      };
      const loop: WatchLoop = createWatch({ ...common, path: `/api/v1${prefix}/secrets`, metadataOnly: true, onEvent, onSynced: () => undefined, onRestart: restarts("secrets") });
      this.watches.push(loop);
    }
    // Reconciles wait for the namespace labels: Gloo's discovery label may sit on a namespace.
    this.watches.push(
      createWatch({
        ...common,
        path: "/api/v1/namespaces",
        metadataOnly: true,
        onEvent: (t, o) => this.trigger("namespaceLabelsChanged", this.index.namespaceEvent(t, o)),
        onSynced: () => this.queue.run((key) => this.work(key), settings.concurrency),
        onRestart: restarts("namespaces"),
      }),
    );
    this.unsubscribe.push(
      this.deps.secrets.onRotation((keys) => {
        logger.info({ upstreams: keys.length }, "secret rotated: requeueing the upstreams that use it");
        this.trigger("secretRotated", keys);
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

  /** Puts `keys` on the queue for `trigger`, with the trigger's priority (TRIGGERS), or resumes them (RESUMES). */
  private trigger(trigger: Trigger, keys: readonly string[]): void {
    const resumes = RESUMES.has(trigger);
    const settles = SETTLES.has(trigger);
    const outside = OUTSIDE.has(trigger);
    const firstSight = resumes || trigger === "upstreamNew";
    for (const key of keys) {
      if (firstSight && leftAlone(this.index.get(key), this.deps.settings.statusKey)) continue;
      const priority = resumes ? this.resume(trigger, key) : TRIGGERS[trigger];
      if (priority === undefined) continue;
      if (outside) this.unseen.set(key, priority);
      if (priority === "forced") this.forced.add(key);
      this.queue.add(key, { priority, delayMs: settles ? this.settleDelay(key) : 0 });
    }
  }

  /**
   * Schedules a key seen at startup or takeover from its stored lastVerified, on the periodic
   * budget (see RESUMES), and answers undefined; or answers the priority it runs at now (resumeOf).
   */
  private resume(trigger: Trigger, key: string): Priority | undefined {
    // Before this replica leads the key's shard its run would only be dropped: shardAcquired resumes it then.
    if (trigger === "upstreamKnown" && !this.owns(key)) return undefined;
    const { settings, clock } = this.deps;
    const unseen = this.unseen.get(key);
    if (unseen !== undefined) return unseen;
    const object = this.index.get(key);
    const resume = resumeOf(object, settings.statusKey, TRIGGERS[trigger]);
    if (resume.action === "now") return resume.priority;
    if (object !== undefined && this.secretChanges.size > 0) {
      const changed = referencedSecrets(object, this.deps.providers).some((ref) => (this.secretChanges.get(ref) ?? -Infinity) >= resume.lastVerifiedMs);
      if (changed) return TRIGGERS.secretRotated;
    }
    const intervalMs = settings.verifyIntervalMs;
    const delayMs = resumeDelayMs({ lastMs: resume.lastVerifiedMs, nowMs: clock.now(), intervalMs, jitter: DEFAULT_PERIODIC_JITTER, fraction: keyFraction(key) });
    this.queue.schedulePeriodic(key, intervalMs, { delayMs });
    return undefined;
  }

  /**
   * Records that a Secret changed now. Entries older than two intervals and two heartbeats are
   * dropped: by then a leader has re-verified and re-stamped every key that uses it, and a key
   * whose lastVerified is older still is overdue and runs within one interval of a takeover anyway.
   */
  private secretChanged(metadata: WatchedObject["metadata"]): void {
    const now = this.deps.clock.now();
    const ref = `${metadata.namespace ?? ""}/${metadata.name}`;
    this.secretChanges.delete(ref);
    this.secretChanges.set(ref, now);
    const horizon = now - 2 * (this.deps.settings.verifyIntervalMs + this.deps.settings.heartbeatMs);
    for (const [oldest, at] of this.secretChanges) {
      if (at >= horizon) break;
      this.secretChanges.delete(oldest);
    }
  }

  /**
   * How long an edit of `key` waits: not at all when the key's last edit-caused run was due a
   * settle window ago or more, else until one window after it. A single edit is reconciled at once;
   * a burst gets one reconcile per window, the last reading the object as the burst left it.
   */
  private settleDelay(key: string): number {
    const window = this.deps.settings.changeSettleMs ?? SETTLE_MS;
    const now = this.deps.clock.now();
    const last = this.settled.get(key);
    const due = last === undefined || now - last >= window ? now : last + window;
    this.settled.set(key, due);
    return due - now;
  }

  private onUpstream(type: WatchEventType, obj: WatchedObject): void {
    if (type === "deleted") {
      const key = this.index.remove(obj);
      this.forced.delete(key);
      this.unseen.delete(key);
      this.settled.delete(key);
      this.queue.remove(key);
      this.deps.secrets.untrack(key);
      this.forgetSeries(key);
      this.reverifies.upstreamGone(key);
      return;
    }
    const { key, trigger } = this.index.upsert(obj);
    if (trigger !== undefined) this.trigger(trigger, [key]);
    this.reverifies.upstreamSeen(key, obj);
  }

  private async work(key: string): Promise<void> {
    // Not ours (now): dropped. Whenever this replica starts leading the key's shard again, even after
    // a lapse of a moment, shardAcquired resumes every key of the shard, and what this run was for
    // (a change, an unanswered reverify, an outside trigger kept in `unseen`) runs at once then; a
    // pending forced re-verification stays marked for that run.
    if (!this.owns(key)) {
      this.reverifies.notOwned(key);
      return;
    }
    this.reverifies.runStarted(key);
    this.unseen.delete(key);
    const fresh = this.forced.delete(key);
    const started = this.deps.clock.now();
    // The pass records anew which secrets the upstream uses.
    this.deps.secrets.untrack(key);
    const answers = { shared: 0, own: 0 };
    const result = await this.reconcileWithDeadline(key, { fresh, onAnswer: (shared) => void (shared ? answers.shared++ : answers.own++) });
    this.completed++;
    if (result.kind === "published" || result.kind === "superseded") this.index.rememberWritten(key, result.object);
    this.record(key, result, (this.deps.clock.now() - started) / 1000);
    this.reverifies.runFinished(key, result);
    const next = followUp(result, this.deps.settings.verifyIntervalMs);
    // The rate limit paces calls to the clouds: a pass answered wholly from shared results spent
    // none, so its start token goes back (a cold start then costs what its distinct credentials
    // cost, not one token per upstream). Retries keep theirs, whatever they spent.
    if (answers.shared > 0 && answers.own === 0 && next.action !== "retry") this.queue.refund(key);
    switch (next.action) {
      case "remove":
        this.queue.remove(key);
        return;
      case "done":
        this.queue.succeeded(key);
        return;
      case "none":
        return;
      case "retry":
        // A forced pass that met a passing fault got no answer yet: its retries stay fresh, or the
        // shared cache would answer with the result the person asked to have checked again.
        if (fresh) this.forced.add(key);
        this.queue.retry(key, next.notBeforeMs === undefined ? {} : { notBeforeMs: next.notBeforeMs });
        return;
      case "periodic":
        this.queue.succeeded(key);
        this.queue.schedulePeriodic(key, next.afterMs);
        return;
      default:
        next satisfies never;
    }
  }

  /** The metrics of one reconcile: reconcile_total{outcome, reason}, its duration, and the upstream's own series. */
  private record(key: string, result: ReconcileResult, seconds: number): void {
    const { metrics } = this.deps;
    switch (result.kind) {
      case "gone":
      case "superseded":
      case "handedOver":
        metrics.reconciles.inc({ outcome: result.kind, reason: "" });
        return;
      case "skipped":
        metrics.reconciles.inc({ outcome: "skipped", reason: "" });
        this.forgetSeries(key);
        return;
      case "failed":
        metrics.reconciles.inc({ outcome: "failed", reason: result.error.reason });
        metrics.reconcileSeconds.observe({ outcome: "failed" }, seconds);
        return;
      case "published": {
        const outcome = result.wrote ? "written" : "unchanged";
        const reason = result.conditionReason;
        metrics.reconciles.inc({ outcome, reason });
        metrics.reconcileSeconds.observe({ outcome }, seconds);
        // Deleted meanwhile, or no longer ours: its series belong to nobody (or to the new leader).
        if (this.index.has(key) && this.owns(key)) {
          metrics.setUpstreamState(...splitKey(key), result.state, reason);
          this.states.set(key, result.state);
        }
        return;
      }
      default:
        result satisfies never;
    }
  }

  /** Drops the upstream's per-object series and its count in the state gauge. */
  private forgetSeries(key: string): void {
    this.deps.metrics.forgetUpstream(...splitKey(key));
    this.states.set(key, undefined);
  }

  /**
   * Runs one reconcile with a deadline. At the deadline it is abandoned: it may no longer write
   * (a write already sent ends at its own request deadline) and the key is retried with backoff.
   * Its work on the clouds goes on and lands in the shared caches, so the retry is cheap.
   */
  private async reconcileWithDeadline(key: string, policy: CallPolicy): Promise<ReconcileResult> {
    const { clock, settings } = this.deps;
    let expired = false;
    const run = reconcile(this.index.get(key), policy, {
      api: this.deps.api,
      secrets: this.deps.secrets,
      providers: this.deps.providers,
      settings: { ...settings, reportedBy: "credbroker" },
      clock,
      canWrite: () => !expired && this.owns(key),
      namespaceLabels: (ns) => this.index.labelsOf(ns),
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
}
