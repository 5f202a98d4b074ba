// Re-verifications asked for over HTTP: queued here when this replica leads the upstream's shard, handed to the leader through the reverify annotation otherwise, and answered once a run that started after the request has published.
import type { JsonObject } from "../model/fields.js";
import { ANNOTATIONS, reverifyMark } from "../model/annotations.js";
import { annotationsOf, resourceVersionOf } from "../model/object-meta.js";
import { readOwnStatus } from "../model/status.js";
import type { Clock } from "../runtime/clock.js";
import type { ReconcileResult } from "./reconcile.js";

/** Why one upstream of a request has no answer: safe to show to the caller. */
export interface ReverifyFailure {
  key: string;
  code: "NotFound" | "Unavailable";
  message: string;
}

export interface ReverifyOutcome<V> {
  requestId: string;
  /** Every key asked for that is on its way: queued here, or handed to its shard's leader. */
  queued: { key: string; via: "local" | "leader" }[];
  failed: ReverifyFailure[];
  /** With `wait`: the answered keys' views, in request order. */
  results: V[];
  /** With `wait`, at the timeout: the keys still unanswered. */
  pending: string[];
  timedOut: boolean;
}

export type ReverifyAnswer = "queued" | "joined" | "handedOff" | "joinedHandOff";

export interface ReverifyDeps<V> {
  clock: Clock;
  random: () => number;
  /** This replica may write for `key` now (leads its shard). */
  owns(key: string): boolean;
  /** Puts `key` on the local queue as a forced (cache-bypassing) run. */
  queueForced(key: string): void;
  /** Sets the reverify annotation on the upstream; resolves with the object as written, undefined when it is gone. */
  annotate(key: string, token: string): Promise<JsonObject | undefined>;
  /** What the broker knows of `key` now. */
  view(key: string): V | undefined;
  /** Re-verifications queued or handed off and not yet started: at most this many. */
  maxQueued: number;
  /** The key under status.statuses the leaders write (observedReverify is read there). */
  statusKey: string;
  /** Counts each key of each request by how it was taken. */
  onAnswer?: (answer: ReverifyAnswer) => void;
  /** Reports the number of re-verifications queued or handed off and not yet started. */
  onDepth?: (depth: number) => void;
}

/** How long an unanswered hand-off nobody waits for is remembered (joined by later requests meanwhile). */
export const HAND_OFF_TTL_MS = 5 * 60_000;

/** A request's hold on one key: settled once, by an answer, a failure, or the request's end. */
interface Waiter {
  settle(answer: { kind: "answered" } | { kind: "failed"; failure: Omit<ReverifyFailure, "key"> }): void;
}

interface HandOff {
  token: string;
  at: number;
  /** resourceVersion of our annotation write, once it has landed; later marks of others answer us too. */
  writtenAt: number | undefined;
  accepted: Set<string>;
  waiters: Set<Waiter>;
  /** Objects the watch delivered before our write's answer (the leader may be that quick): looked at once it lands. */
  early: JsonObject[];
}

/** Objects kept per hand-off while its write is in flight; the newest win. */
const MAX_EARLY_OBJECTS = 16;

/** How one key of a request ended: answered (undefined) or failed. */
type Settled = Omit<ReverifyFailure, "key"> | undefined;

/** The key's end if it has come, "open" if not; never waits. */
async function stateOf(settled: ReadonlyMap<string, Promise<Settled>>, key: string): Promise<Settled | "open"> {
  const promise = settled.get(key);
  return promise === undefined ? "open" : Promise.race([promise, Promise.resolve("open" as const)]);
}

/** The reverify request would queue more than `maxQueued`: nothing of it was queued. */
export class ReverifyQueueFullError extends Error {
  override readonly name = "ReverifyQueueFullError";
  constructor(
    readonly queued: number,
    readonly max: number,
  ) {
    super(`${queued} re-verifications are already queued (the most is ${max}); ask again later or for fewer upstreams`);
  }
}

/**
 * Coalesces and answers re-verification requests. A key already queued (or already handed off)
 * is joined, not queued again; a waiter is answered by the first run that starts after it joined
 * and publishes, so a run already under way when the request came cannot answer it with what it
 * read before. The controller reports runs (runStarted/runFinished), keys it may no longer write
 * (notOwned) and every upstream it sees (upstreamSeen/upstreamGone). No I/O of its own but the
 * hand-off annotation.
 */
export class ReverifyRequests<V> {
  /** Keys queued locally whose run has not started: the waiters that run will answer. */
  private readonly local = new Map<string, Set<Waiter>>();
  /** Keys whose run is under way, with the waiters it answers. */
  private readonly running = new Map<string, Set<Waiter>>();
  private readonly handOffs = new Map<string, HandOff>();
  private sequence = 0;

  constructor(private readonly deps: ReverifyDeps<V>) {}

  /** Re-verifications queued or handed off and not yet started. */
  get depth(): number {
    return this.local.size + this.handOffs.size;
  }

  /**
   * Asks for a re-verification of `keys` (all known to the caller's index). Throws
   * ReverifyQueueFullError, queueing nothing, when the new keys would pass the cap. With `wait`,
   * resolves once each key is answered or failed, or at `timeoutMs` with the rest pending.
   */
  async request(keys: readonly string[], options: { wait: boolean; timeoutMs: number }): Promise<ReverifyOutcome<V>> {
    this.pruneHandOffs();
    const unique = [...new Set(keys)];
    const fresh = unique.filter((k) => !this.local.has(k) && !this.handOffs.has(k)).length;
    if (this.depth + fresh > this.deps.maxQueued) throw new ReverifyQueueFullError(this.depth, this.deps.maxQueued);
    const requestId = this.newId();
    const outcome: ReverifyOutcome<V> = { requestId, queued: [], failed: [], results: [], pending: [], timedOut: false };
    const settled = new Map<string, Promise<Settled>>();
    const waiters = new Map<string, Waiter>();
    const handOffs: Promise<void>[] = [];
    for (const key of unique) {
      let settle!: (failure: Omit<ReverifyFailure, "key"> | undefined) => void;
      settled.set(key, new Promise((resolve) => (settle = resolve)));
      let done = false;
      const waiter: Waiter = {
        settle: (answer) => {
          if (done) return;
          done = true;
          settle(answer.kind === "answered" ? undefined : answer.failure);
        },
      };
      waiters.set(key, waiter);
      if (this.deps.owns(key)) {
        outcome.queued.push({ key, via: "local" });
        this.queueLocal(key, waiter);
      } else {
        outcome.queued.push({ key, via: "leader" });
        handOffs.push(this.handOff(key, waiter, requestId));
      }
    }
    this.reportDepth();
    // A hand-off that failed is known within one Kubernetes request; the caller hears of it even without `wait`.
    await Promise.all(handOffs);
    const early = await Promise.all(unique.map(async (key) => [key, await stateOf(settled, key)] as const));
    if (!options.wait) {
      for (const [key, state] of early) if (state !== "open" && state !== undefined) outcome.failed.push({ key, ...state });
      outcome.queued = outcome.queued.filter((q) => !outcome.failed.some((f) => f.key === q.key));
      // Nobody waits: the runs still happen, their waiters just have nobody to tell.
      for (const [key, w] of waiters) {
        w.settle({ kind: "answered" });
        this.forget(key, w);
      }
      return outcome;
    }
    let timer: ReturnType<Clock["setTimeout"]> | undefined;
    const timeout = new Promise<"timeout">((resolve) => (timer = this.deps.clock.setTimeout(() => resolve("timeout"), options.timeoutMs)));
    const all = Promise.all([...settled.values()]);
    const ended = await Promise.race([all, timeout]);
    if (timer !== undefined) this.deps.clock.clearTimeout(timer);
    outcome.timedOut = ended === "timeout";
    for (const key of unique) {
      const state = await stateOf(settled, key);
      if (state === "open") outcome.pending.push(key);
      else if (state !== undefined) outcome.failed.push({ key, ...state });
      else {
        const view = this.deps.view(key);
        if (view === undefined) outcome.failed.push({ key, code: "NotFound", message: `upstream ${key} was deleted` });
        else outcome.results.push(view);
      }
    }
    outcome.queued = outcome.queued.filter((q) => !outcome.failed.some((f) => f.key === q.key));
    // The request is over: its waiters leave every list, so an abandoned request holds no memory.
    for (const [key, w] of waiters) {
      w.settle({ kind: "answered" });
      this.forget(key, w);
    }
    return outcome;
  }

  /** A run of `key` starts on this replica: it answers every waiter queued so far. */
  runStarted(key: string): void {
    const waiting = this.local.get(key);
    this.local.delete(key);
    if (waiting !== undefined) {
      const running = this.running.get(key);
      if (running === undefined) this.running.set(key, waiting);
      else for (const w of waiting) running.add(w);
    }
    this.reportDepth();
  }

  /** The run of `key` ended with `result`. */
  runFinished(key: string, result: ReconcileResult): void {
    const waiting = this.running.get(key);
    this.running.delete(key);
    if (waiting === undefined) return;
    switch (result.kind) {
      case "published":
      case "skipped":
        for (const w of waiting) w.settle({ kind: "answered" });
        return;
      case "gone":
        for (const w of waiting) w.settle({ kind: "failed", failure: { code: "NotFound", message: `upstream ${key} was deleted` } });
        return;
      case "failed":
      case "superseded":
        // No verdict was published: the retry the queue holds answers them.
        this.awaitRetry(key, waiting);
        return;
      case "handedOver":
        for (const w of waiting) void this.handOff(key, w, this.newId());
        return;
      default:
        result satisfies never;
    }
  }

  /** The controller dropped a run of `key` it no longer leads: its waiters go to the new leader. */
  notOwned(key: string): void {
    const waiting = this.local.get(key);
    this.local.delete(key);
    for (const w of waiting ?? []) void this.handOff(key, w, this.newId());
    this.reportDepth();
  }

  /** The watch (or our own write) delivered `object` for `key`: a hand-off it answers is settled. */
  upstreamSeen(key: string, object: JsonObject): void {
    const h = this.handOffs.get(key);
    if (h === undefined) return;
    if (h.writtenAt === undefined) {
      // Which later marks count is only known from our write's resourceVersion: kept until then.
      h.early.push(object);
      if (h.early.length > MAX_EARLY_OBJECTS) h.early.shift();
      return;
    }
    const rv = Number(resourceVersionOf(object));
    const value = annotationsOf(object)[ANNOTATIONS.reverify];
    // Someone asked again after us: the run that answers them started after our request too.
    if (value !== undefined && rv > h.writtenAt) h.accepted.add(reverifyMark(value));
    const observed = readOwnStatus(object, this.deps.statusKey)?.details.observedReverify;
    if (observed === undefined || !h.accepted.has(observed)) return;
    this.handOffs.delete(key);
    for (const w of h.waiters) w.settle({ kind: "answered" });
    this.reportDepth();
  }

  /** `key` was deleted: every waiter on it fails. */
  upstreamGone(key: string): void {
    const all = [...(this.local.get(key) ?? []), ...(this.running.get(key) ?? []), ...(this.handOffs.get(key)?.waiters ?? [])];
    this.local.delete(key);
    this.running.delete(key);
    this.handOffs.delete(key);
    for (const w of all) w.settle({ kind: "failed", failure: { code: "NotFound", message: `upstream ${key} was deleted` } });
    this.reportDepth();
  }

  private queueLocal(key: string, waiter: Waiter): void {
    const waiting = this.local.get(key);
    if (waiting !== undefined) {
      waiting.add(waiter);
      this.deps.onAnswer?.("joined");
      return;
    }
    this.local.set(key, new Set([waiter]));
    this.deps.onAnswer?.("queued");
    this.deps.queueForced(key);
  }

  /** A run failed without a verdict: its waiters wait for the retry the queue already holds (its backoff kept). */
  private awaitRetry(key: string, waiters: Iterable<Waiter>): void {
    const waiting = this.local.get(key) ?? new Set<Waiter>();
    for (const w of waiters) waiting.add(w);
    this.local.set(key, waiting);
  }

  /**
   * Hand-offs nobody waits for any more and that no leader answered within HAND_OFF_TTL_MS (no
   * replica leads the shard, the upstream changed type): dropped, so they neither hold memory nor
   * count against the cap forever. The annotation stays; a future leader still runs it.
   */
  private pruneHandOffs(): void {
    const now = this.deps.clock.now();
    for (const [key, h] of this.handOffs) if (h.waiters.size === 0 && now - h.at > HAND_OFF_TTL_MS) this.handOffs.delete(key);
  }

  private async handOff(key: string, waiter: Waiter, token: string): Promise<void> {
    const existing = this.handOffs.get(key);
    if (existing !== undefined) {
      existing.waiters.add(waiter);
      this.deps.onAnswer?.("joinedHandOff");
      return;
    }
    const h: HandOff = { token, at: this.deps.clock.now(), writtenAt: undefined, accepted: new Set([token]), waiters: new Set([waiter]), early: [] };
    this.handOffs.set(key, h);
    this.deps.onAnswer?.("handedOff");
    this.reportDepth();
    try {
      const written = await this.deps.annotate(key, token);
      if (written === undefined) {
        this.upstreamGone(key);
        return;
      }
      h.writtenAt = Number(resourceVersionOf(written));
      // The leader may have answered before this promise settled (the watch delivered it first, in
      // h.early), or the watch may be behind (then the answer is still to come).
      const early = h.early.splice(0);
      for (const object of [written, ...early]) if (this.handOffs.get(key) === h) this.upstreamSeen(key, object);
    } catch {
      if (this.handOffs.get(key) === h) this.handOffs.delete(key);
      for (const w of h.waiters) w.settle({ kind: "failed", failure: { code: "Unavailable", message: `could not hand the re-verification of ${key} to its shard's leader (the reverify annotation could not be written); try again` } });
      this.reportDepth();
    }
  }

  private forget(key: string, waiter: Waiter): void {
    for (const map of [this.local, this.running]) {
      const set = map.get(key);
      if (set?.delete(waiter) === true && set.size === 0 && map === this.running) map.delete(key);
    }
    const h = this.handOffs.get(key);
    h?.waiters.delete(waiter);
  }

  private reportDepth(): void {
    this.deps.onDepth?.(this.depth);
  }

  private newId(): string {
    this.sequence = (this.sequence + 1) % 1_000_000;
    const salt = Math.floor(this.deps.random() * 0xffffff).toString(16).padStart(6, "0");
    return `rv-${this.deps.clock.now().toString(36)}-${this.sequence.toString(36)}-${salt}`;
  }
}
