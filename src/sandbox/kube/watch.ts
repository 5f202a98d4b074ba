// Watch streams: newline-delimited events from a resourceVersion (410 Expired when it left the history window), bookmarks, timeouts.
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

export interface WatchHubOptions {
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
   * so no change can fall between them. Writes a 410 ERROR event and ends when the version is too old.
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
        res.end(line("ERROR", expired(rvText, this.store.compactedRevision + 1).toStatus()));
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
    const handle = {
      end: (drop: boolean) => {
        if (ended) return;
        ended = true;
        unsubscribe();
        for (const t of timers) clearTimeout(t);
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

    if (req.bookmarks) {
      const kind = req.metadataOnly ? "PartialObjectMetadata" : req.type.kind;
      const apiVersion = req.metadataOnly ? METADATA_API_VERSION : groupVersion(req.type);
      const tick = setInterval(() => {
        res.write(line("BOOKMARK", { kind, apiVersion, metadata: { resourceVersion: String(this.store.resourceVersion) } }));
      }, this.options.bookmarkIntervalMs);
      tick.unref();
      timers.push(tick);
    }
    if (req.timeoutSeconds !== undefined && req.timeoutSeconds > 0) {
      const limit = setTimeout(() => handle.end(false), req.timeoutSeconds * 1000);
      limit.unref();
      timers.push(limit);
    }
  }
}
