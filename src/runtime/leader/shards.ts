// Sharding: a stable hash spreads upstream keys over N leases, and a ShardedElector campaigns for each and answers which keys this replica owns.
import { createLeaderElector, type LeaderElector, type LeaderElectorOptions } from "./leader-election.js";

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * The shard (0..shards-1) of an upstream key `namespace/name`: 32-bit FNV-1a over its UTF-8 bytes,
 * modulo `shards`. Stable across processes, versions and platforms, so every replica agrees. Pure.
 */
export function shardOf(key: string, shards: number): number {
  if (!Number.isInteger(shards) || shards < 1) throw new RangeError("shards must be a whole number of at least 1");
  let hash = FNV_OFFSET;
  for (const byte of Buffer.from(key, "utf8")) {
    hash ^= byte;
    hash = Math.imul(hash, FNV_PRIME) >>> 0;
  }
  return hash % shards;
}

/** `<name>` for a single shard (so an unsharded install keeps its lease name), else `<name>-<index>`. */
export function shardLeaseName(name: string, index: number, shards: number): string {
  return shards === 1 ? name : `${name}-${index}`;
}

export interface ShardedElectorOptions extends Omit<LeaderElectorOptions, "onStartedLeading" | "onStoppedLeading" | "acquireSlot"> {
  shards: number;
  /**
   * Most shards this replica takes (default: all). Shards beyond what the live replicas may take
   * stay unled, so leave headroom for a failed replica, e.g. ceil(shards / (replicas - 1)). Renewals
   * are never limited, so lowering it does not drop a shard already held.
   */
  maxShards?: number;
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

class LeaseShardedElector implements ShardedElector {
  readonly shards: number;
  private readonly electors: LeaderElector[];

  constructor(options: ShardedElectorOptions) {
    if (!Number.isInteger(options.shards) || options.shards < 1) throw new RangeError("shards must be a whole number of at least 1");
    this.shards = options.shards;
    const maxShards = options.maxShards ?? options.shards;
    // Acquisitions in flight count against the limit too, or concurrent electors would all pass the check.
    let acquiring = 0;
    const acquireSlot = () => {
      if (this.ownedShards().length + acquiring >= maxShards) return undefined;
      acquiring++;
      let released = false;
      return {
        release: () => {
          if (released) return;
          released = true;
          acquiring--;
        },
      };
    };
    const { shards: _shards, maxShards: _max, onStartedLeading, onStoppedLeading, ...common } = options;
    this.electors = Array.from({ length: this.shards }, (_, i) =>
      createLeaderElector({
        ...common,
        name: shardLeaseName(options.name, i, this.shards),
        acquireSlot,
        onStartedLeading: () => onStartedLeading?.(i),
        onStoppedLeading: () => onStoppedLeading?.(i),
      }),
    );
  }

  start(): void {
    for (const e of this.electors) e.start();
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

  async stop(): Promise<void> {
    await Promise.all(this.electors.map((e) => e.stop()));
  }

  async release(): Promise<void> {
    await Promise.all(this.electors.map((e) => e.release()));
  }
}

/** Builds one elector per shard lease; nothing happens until `start()`. */
export function createShardedElector(options: ShardedElectorOptions): ShardedElector {
  return new LeaseShardedElector(options);
}
