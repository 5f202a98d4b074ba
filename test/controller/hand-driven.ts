// Watches and a sharded elector a controller test drives by hand: the test plays the API server's events and the Lease's outcomes.
import type { ControllerDeps } from "../../src/controller/controller.js";
import type { WatchedObject, WatchLoop, WatchLoopOptions } from "../../src/runtime/kube/watch-loop.js";
import { shardOf, type ShardedElector, type ShardedElectorOptions } from "../../src/runtime/leader/shards.js";
import type { InMemoryUpstreams } from "../support/in-memory-upstreams.js";

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

/** The controller's watch and elector factories, handing out HandWatches (collected in `watches`) and one HandElector. */
export function handDriven(): { watches: HandWatch[]; elector: () => HandElector; deps: Required<Pick<ControllerDeps, "createWatch" | "createElector">> } {
  const watches: HandWatch[] = [];
  let elector: HandElector | undefined;
  return {
    watches,
    elector: () => {
      if (elector === undefined) throw new Error("the controller has not created its elector yet");
      return elector;
    },
    deps: {
      createWatch: (options) => {
        const w = new HandWatch(options);
        watches.push(w);
        return w;
      },
      createElector: (options) => (elector = new HandElector(options)),
    },
  };
}

/** The watch among `watches` on `resource` (upstreams, secrets, namespaces). */
export function watchOn(watches: readonly HandWatch[], resource: string): HandWatch {
  const found = watches.find((w) => w.options.path.endsWith(`/${resource}`));
  if (found === undefined) throw new Error(`no watch on ${resource}`);
  return found;
}

/** Plays what the watches' first lists deliver at start: every upstream `api` stores under `keys`, then the namespaces synced. */
export function playInitialList(watches: readonly HandWatch[], api: InMemoryUpstreams, keys: readonly string[]): void {
  for (const key of keys) {
    const [namespace, name] = key.split("/") as [string, string];
    watchOn(watches, "upstreams").options.onEvent("added", api.stored(namespace, name) as WatchedObject);
  }
  watchOn(watches, "namespaces").options.onSynced();
}
