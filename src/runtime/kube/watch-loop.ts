// Our own list+watch loop: paged list, watch from its resourceVersion, relist on 410, restart with backoff on anything else, and a stall watchdog.
import type { IncomingMessage } from "node:http";
import { finished } from "node:stream";
import type { KubeConfig } from "@kubernetes/client-node";
import type { Clock, TimerHandle } from "../clock.js";
import { isObject, type JsonObject } from "../../model/fields.js";
import type { Logger } from "pino";
import { backoffDelayMs, type BackoffSettings } from "../pacing/backoff.js";
import { KubeApiError, openGet, readJson, type OpenedRequest } from "./kube-request.js";
import { LineSplitter } from "./line-splitter.js";
import { Sleeper } from "../sleeper.js";

export type WatchEventType = "added" | "modified" | "deleted";

/** The metadata every watched object has; the rest is the caller's to parse. */
export interface WatchedMeta extends JsonObject {
  name: string;
  namespace?: string;
  resourceVersion: string;
}

export interface WatchedObject extends JsonObject {
  metadata: WatchedMeta;
}

const METADATA_LIST_ACCEPT = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";
const METADATA_ACCEPT = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";

export interface WatchLoopOptions {
  kubeConfig: KubeConfig;
  /** Collection path, e.g. `/apis/gloo.solo.io/v1/upstreams` or `/api/v1/namespaces/ns/secrets`. */
  path: string;
  /** Ask for PartialObjectMetadata only (Secrets: their data is never fetched). */
  metadataOnly?: boolean;
  labelSelector?: string;
  /** Objects per list page (default 500). */
  pageSize?: number;
  clock: Clock;
  random: () => number;
  /** Delays between restarts after errors; jitter defaults to ±20%. */
  backoff: { minMs: number; maxMs: number; jitter?: number };
  /** A watch that stayed connected this long resets the backoff (default 60 s). */
  healthyAfterMs?: number;
  /** Restart a watch that has delivered nothing, not even a bookmark, for this long. */
  stallTimeoutMs: number;
  /** Deadline of one list page request (default 60 s). */
  requestTimeoutMs?: number;
  /** The server closes each watch after this many seconds, spread up to twice as long (default 300). */
  watchTimeoutSeconds?: number;
  /** Longest watch event line accepted; a longer one ends the watch as an error, restarted with backoff (default 16 MiB). */
  maxEventBytes?: number;
  logger?: Pick<Logger, "debug" | "info" | "warn" | "error">;
  /**
   * Called for each change, in order. `added`/`modified`/`deleted` are relative to what this loop
   * has reported before, so a relist reports only differences. A delete discovered by a relist
   * carries only `metadata` (name, namespace, last known resourceVersion). `metadata.managedFields` is
   * removed from every object before it gets here (as controller-runtime's TransformStripManagedFields
   * does): nothing reads it, and it is often the larger part of an object kept in memory. Must not throw.
   */
  onEvent(type: WatchEventType, obj: WatchedObject): void;
  /** Called once, after the first complete list has been reported. */
  onSynced(): void;
  /**
   * Called each time the loop restarts its list/watch (each one counted in `restarts`), before any
   * backoff wait, with why the last round ended:
   * - `expired`: a 410 Gone (resourceVersion too old), as an ERROR event or an HTTP answer; the loop relists.
   * - `error`: anything else that failed (HTTP error, broken or malformed stream, a list that failed); backoff, then
   *   a watch from the last resourceVersion (or a list, if the list was what failed).
   * - `stalled`: nothing arrived, not even a bookmark, for `stallTimeoutMs`; backoff, then a watch.
   * - `closed`: the server ended the watch cleanly (its timeoutSeconds, a proxy's idle close); backoff, then a watch.
   * Never called for stop(). Must not throw (a throw is logged and ignored).
   */
  onRestart?: (cause: WatchRestartCause) => void;
}

/** Why the loop restarted; see `WatchLoopOptions.onRestart`. */
export type WatchRestartCause = "expired" | "error" | "stalled" | "closed";

export interface WatchLoop {
  /** Starts listing and watching in the background; idempotent. */
  start(): void;
  /** Ends the current request and stops restarting; resolves when the loop has exited. Idempotent. */
  stop(): Promise<void>;
  /** True once the first list has been reported (stays true across restarts). */
  readonly synced: boolean;
  /** How many times the loop restarted (errors, stream ends, stalls, 410s). */
  readonly restarts: number;
  /** resourceVersion of the last list or event seen; undefined before the first list. */
  readonly lastResourceVersion: string | undefined;
}

/** Why one list+watch round ended. */
type Outcome = "gone" | "error" | "ended" | "stalled" | "stopped";

const RESTART_CAUSE: Record<Exclude<Outcome, "stopped">, WatchRestartCause> = { gone: "expired", error: "error", ended: "closed", stalled: "stalled" };

function objectKey(meta: WatchedMeta): string {
  return meta.namespace === undefined || meta.namespace === "" ? meta.name : `${meta.namespace}/${meta.name}`;
}

function asWatched(value: unknown): WatchedObject | undefined {
  if (!isObject(value) || !isObject(value["metadata"])) return undefined;
  const meta = value["metadata"];
  if (typeof meta["name"] !== "string" || typeof meta["resourceVersion"] !== "string") return undefined;
  if (meta["namespace"] !== undefined && typeof meta["namespace"] !== "string") return undefined;
  return value as WatchedObject;
}

function isGone(err: unknown): boolean {
  return err instanceof KubeApiError && err.status === 410;
}

class ListWatchLoop implements WatchLoop {
  /** Only the resourceVersion per key: the caller keeps objects, so memory stays small. */
  private readonly known = new Map<string, string>();
  private readonly backoff: BackoffSettings;
  private running: Promise<void> | undefined;
  private stopped = false;
  private current: OpenedRequest | undefined;
  private readonly sleeper: Sleeper;
  private failures = 0;
  private goneStreak = 0;
  private isSynced = false;
  private restartCount = 0;
  private rv: string | undefined;

  constructor(private readonly o: WatchLoopOptions) {
    this.sleeper = new Sleeper(o.clock);
    this.backoff = { minMs: o.backoff.minMs, maxMs: o.backoff.maxMs, jitter: o.backoff.jitter ?? 0.2 };
  }

  get synced(): boolean {
    return this.isSynced;
  }

  get restarts(): number {
    return this.restartCount;
  }

  get lastResourceVersion(): string | undefined {
    return this.rv;
  }

  start(): void {
    if (this.running !== undefined || this.stopped) return;
    this.running = this.loop().catch((err: unknown) => {
      // Only a throwing logger or onSynced outside the loop's own catch gets here; it must not become an unhandled rejection.
      try {
        this.o.logger?.error({ path: this.o.path, err }, "watch loop ended by an unexpected error");
      } catch {
        // Nothing is left to report to.
      }
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.current?.abort(new Error("watch loop stopped"));
    this.sleeper.wake();
    await this.running;
  }

  private async loop(): Promise<void> {
    let needList = true;
    while (!this.stopped) {
      let outcome: Outcome;
      let connectedAt: number | undefined;
      try {
        if (needList) {
          await this.list();
          needList = false;
          if (!this.isSynced && !this.stopped) {
            this.isSynced = true;
            this.o.onSynced();
          }
        }
        outcome = await this.watch((at) => (connectedAt = at));
      } catch (err) {
        outcome = isGone(err) ? "gone" : "error";
        if (!this.stopped && outcome === "error") this.o.logger?.warn({ path: this.o.path, err }, "list/watch failed; restarting with backoff");
      }
      if (this.stopped || outcome === "stopped") break;
      this.restartCount++;
      this.reportRestart(RESTART_CAUSE[outcome]);
      if (outcome === "gone") {
        needList = true;
        // A relist answers a 410 at once; a second 410 in a row means something is off, so back off.
        if (this.goneStreak++ === 0) {
          this.o.logger?.info({ path: this.o.path }, "resourceVersion expired; relisting");
          continue;
        }
      } else {
        this.goneStreak = 0;
      }
      const healthy = connectedAt !== undefined && this.o.clock.now() - connectedAt >= (this.o.healthyAfterMs ?? 60_000);
      if (healthy) this.failures = 0;
      const delayMs = backoffDelayMs(this.backoff, this.failures, this.o.random);
      this.failures++;
      if (outcome === "stalled") this.o.logger?.warn({ path: this.o.path, stallTimeoutMs: this.o.stallTimeoutMs }, "watch silent too long; restarting");
      else this.o.logger?.debug({ path: this.o.path, outcome, delayMs }, "watch ended; restarting");
      await this.sleeper.sleep(delayMs);
    }
    this.current = undefined;
  }

  private reportRestart(cause: WatchRestartCause): void {
    try {
      this.o.onRestart?.(cause);
    } catch (err) {
      // Like a throwing event handler: a bug in the caller, which must not end the loop.
      this.o.logger?.error({ path: this.o.path, err }, "watch restart handler threw");
    }
  }

  private query(extra: Record<string, string>): string {
    const q = new URLSearchParams();
    if (this.o.labelSelector !== undefined) q.set("labelSelector", this.o.labelSelector);
    for (const [k, v] of Object.entries(extra)) q.set(k, v);
    return `${this.o.path}?${q.toString()}`;
  }

  /** Lists every page, reports differences against `known`, and returns only once the whole list is in. */
  private async list(): Promise<void> {
    const seen = new Set<string>();
    let continueToken: string | undefined;
    let listRv: string | undefined;
    do {
      const params: Record<string, string> = { limit: String(this.o.pageSize ?? 500) };
      if (continueToken !== undefined) params["continue"] = continueToken;
      const page = await this.getPage(this.query(params));
      if (this.stopped) return;
      const meta = isObject(page) && isObject(page["metadata"]) ? page["metadata"] : undefined;
      const items = isObject(page) ? page["items"] : undefined;
      if (meta === undefined || typeof meta["resourceVersion"] !== "string" || !Array.isArray(items)) throw new KubeApiError(`list ${this.o.path}: not a list`, undefined);
      for (const raw of items) {
        const obj = asWatched(raw);
        if (obj === undefined) continue;
        const key = objectKey(obj.metadata);
        seen.add(key);
        const before = this.known.get(key);
        if (before === obj.metadata.resourceVersion) continue;
        this.known.set(key, obj.metadata.resourceVersion);
        this.emit(before === undefined ? "added" : "modified", obj);
      }
      listRv = meta["resourceVersion"];
      continueToken = typeof meta["continue"] === "string" && meta["continue"] !== "" ? meta["continue"] : undefined;
    } while (continueToken !== undefined);
    for (const [key, lastRv] of [...this.known]) {
      if (seen.has(key)) continue;
      this.known.delete(key);
      const slash = key.indexOf("/");
      const metadata: WatchedMeta = slash < 0 ? { name: key, resourceVersion: lastRv } : { namespace: key.slice(0, slash), name: key.slice(slash + 1), resourceVersion: lastRv };
      this.emit("deleted", { metadata });
    }
    this.rv = listRv;
  }

  private async getPage(pathAndQuery: string): Promise<unknown> {
    const req = await openGet(this.o.kubeConfig, pathAndQuery, this.o.metadataOnly === true ? METADATA_LIST_ACCEPT : "application/json");
    // stop() may have run while the request was being opened: it could not abort what it did not see.
    if (this.stopped) {
      req.abort(new KubeApiError(`list ${this.o.path} stopped`, undefined));
      throw new KubeApiError(`list ${this.o.path} stopped`, undefined);
    }
    this.current = req;
    const timer = this.o.clock.setTimeout(() => req.abort(new KubeApiError(`list ${this.o.path} timed out`, undefined)), this.o.requestTimeoutMs ?? 60_000);
    try {
      return await readJson(await req.response, `list ${this.o.path}`);
    } finally {
      this.o.clock.clearTimeout(timer);
      this.current = undefined;
    }
  }

  /**
   * One watch stream from `this.rv`; resolves with why it ended, rejects with KubeApiError on HTTP errors,
   * ERROR events (410 → relist), malformed events and broken streams. The request is ended on every path.
   */
  private async watch(onConnected: (at: number) => void): Promise<Outcome> {
    if (this.stopped) return "stopped";
    const base = this.o.watchTimeoutSeconds ?? 300;
    const params: Record<string, string> = {
      watch: "true",
      allowWatchBookmarks: "true",
      timeoutSeconds: String(Math.floor(base * (1 + this.o.random()))),
    };
    if (this.rv !== undefined) params["resourceVersion"] = this.rv;
    const req = await openGet(this.o.kubeConfig, this.query(params), this.o.metadataOnly === true ? METADATA_ACCEPT : "application/json");
    if (this.stopped) {
      req.abort(new Error("watch loop stopped"));
      return "stopped";
    }
    this.current = req;
    let stalled = false;
    let watchdog: TimerHandle | undefined;
    const feed = () => {
      this.o.clock.clearTimeout(watchdog);
      watchdog = this.o.clock.setTimeout(() => {
        stalled = true;
        req.abort(new Error("watch stalled"));
      }, this.o.stallTimeoutMs);
    };
    feed();
    try {
      const res = await req.response;
      // Where the body stream is first ours: from here on, an abort or reset has somewhere to go.
      res.on("error", () => undefined);
      if (res.statusCode !== 200) {
        await readJson(res, `watch ${this.o.path}`); // throws with the status for every non-2xx answer
        throw new KubeApiError(`watch ${this.o.path}: unexpected HTTP ${res.statusCode ?? 0}`, res.statusCode);
      }
      onConnected(this.o.clock.now());
      await this.readEvents(res, feed);
    } catch (err) {
      if (this.stopped) return "stopped";
      if (stalled) return "stalled";
      throw err;
    } finally {
      this.o.clock.clearTimeout(watchdog);
      this.current = undefined;
      req.abort(new Error("watch finished"));
    }
    if (this.stopped) return "stopped";
    return stalled ? "stalled" : "ended";
  }

  /**
   * Applies the newline-delimited events of `res` as they arrive. Resolves when the stream ends after a whole
   * line; rejects with KubeApiError on the first bad line (handleLine), a line past `maxEventBytes`, an end
   * mid-line, or a broken or aborted stream. Not readline: its interface re-emits stream errors on an emitter
   * nobody listens to once iteration stops, which crashes the process (a 410 ERROR line, then an abort).
   */
  private readEvents(res: IncomingMessage, onProgress: () => void): Promise<void> {
    const what = `watch ${this.o.path}`;
    const lines = new LineSplitter(this.o.maxEventBytes ?? 16 * 1024 * 1024, what);
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const settle = (err: Error | undefined): void => {
        if (settled) return;
        settled = true;
        cleanup();
        res.off("data", onData);
        if (err === undefined) resolve();
        else reject(err);
      };
      const onData = (chunk: Buffer | string): void => {
        if (settled) return;
        onProgress();
        try {
          for (const line of lines.push(typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk)) {
            if (this.stopped) return;
            if (line.trim() !== "") this.handleLine(line);
          }
        } catch (err) {
          settle(err instanceof Error ? err : new KubeApiError(`${what}: event failed`, undefined, { cause: err }));
        }
      };
      // `finished` also answers for a stream that was already destroyed before we got to listen; it never calls back
      // synchronously, so `settle` cannot run before `cleanup` exists.
      const cleanup = finished(res, { writable: false }, (err) => {
        if (err !== undefined && err !== null) settle(new KubeApiError(`${what}: stream broken`, undefined, { cause: err }));
        else if (lines.hasPartialLine) settle(new KubeApiError(`${what}: stream ended in the middle of an event`, undefined));
        else settle(undefined);
      });
      res.on("data", onData);
    });
  }

  /** Applies one watch event line; throws KubeApiError for ERROR events (their code as status: 410 → relist). */
  private handleLine(line: string): void {
    let event: unknown;
    try {
      event = JSON.parse(line) as unknown;
    } catch (err) {
      throw new KubeApiError(`watch ${this.o.path}: malformed event`, undefined, { cause: err });
    }
    if (!isObject(event)) throw new KubeApiError(`watch ${this.o.path}: malformed event`, undefined);
    const type = event["type"];
    const raw = event["object"];
    if (type === "ERROR") {
      const code = isObject(raw) && typeof raw["code"] === "number" ? raw["code"] : undefined;
      throw new KubeApiError(`watch ${this.o.path}: ERROR event${code === undefined ? "" : ` ${code}`}`, code);
    }
    if (type === "BOOKMARK") {
      const meta = isObject(raw) && isObject(raw["metadata"]) ? raw["metadata"] : undefined;
      if (typeof meta?.["resourceVersion"] === "string") this.rv = meta["resourceVersion"];
      return;
    }
    const obj = asWatched(raw);
    if (obj === undefined) throw new KubeApiError(`watch ${this.o.path}: event without name or resourceVersion`, undefined);
    this.goneStreak = 0;
    const key = objectKey(obj.metadata);
    const before = this.known.get(key);
    this.rv = obj.metadata.resourceVersion;
    if (type === "DELETED") {
      if (before === undefined) return;
      this.known.delete(key);
      this.emit("deleted", obj);
      return;
    }
    if (type !== "ADDED" && type !== "MODIFIED") throw new KubeApiError(`watch ${this.o.path}: unknown event type`, undefined);
    // A replayed event after a restart carries a version we already reported.
    if (before === obj.metadata.resourceVersion) return;
    this.known.set(key, obj.metadata.resourceVersion);
    this.emit(before === undefined ? "added" : "modified", obj);
  }

  private emit(type: WatchEventType, obj: WatchedObject): void {
    if (this.stopped) return;
    // The object is ours (freshly parsed), so it is trimmed in place.
    delete obj.metadata["managedFields"];
    try {
      this.o.onEvent(type, obj);
    } catch (err) {
      // A throwing handler is a bug in the caller; the loop must not stop over it.
      this.o.logger?.error({ path: this.o.path, err }, "watch event handler threw");
    }
  }
}

/** Builds a list+watch loop; nothing happens until `start()`. */
export function createWatchLoop(options: WatchLoopOptions): WatchLoop {
  return new ListWatchLoop(options);
}
