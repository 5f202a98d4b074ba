// Sharding: a stable hash spreads upstream keys over N leases; a ShardedElector campaigns for its fair share of them and answers which keys this replica owns.
import { createLeaderElector, type AcquireSlot, type LeaderElector, type LeaderElectorOptions } from "./leader-election.js";
import { createMembership, type Membership } from "./membership.js";
import { Sleeper } from "../sleeper.js";
import { fnv1a32 } from "../fnv1a.js";

/**
 * The shard (0..shards-1) of an upstream key `namespace/name`: 32-bit FNV-1a over its UTF-8 bytes,
 * modulo `shards`. Stable across processes, versions and platforms, so every replica agrees. Pure.
 */
export function shardOf(key: string, shards: number): number {
  if (!Number.isInteger(shards) || shards < 1) throw new RangeError("shards must be a whole number of at least 1");
  return fnv1a32(key) % shards;
}

/** `<name>` for a single shard (so an unsharded install keeps its lease name), else `<name>-<index>`. */
export function shardLeaseName(name: string, index: number, shards: number): string {
  return shards === 1 ? name : `${name}-${index}`;
}

export interface ShardedElectorOptions extends Omit<LeaderElectorOptions, "onStartedLeading" | "onStoppedLeading" | "acquireSlot" | "labels"> {
  shards: number;
  /**
   * Most shards this replica takes, whatever its fair share (0 or unset: no cap). The fair share is
   * ceil(shards / replicas alive), counted from the replicas' member leases; shards beyond what the
   * live replicas may take together stay unled. Renewals are never limited.
   */
  maxShards?: number | undefined;
  /**
   * How long a shard given up to rebalance stays unled before its lease is released, so that a
   * write sent while we still led it has ended before another replica may lead it (default
   * max(leaseDuration − renewDeadline, 1 s): a leader's writes end within leaseDuration − renewDeadline − 500 ms,
   * or 100 ms when that is shorter; see upstreamRequestTimeoutMs in src/commands/compose.ts).
   */
  handoverDelayMs?: number;
  /** Member leases unrenewed this long are deleted (default 10 × lease duration). */
  forgetMembersAfterMs?: number;
  onStartedLeading?: (shard: number) => void;
  onStoppedLeading?: (shard: number) => void;
}

export interface ShardedElector {
  readonly shards: number;
  start(): void;
  /** True when this replica currently leads the shard of `key` (checked before every write). */
  owns(key: string): boolean;
  isLeader(shard: number): boolean;
  /** Shards this replica leads now, ascending. */
  ownedShards(): number[];
  /** Stops every elector without releasing (leases expire). */
  stop(): Promise<void>;
  /** Stops and releases every lease this replica holds, for an immediate handover. */
  release(): Promise<void>;
}

const DEFAULTS = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000 };

/**
 * A replica takes a free shard only while it leads fewer than its share, and gives up its
 * highest-numbered shards while it leads more (after a newcomer joined), so the fleet settles at
 * shares that differ by at most one and stays there: a replica that just shed is at its share and
 * will not take the shard back. With one shard there is nothing to spread and no member lease.
 */
class LeaseShardedElector implements ShardedElector {
  readonly shards: number;
  private readonly electors: LeaderElector[];
  private readonly membership: Membership | undefined;
  private readonly cap: number;
  private readonly handoverDelayMs: number;
  /** Shards being given up, with the sleep that holds them unled. */
  private readonly handovers = new Map<number, { sleeper: Sleeper; done: Promise<void> }>();
  /** Acquisitions in flight count against the share too, or concurrent electors would all pass the check. */
  private acquiring = 0;
  private starting: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly options: ShardedElectorOptions) {
    if (!Number.isInteger(options.shards) || options.shards < 1) throw new RangeError("shards must be a whole number of at least 1");
    if (options.maxShards !== undefined && (!Number.isInteger(options.maxShards) || options.maxShards < 0)) throw new RangeError("maxShards must be a whole number, 0 for no cap");
    this.shards = options.shards;
    this.cap = options.maxShards === undefined || options.maxShards === 0 ? options.shards : Math.min(options.maxShards, options.shards);
    const leaseDurationMs = options.leaseDurationMs ?? DEFAULTS.leaseDurationMs;
    this.handoverDelayMs = options.handoverDelayMs ?? Math.max(1000, leaseDurationMs - (options.renewDeadlineMs ?? DEFAULTS.renewDeadlineMs));
    this.electors = Array.from({ length: this.shards }, (_, i) => this.makeElector(i));
    if (this.shards > 1) {
      const { shards: _s, maxShards: _m, handoverDelayMs: _h, forgetMembersAfterMs, onStartedLeading: _on, onStoppedLeading: _off, ...common } = options;
      this.membership = createMembership({
        ...common,
        ...(forgetMembersAfterMs === undefined ? {} : { forgetAfterMs: forgetMembersAfterMs }),
        onChange: () => this.rebalance(),
      });
    }
  }

  start(): void {
    if (this.starting !== undefined || this.stopped) return;
    this.starting = this.begin();
  }

  owns(key: string): boolean {
    return this.isLeader(shardOf(key, this.shards));
  }

  isLeader(shard: number): boolean {
    return this.electors[shard]?.isLeader() ?? false;
  }

  ownedShards(): number[] {
    const out: number[] = [];
    this.electors.forEach((e, i) => {
      if (e.isLeader()) out.push(i);
    });
    return out;
  }

  /** Most shards this replica may lead now: its fair share of the replicas alive, within maxShards. */
  private share(): number {
    const live = this.membership?.live() ?? 1;
    return Math.min(this.cap, Math.ceil(this.shards / live));
  }

  async stop(): Promise<void> {
    await this.halt();
    await Promise.all([this.membership?.stop(), ...this.electors.map((e) => e.stop())]);
  }

  async release(): Promise<void> {
    await this.halt();
    // Leaving first: by the time the shard leases are free, the others count one replica fewer and have room for them.
    await this.membership?.leave();
    await Promise.all(this.electors.map((e) => e.release()));
  }

  /** Ends campaigning for new terms: the start-up wait and any handover sleep are cut short (the leases are left as they are). */
  private async halt(): Promise<void> {
    this.stopped = true;
    for (const { sleeper } of this.handovers.values()) sleeper.wake();
    await this.membership?.stop();
    await this.starting;
    await Promise.all([...this.handovers.values()].map((h) => h.done));
  }

  /** Counts the replicas before campaigning, so a replica joining a fleet does not first take every free shard. */
  private async begin(): Promise<void> {
    if (this.membership !== undefined) {
      this.membership.start();
      await this.membership.ready();
    }
    if (this.stopped) return;
    for (const e of this.electors) e.start();
  }

  private makeElector(shard: number): LeaderElector {
    const { shards: _s, maxShards: _m, handoverDelayMs: _h, forgetMembersAfterMs: _f, onStartedLeading, onStoppedLeading, ...common } = this.options;
    return createLeaderElector({
      ...common,
      name: shardLeaseName(this.options.name, shard, this.shards),
      acquireSlot: () => this.acquireSlot(),
      onStartedLeading: () => {
        onStartedLeading?.(shard);
        // The share may have shrunk while this acquisition was in flight.
        this.rebalance();
      },
      onStoppedLeading: () => onStoppedLeading?.(shard),
    });
  }

  private acquireSlot(): AcquireSlot | undefined {
    if (this.ownedShards().length + this.acquiring >= this.share()) return undefined;
    this.acquiring++;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.acquiring--;
      },
    };
  }

  /** Gives up the highest-numbered shards beyond our share. */
  private rebalance(): void {
    if (this.stopped) return;
    const owned = this.ownedShards();
    const excess = owned.length - this.share();
    if (excess <= 0) return;
    for (const shard of owned.slice(-excess)) this.handOver(shard);
  }

  /**
   * Stops leading `shard` now (so nothing more is written for it), waits out the writes already
   * sent, releases the lease for a replica below its share, and campaigns again with a fresh
   * elector, which takes the shard back only if our share grows again.
   */
  private handOver(shard: number): void {
    if (this.handovers.has(shard)) return;
    const old = this.electors[shard];
    if (old === undefined) return;
    const sleeper = new Sleeper(this.options.clock);
    const done = (async () => {
      this.options.logger?.info({ shard, share: this.share(), identity: this.options.identity }, "giving up a shard beyond this replica's share");
      await old.stop();
      await sleeper.sleep(this.handoverDelayMs);
      // Stopping or releasing everything: release() frees every lease itself, stop() leaves them to expire.
      if (this.stopped) return;
      await old.release();
      if (this.stopped) return;
      const fresh = this.makeElector(shard);
      this.electors[shard] = fresh;
      fresh.start();
    })().finally(() => this.handovers.delete(shard));
    this.handovers.set(shard, { sleeper, done });
  }
}

/** Builds one elector per shard lease (and, with more than one shard, a member lease); nothing happens until `start()`. Throws RangeError on bad counts or durations. */
export function createShardedElector(options: ShardedElectorOptions): ShardedElector {
  return new LeaseShardedElector(options);
}
