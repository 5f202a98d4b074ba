// Lease-based leader election on coordination.k8s.io/v1: acquire when free or expired, renew every retry period, stop leading at the renew deadline.
import type { KubeConfig, V1Lease, V1LeaseSpec } from "@kubernetes/client-node";
import type { Clock, TimerHandle } from "../clock.js";
import { CredbrokerError } from "../../model/errors.js";
import type { Logger } from "pino";
import { jittered } from "../pacing/backoff.js";
import { Sleeper } from "../sleeper.js";
import { LeaseApi, microTime, rewriteTimes, statusOf } from "./lease-api.js";

export interface LeaderElectorOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  name: string;
  /** This replica's identity, written as holderIdentity; must be unique per replica. */
  identity: string;
  /** How long a lease stays valid after its last renewal, for the other candidates (default 15 s). */
  leaseDurationMs?: number;
  /** The leader stops leading when it has not renewed for this long; shorter than the lease (default 10 s). */
  renewDeadlineMs?: number;
  /** How often the leader renews and candidates retry (default 2 s). */
  retryPeriodMs?: number;
  /**
   * Deadline of one API call (default max(retryPeriod, renewDeadline / 2)). Within an acquire or
   * renew attempt it is cut shorter still, so the attempt's read and write together never outlive
   * the renew deadline: a renewal landing later would be worthless (see `renewed`).
   */
  requestTimeoutMs?: number;
  /** `fieldManager` of the Lease writes (default `credbroker`). */
  fieldManager?: string;
  /** Labels the Lease is created with (shard membership finds member leases by label). */
  labels?: Record<string, string>;
  clock: Clock;
  random: () => number;
  logger?: Pick<Logger, "debug" | "info" | "warn">;
  /** Called synchronously when this replica becomes leader. */
  onStartedLeading?: () => void;
  /** Called synchronously when it stops, before any later write of ours could be attempted. */
  onStoppedLeading?: () => void;
  /**
   * Consulted before taking a lease that is free or expired (shard balancing); renewals are not
   * gated. Returns undefined to skip this round, or a slot the elector releases once its write has
   * settled (after it started leading, if it won), so concurrent electors cannot overshoot a limit.
   */
  acquireSlot?: () => AcquireSlot | undefined;
}

export interface LeaderElector {
  readonly leaseName: string;
  /** Starts campaigning in the background; idempotent. */
  start(): void;
  /**
   * True while this replica holds the lease and its last renewal is younger than the renew
   * deadline. Turns false the moment the deadline passes, even before any timer runs, so a
   * writer that checks it before every write never writes as a stale leader.
   */
  isLeader(): boolean;
  /** Stops campaigning and leading, leaving the lease to expire (a crash, as far as others can tell). Idempotent. */
  stop(): Promise<void>;
  /**
   * Stops, then gives the lease up (holder cleared, renewTime in the past) so a successor takes
   * over at its next retry instead of waiting for expiry. Best effort: resolves false if the lease
   * was not ours or could not be written. I/O.
   */
  release(): Promise<boolean>;
}

export interface AcquireSlot {
  release(): void;
}

const UNGATED: AcquireSlot = { release: () => undefined };

type Attempt = "leading" | "held-by-other" | "failed";

class LeaseElector implements LeaderElector {
  readonly leaseName: string;
  private readonly api: LeaseApi;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private running: Promise<void> | undefined;
  private stopped = false;
  private leading = false;
  /** Monotonic time until which our last successful write lets us lead. */
  private validUntil = 0;
  private deadlineTimer: TimerHandle | undefined;
  private readonly sleeper: Sleeper;
  private lastObservedHolder: string | undefined;
  /** The last lease record seen held by another replica, and when (our monotonic clock) it was first seen. */
  private observedRecord = "";
  private observedAtMs = 0;

  constructor(private readonly o: LeaderElectorOptions) {
    this.sleeper = new Sleeper(o.clock);
    this.leaseName = o.name;
    this.leaseDurationMs = o.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = o.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = o.retryPeriodMs ?? 2_000;
    if (!(this.renewDeadlineMs < this.leaseDurationMs)) throw new RangeError("renewDeadlineMs must be shorter than leaseDurationMs");
    if (!(this.retryPeriodMs < this.renewDeadlineMs)) throw new RangeError("retryPeriodMs must be shorter than renewDeadlineMs");
    this.api = new LeaseApi({
      kubeConfig: o.kubeConfig,
      namespace: o.namespace,
      clock: o.clock,
      requestTimeoutMs: o.requestTimeoutMs ?? Math.max(this.retryPeriodMs, this.renewDeadlineMs / 2),
      fieldManager: o.fieldManager ?? "credbroker",
    });
  }

  start(): void {
    if (this.running !== undefined || this.stopped) return;
    this.running = this.loop();
  }

  isLeader(): boolean {
    return this.leading && this.o.clock.monotonicNow() < this.validUntil;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopLeading("stopped");
    this.sleeper.wake();
    await this.running;
  }

  async release(): Promise<boolean> {
    await this.stop();
    try {
      const lease = await this.api.read(this.o.name);
      const spec = lease?.spec ?? {};
      if (lease === undefined || spec.holderIdentity !== this.o.identity) return false;
      const now = this.o.clock.now();
      const released: V1LeaseSpec = {
        ...rewriteTimes(spec),
        leaseDurationSeconds: 1,
        // In the past by more than any lease duration: expired for every reader, whatever it compares.
        renewTime: microTime(now - this.leaseDurationMs - 1000),
      };
      delete released.holderIdentity;
      await this.api.replace(this.o.name, { ...lease, spec: released }, undefined, "release");
      this.o.logger?.info({ lease: this.o.name, identity: this.o.identity }, "lease released");
      return true;
    } catch (err) {
      this.o.logger?.warn({ lease: this.o.name, status: statusOf(err) }, "could not release the lease; it will expire");
      return false;
    }
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      let attempt: Attempt;
      try {
        attempt = await this.tryAcquireOrRenew();
      } catch (err) {
        attempt = "failed";
        this.o.logger?.debug({ lease: this.o.name, status: statusOf(err), ...(err instanceof CredbrokerError ? { why: err.message } : {}) }, "lease request failed");
      }
      if (this.stopped) break;
      if (attempt === "held-by-other") this.stopLeading("another replica holds the lease");
      // A failed renewal keeps us leading until the deadline timer says otherwise.
      const waitMs = this.leading ? this.retryPeriodMs : jittered(this.retryPeriodMs * 1.1, 0.1, this.o.random);
      await this.sleeper.sleep(waitMs);
    }
  }

  private async tryAcquireOrRenew(): Promise<Attempt> {
    // Wall time for the record others read; monotonic time for our own deadline, which no clock step may lengthen.
    const startedAt = this.o.clock.now();
    const startedMono = this.o.clock.monotonicNow();
    // A success lets us lead until startedMono + renewDeadline, so nothing of this attempt may run past that.
    const deadline = startedMono + this.renewDeadlineMs;
    const lease = await this.api.read(this.o.name, deadline);
    if (this.stopped) return "failed";
    const durationSeconds = Math.ceil(this.leaseDurationMs / 1000);
    if (lease === undefined) {
      const slot = this.acquireSlot();
      if (slot === undefined) return "failed";
      const body: V1Lease = {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name: this.o.name, namespace: this.o.namespace, ...(this.o.labels === undefined ? {} : { labels: this.o.labels }) },
        spec: { holderIdentity: this.o.identity, leaseDurationSeconds: durationSeconds, acquireTime: microTime(startedAt), renewTime: microTime(startedAt), leaseTransitions: 0 },
      };
      return this.write(() => this.api.create(body, deadline), startedMono, slot);
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? "";
    this.observe(holder);
    const ours = holder === this.o.identity;
    let slot = UNGATED;
    if (!ours) {
      // As client-go does: expiry is judged on our own clock, from when we first saw this exact
      // record, never from the holder's renewTime, so clock skew between replicas cannot make
      // two leaders. A record we have not seen change for a whole lease duration has expired.
      const record = `${holder}|${String(spec.renewTime)}|${lease.metadata?.resourceVersion ?? ""}`;
      if (record !== this.observedRecord) {
        // Timed from when the answer arrived, not when it was asked for: a slow read must not bring takeover forward.
        this.observedRecord = record;
        this.observedAtMs = this.o.clock.monotonicNow();
      }
      const validMs = (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
      const expired = holder === "" || this.observedAtMs + validMs < this.o.clock.monotonicNow();
      if (!expired) return "held-by-other";
      const granted = this.acquireSlot();
      if (granted === undefined) return "failed";
      slot = granted;
    }
    const next: V1LeaseSpec = {
      ...rewriteTimes(spec),
      holderIdentity: this.o.identity,
      leaseDurationSeconds: durationSeconds,
      renewTime: microTime(startedAt),
      ...(ours ? {} : { acquireTime: microTime(startedAt), leaseTransitions: (spec.leaseTransitions ?? 0) + 1 }),
    };
    // metadata.resourceVersion travels with the body: a concurrent writer makes this a 409.
    const body: V1Lease = { ...lease, spec: next };
    return this.write(() => this.api.replace(this.o.name, body, deadline), startedMono, slot);
  }

  /** Runs a create/replace; 409 means another replica wrote first, and the next round re-reads. */
  private async write(send: () => Promise<V1Lease>, startedMono: number, slot: AcquireSlot): Promise<Attempt> {
    try {
      await send();
      if (this.stopped) return "failed";
      this.renewed(startedMono);
      return "leading";
    } catch (err) {
      if (statusOf(err) === 409) return "failed";
      throw err;
    } finally {
      slot.release();
    }
  }

  private acquireSlot(): AcquireSlot | undefined {
    return this.o.acquireSlot === undefined ? UNGATED : this.o.acquireSlot();
  }

  private observe(holder: string): void {
    if (holder === this.lastObservedHolder) return;
    this.lastObservedHolder = holder;
    this.o.logger?.debug({ lease: this.o.name, holder }, "lease holder observed");
  }

  /** Our write sent at `startedMono` (monotonic) succeeded: we may lead until then + renewDeadline. */
  private renewed(startedMono: number): void {
    // The deadline passed before this renewal landed, even if a starved event loop has not run the
    // deadline timer yet: isLeader() was false meanwhile, so writers skipped work. End that term
    // properly, so the callbacks see a stop and then a start (which queues the skipped work again).
    if (this.leading && this.o.clock.monotonicNow() >= this.validUntil) this.stopLeading("renew deadline passed before the renewal landed");
    this.validUntil = startedMono + this.renewDeadlineMs;
    this.armDeadline();
    if (!this.leading && this.o.clock.monotonicNow() < this.validUntil) {
      this.leading = true;
      this.o.logger?.info({ lease: this.o.name, identity: this.o.identity }, "started leading");
      this.o.onStartedLeading?.();
    }
  }

  /** Stops leading at validUntil; a timer that runs early re-arms, so the callback can never be skipped. */
  private armDeadline(): void {
    this.o.clock.clearTimeout(this.deadlineTimer);
    this.deadlineTimer = this.o.clock.setTimeout(() => {
      this.deadlineTimer = undefined;
      if (this.o.clock.monotonicNow() >= this.validUntil) this.stopLeading("renew deadline passed");
      else this.armDeadline();
    }, this.validUntil - this.o.clock.monotonicNow());
  }

  private stopLeading(why: string): void {
    this.o.clock.clearTimeout(this.deadlineTimer);
    this.deadlineTimer = undefined;
    this.validUntil = 0;
    if (!this.leading) return;
    this.leading = false;
    this.o.logger?.info({ lease: this.o.name, identity: this.o.identity, why }, "stopped leading");
    this.o.onStoppedLeading?.();
  }
}

/** Builds an elector; nothing happens until `start()`. Throws RangeError when the durations are inconsistent. */
export function createLeaderElector(options: LeaderElectorOptions): LeaderElector {
  return new LeaseElector(options);
}
