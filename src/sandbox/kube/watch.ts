// Watch streams: newline-delimited events from a resourceVersion (410 Expired when it left the history window), bookmarks, timeouts.
// Framing follows kube-apiserver (v1.34, watch cache on): a 410 is a 200 whose body is one ERROR line, the end
// comes in a later write; bookmarks come every `bookmarkIntervalMs` (the cacher's is one minute) and once more
// shortly before `timeoutSeconds` ends the stream.
import type { ServerResponse } from "node:http";
import type { JsonObject } from "../../model/fields.js";
import { metadataContentType, toPartial, METADATA_API_VERSION } from "./content.js";
import { groupVersion, resourceKey, type ResourceType } from "./resources.js";
import type { Matcher } from "./selectors.js";
import { expired } from "./status.js";
import type { Change, ChangeType, ObjectStore } from "./store.js";

export interface WatchRequest {
  type: ResourceType;
  /** Undefined watches every namespace. */
  namespace: string | undefined;
  matcher: Matcher | undefined;
  /** Null, "" or "0": start with ADDED for every current object. */
  resourceVersion: string | null;
  bookmarks: boolean;
  timeoutSeconds: number | undefined;
  metadataOnly: boolean;
}

/** The cacher sends a last bookmark this long before a watch's timeout, so a client can resume without a gap. */
const PRE_TIMEOUT_BOOKMARK_MS = 2_000;

export interface WatchHubOptions {
  /** Interval of BOOKMARK events on watches that allow them (the real server: about 60 s). */
  bookmarkIntervalMs: number;
  /** Polled while streams are open; true drops every stream as an outage would. */
  isDown: () => boolean;
  /** How often `isDown` is polled, in milliseconds. */
  outagePollMs: number;
}

type EventType = ChangeType | "BOOKMARK" | "ERROR";

/** Keeps the open watch streams of one emulator so that close() and outages can end them. */
export class WatchHub {
  private readonly open = new Set<{ end: (drop: boolean) => void }>();
  private poller: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: ObjectStore,
    private readonly options: WatchHubOptions,
  ) {}

  get size(): number {
    return this.open.size;
  }

  /** Ends every stream cleanly (as a server shutting down does). */
  closeAll(): void {
    for (const w of [...this.open]) w.end(false);
    this.stopPoller();
  }

  private stopPoller(): void {
    if (this.poller !== undefined) clearInterval(this.poller);
    this.poller = undefined;
  }

  private startPoller(): void {
    if (this.poller !== undefined) return;
    this.poller = setInterval(() => {
      if (this.open.size === 0) this.stopPoller();
      else if (this.options.isDown()) for (const w of [...this.open]) w.end(true);
    }, this.options.outagePollMs);
    this.poller.unref();
  }

  /**
   * Answers a watch on `res`. The initial state and the subscription are taken in one synchronous step,
   * so no change can fall between them. Writes a 410 ERROR event when the version is too old, and ends the
   * response in a separate write, after the event has gone out, as the real server does.
   */
  serve(res: ServerResponse, req: WatchRequest): void {
    const matches = (obj: JsonObject | undefined): boolean => {
      if (obj === undefined) return false;
      if (req.namespace !== undefined) {
        const meta = obj["metadata"] as JsonObject | undefined;
        if (meta?.["namespace"] !== req.namespace) return false;
      }
      return req.matcher === undefined || req.matcher(obj);
    };
    const render = (obj: JsonObject): JsonObject => (req.metadataOnly ? toPartial(obj) : obj);
    const line = (type: EventType, obj: JsonObject): string => `${JSON.stringify({ type, object: type === "ERROR" || type === "BOOKMARK" ? obj : render(obj) })}\n`;
    const eventFor = (c: Change): string | undefined => {
      const now = matches(c.object);
      if (c.type === "ADDED") return now ? line("ADDED", c.object) : undefined;
      if (c.type === "DELETED") return now ? line("DELETED", c.object) : undefined;
      const before = matches(c.previous);
      if (before && now) return line("MODIFIED", c.object);
      if (now) return line("ADDED", c.object);
      if (before) return line("DELETED", c.object);
      return undefined;
    };

    res.writeHead(200, {
      "content-type": req.metadataOnly ? metadataContentType(false) : "application/json",
      "cache-control": "no-cache, private",
      "transfer-encoding": "chunked",
    });
    res.flushHeaders();

    const resource = resourceKey(req.type);
    const rvText = req.resourceVersion;
    const fromScratch = rvText === null || rvText === "" || rvText === "0";
    const backlog: string[] = [];
    if (fromScratch) {
      for (const obj of this.store.scan(resource, req.type.namespaced ? req.namespace : undefined, undefined)) if (matches(obj)) backlog.push(line("ADDED", obj));
    } else {
      const changes = this.store.changesSince(resource, Number(rvText));
      if (changes === undefined) {
        res.write(line("ERROR", expired(rvText, this.store.compactedRevision + 1).toStatus()));
        setImmediate(() => {
          if (!res.destroyed) res.end();
        });
        return;
      }
      for (const c of changes) {
        const ev = eventFor(c);
        if (ev !== undefined) backlog.push(ev);
      }
    }

    let ended = false;
    const unsubscribe = this.store.subscribe(resource, (c) => {
      const ev = eventFor(c);
      if (ev !== undefined) res.write(ev);
    });
    const timers: NodeJS.Timeout[] = [];
    let bookmarkTimer: NodeJS.Timeout | undefined;
    const handle = {
      end: (drop: boolean) => {
        if (ended) return;
        ended = true;
        unsubscribe();
        for (const t of timers) clearTimeout(t);
        clearTimeout(bookmarkTimer);
        this.open.delete(handle);
        if (drop) res.socket?.destroy();
        else res.end();
      },
    };
    this.open.add(handle);
    this.startPoller();
    res.on("close", () => handle.end(false));

    // Large backlogs go out in chunks: one write per event would dominate a 20k-object initial list.
    for (let i = 0; i < backlog.length; i += 500) res.write(backlog.slice(i, i + 500).join(""));

    const timeoutMs = req.timeoutSeconds !== undefined && req.timeoutSeconds > 0 ? req.timeoutSeconds * 1000 : undefined;
    if (req.bookmarks) {
      const kind = req.metadataOnly ? "PartialObjectMetadata" : req.type.kind;
      const apiVersion = req.metadataOnly ? METADATA_API_VERSION : groupVersion(req.type);
      // The cacher's nextBookmarkTime: the earlier of one interval on and 2 s before the deadline; none once that has passed.
      let sentAtMs = 0;
      const scheduleBookmark = () => {
        let nextMs = sentAtMs + this.options.bookmarkIntervalMs;
        if (timeoutMs !== undefined) nextMs = Math.min(nextMs, timeoutMs - PRE_TIMEOUT_BOOKMARK_MS);
        if (nextMs <= sentAtMs) return;
        bookmarkTimer = setTimeout(() => {
          sentAtMs = nextMs;
          if (ended) return;
          res.write(line("BOOKMARK", { kind, apiVersion, metadata: { resourceVersion: String(this.store.resourceVersion) } }));
          scheduleBookmark();
        }, nextMs - sentAtMs);
        bookmarkTimer.unref();
      };
      scheduleBookmark();
    }
    if (timeoutMs !== undefined) {
      const limit = setTimeout(() => handle.end(false), timeoutMs);
      limit.unref();
      timers.push(limit);
    }
  }
}
