// Watches and a sharded elector a controller test drives by hand: the test plays the API server's events and the Lease's outcomes.
import type { WatchLoop, WatchLoopOptions } from "../../src/runtime/kube/watch-loop.js";
import { shardOf, type ShardedElector, type ShardedElectorOptions } from "../../src/runtime/leader/shards.js";

/** A watch the test drives: it records its options, and the test calls `options.onEvent` as the API server would. */
export class HandWatch implements WatchLoop {
  synced = true;
  restarts = 0;
  lastResourceVersion: string | undefined = "1";
  constructor(readonly options: WatchLoopOptions) {}
  start(): void {}
  stop(): Promise<void> {
    return Promise.resolve();
  }
}

/** An elector that leads the shards it is told to, and tells the controller as the Lease elector would. */
export class HandElector implements ShardedElector {
  readonly shards: number;
  private readonly led = new Set<number>();
  constructor(private readonly options: ShardedElectorOptions) {
    this.shards = options.shards;
  }
  start(): void {}
  owns(key: string): boolean {
    return this.led.has(shardOf(key, this.shards));
  }
  isLeader(shard: number): boolean {
    return this.led.has(shard);
  }
  ownedShards(): number[] {
    return [...this.led].sort((a, b) => a - b);
  }
  stop(): Promise<void> {
    for (const shard of this.ownedShards()) this.lose(shard);
    return Promise.resolve();
  }
  release(): Promise<void> {
    return this.stop();
  }
  acquire(shard: number): void {
    this.led.add(shard);
    this.options.onStartedLeading?.(shard);
  }
  lose(shard: number): void {
    this.led.delete(shard);
    this.options.onStoppedLeading?.(shard);
  }
}

/** A seeded PRNG (mulberry32): real jitter, the same every run. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
