// Shard membership: each replica renews a member Lease of its own and counts the member leases still renewed, so the shard share can follow the replicas alive.
import { createHash } from "node:crypto";
import type { V1Lease } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { Clock } from "../clock.js";
import { jittered } from "../pacing/backoff.js";
import { Sleeper } from "../sleeper.js";
import { createLeaderElector, type LeaderElector, type LeaderElectorOptions } from "./leader-election.js";
import { LeaseApi, statusOf } from "./lease-api.js";

/** The label every member lease of one lease group carries; its value is memberGroupLabel(name). */
export const MEMBER_LABEL = "credbroker.io/member-of";

const LABEL_VALUE = /^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$/;

function shortHash(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex").slice(0, 10);
}

/** The value of MEMBER_LABEL for lease group `name`: the name itself when it is a valid label value, else a hash of it. Pure. */
export function memberGroupLabel(name: string): string {
  return LABEL_VALUE.test(name) ? name : `h-${shortHash(name)}`;
}

/**
 * `<name>-member-<hash of identity>`: identities (host names, pod names) need not be valid
 * object names, and the hash keeps one replica on one lease across restarts with the same identity. Pure.
 */
export function memberLeaseName(name: string, identity: string): string {
  return `${name}-member-${shortHash(identity)}`;
}

export interface MembershipOptions extends Pick<LeaderElectorOptions, "kubeConfig" | "namespace" | "identity" | "leaseDurationMs" | "renewDeadlineMs" | "retryPeriodMs" | "requestTimeoutMs" | "fieldManager"> {
  /** The lease group (leader.name); member leases are `<name>-member-<hash>`. */
  name: string;
  clock: Clock;
  random: () => number;
  logger?: Pick<Logger, "debug" | "info" | "warn">;
  /** A member lease left unrenewed this long (on our clock) is deleted, so dead replicas leave no garbage (default 10 × lease duration). */
  forgetAfterMs?: number;
  /** Called when the count of live replicas changes. */
  onChange?: (live: number) => void;
}

export interface Membership {
  readonly leaseName: string;
  /** Starts renewing our member lease and counting the others; idempotent. */
  start(): void;
  /** Resolves once the first count is done, successful or not. Never rejects. */
  ready(): Promise<void>;
  /** Replicas alive, this one included: 1 until the first successful count. */
  live(): number;
  /** Stops renewing and counting; our member lease is left to expire (a crash, for the others). Idempotent. */
  stop(): Promise<void>;
  /** Stops, then deletes our member lease (else releases it) so the others count one fewer at once. Best effort. I/O. */
  leave(): Promise<void>;
}

interface Observed {
  record: string;
  /** Our monotonic time when this record was first seen. */
  sinceMs: number;
  resourceVersion: string | undefined;
}

const DEFAULTS = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

class LeaseMembership implements Membership {
  readonly leaseName: string;
  private readonly own: LeaderElector;
  private readonly api: LeaseApi;
  private readonly selector: string;
  private readonly prefix: string;
  private readonly leaseDurationMs: number;
  private readonly retryPeriodMs: number;
  private readonly forgetAfterMs: number;
  private readonly sleeper: Sleeper;
  private readonly observed = new Map<string, Observed>();
  private liveCount = 1;
  /** A count failed since the last good one: records seen unchanged across the gap restart their clocks. */
  private blind = false;
  private running: Promise<void> | undefined;
  private stopped = false;
  private firstRound: Promise<void>;
  private firstRoundDone: () => void = () => undefined;
  private warnedList = false;
  private mayDelete = true;

  constructor(private readonly o: MembershipOptions) {
    this.leaseName = memberLeaseName(o.name, o.identity);
    this.prefix = `${o.name}-member-`;
    this.selector = `${MEMBER_LABEL}=${memberGroupLabel(o.name)}`;
    this.leaseDurationMs = o.leaseDurationMs ?? DEFAULTS.leaseDurationMs;
    this.retryPeriodMs = o.retryPeriodMs ?? DEFAULTS.retryPeriodMs;
    this.forgetAfterMs = o.forgetAfterMs ?? 10 * this.leaseDurationMs;
    this.sleeper = new Sleeper(o.clock);
    const { onChange: _onChange, forgetAfterMs: _forget, name: _name, ...common } = o;
    // Our member lease is a lease like any other that only we campaign for: the elector renews it, re-creates it if deleted, and times its calls.
    this.own = createLeaderElector({ ...common, name: this.leaseName, labels: { [MEMBER_LABEL]: memberGroupLabel(o.name) } });
    this.api = new LeaseApi({
      kubeConfig: o.kubeConfig,
      namespace: o.namespace,
      clock: o.clock,
      requestTimeoutMs: o.requestTimeoutMs ?? Math.max(this.retryPeriodMs, (o.renewDeadlineMs ?? DEFAULTS.renewDeadlineMs) / 2),
      fieldManager: o.fieldManager ?? "credbroker",
    });
    this.firstRound = new Promise((resolve) => (this.firstRoundDone = resolve));
  }

  start(): void {
    if (this.running !== undefined || this.stopped) return;
    this.own.start();
    this.running = this.loop();
  }

  ready(): Promise<void> {
    return this.firstRound;
  }

  live(): number {
    return this.liveCount;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.sleeper.wake();
    this.firstRoundDone();
    await Promise.all([this.running, this.own.stop()]);
  }

  async leave(): Promise<void> {
    await this.stop();
    try {
      const lease = await this.api.read(this.leaseName);
      if (lease === undefined || lease.spec?.holderIdentity !== this.o.identity) return;
      await this.api.delete(this.leaseName, lease.metadata?.resourceVersion);
      this.o.logger?.debug({ lease: this.leaseName }, "member lease deleted");
    } catch (err) {
      // Without the delete verb (an older Role), clearing the holder tells the others just as fast.
      this.o.logger?.debug({ lease: this.leaseName, status: statusOf(err) }, "could not delete the member lease; releasing it");
      await this.own.release();
    }
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      await this.count();
      this.firstRoundDone();
      if (this.stopped) break;
      await this.sleeper.sleep(jittered(this.retryPeriodMs, 0.1, this.o.random));
    }
  }

  private async count(): Promise<void> {
    let leases: V1Lease[];
    try {
      leases = await this.api.list(this.selector);
    } catch (err) {
      this.blind = true;
      const status = statusOf(err);
      if (!this.warnedList) {
        this.warnedList = true;
        // Counting only ourselves, this replica takes up to every shard (the cap aside), as before sharding spread.
        this.o.logger?.warn({ lease: this.leaseName, status }, "cannot list member leases (RBAC needs list on leases): keeping the last count of replicas");
      } else this.o.logger?.debug({ lease: this.leaseName, status }, "listing member leases failed");
      return;
    }
    if (this.stopped) return;
    const now = this.o.clock.monotonicNow();
    const seen = new Set<string>();
    let live = 1;
    const stale: Array<{ name: string; resourceVersion: string | undefined }> = [];
    for (const lease of leases) {
      const name = lease.metadata?.name ?? "";
      if (name === this.leaseName || !name.startsWith(this.prefix)) continue;
      seen.add(name);
      const spec = lease.spec ?? {};
      const holder = spec.holderIdentity ?? "";
      const resourceVersion = lease.metadata?.resourceVersion;
      // As the elector judges shard leases: by how long we have seen this exact record unchanged,
      // on our own clock, never by the holder's renewTime, so skewed clocks cannot miscount.
      const record = `${holder}|${String(spec.renewTime)}|${resourceVersion ?? ""}`;
      const before = this.observed.get(name);
      const sinceMs = before !== undefined && before.record === record && !this.blind ? before.sinceMs : now;
      this.observed.set(name, { record, sinceMs, resourceVersion });
      const validMs = (spec.leaseDurationSeconds ?? Math.ceil(this.leaseDurationMs / 1000)) * 1000;
      const unchangedMs = now - sinceMs;
      if (holder !== "" && unchangedMs <= validMs) live++;
      else if (unchangedMs >= this.forgetAfterMs) stale.push({ name, resourceVersion });
    }
    for (const name of this.observed.keys()) if (!seen.has(name)) this.observed.delete(name);
    this.blind = false;
    const changed = live !== this.liveCount;
    this.liveCount = live;
    if (changed) this.o.logger?.info({ lease: this.leaseName, replicas: live }, "replicas alive changed");
    if (changed) this.o.onChange?.(live);
    await this.forget(stale);
  }

  /** Deletes member leases nobody has renewed for forgetAfterMs; the resourceVersion precondition spares one renewed meanwhile. */
  private async forget(stale: ReadonlyArray<{ name: string; resourceVersion: string | undefined }>): Promise<void> {
    for (const { name, resourceVersion } of stale) {
      if (this.stopped || !this.mayDelete) return;
      try {
        if (await this.api.delete(name, resourceVersion)) this.o.logger?.info({ lease: name }, "deleted the member lease of a replica gone for long");
        this.observed.delete(name);
      } catch (err) {
        const status = statusOf(err);
        if (status === 403) {
          this.mayDelete = false;
          this.o.logger?.warn({ lease: name }, "cannot delete stale member leases (RBAC needs delete on leases): they stay until removed by hand");
        } else this.o.logger?.debug({ lease: name, status }, "deleting a stale member lease failed");
      }
    }
  }
}

/** Builds a membership; nothing happens until `start()`. Throws RangeError when the durations are inconsistent. */
export function createMembership(options: MembershipOptions): Membership {
  return new LeaseMembership(options);
}
