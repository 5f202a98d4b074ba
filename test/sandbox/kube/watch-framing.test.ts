// The emulator's watch framing as kube-apiserver v1.34 writes it: a 410 ERROR line with the end in a later write, and the cacher's bookmark schedule.
import { EventEmitter } from "node:events";
import type { ServerResponse } from "node:http";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { builtInResourceTypes, resourceKey, type ResourceType } from "../../../src/sandbox/kube/resources.js";
import { ObjectStore } from "../../../src/sandbox/kube/store.js";
import { WatchHub, type WatchRequest } from "../../../src/sandbox/kube/watch.js";

/** Records each write and the end separately, so a test can tell one write from two. */
class RecordingResponse extends EventEmitter {
  readonly writes: string[] = [];
  /** What was passed to `end`, in order: undefined for a bare end. */
  readonly ends: Array<string | undefined> = [];
  destroyed = false;
  readonly socket = { destroy: () => (this.destroyed = true) };

  writeHead(): this {
    return this;
  }

  flushHeaders(): void {}

  write(chunk: string): boolean {
    this.writes.push(chunk);
    return true;
  }

  end(chunk?: string): this {
    this.ends.push(chunk);
    return this;
  }

  /** The parsed event lines written so far. */
  events(): Array<{ type: string; object: { code?: number; metadata?: { resourceVersion?: string } } }> {
    return this.writes
      .join("")
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as { type: string; object: { code?: number } });
  }
}

const upstreams = builtInResourceTypes().find((t) => t.plural === "upstreams") as ResourceType;

function watchRequest(overrides: Partial<WatchRequest>): WatchRequest {
  return { type: upstreams, namespace: "team-a", matcher: undefined, resourceVersion: null, bookmarks: false, timeoutSeconds: undefined, metadataOnly: false, ...overrides };
}

function seed(store: ObjectStore, count: number): void {
  for (let i = 0; i < count; i++) {
    const rv = store.nextResourceVersion();
    const obj = { apiVersion: "gloo.solo.io/v1", kind: "Upstream", metadata: { name: `u${i}`, namespace: "team-a", resourceVersion: String(rv) } };
    store.commit(resourceKey(upstreams), "team-a", `u${i}`, "ADDED", obj, rv);
  }
}

function serve(hub: WatchHub, req: WatchRequest): RecordingResponse {
  const res = new RecordingResponse();
  hub.serve(res as unknown as ServerResponse, req);
  return res;
}

describe("emulator watch framing", () => {
  it("answers a too-old resourceVersion with the 410 ERROR line, then ends the response in a later write", async () => {
    const store = new ObjectStore(2);
    seed(store, 5);
    const hub = new WatchHub(store, { bookmarkIntervalMs: 60_000, isDown: () => false, outagePollMs: 200 });
    const res = serve(hub, watchRequest({ resourceVersion: "1" }));

    expect(res.events()).toEqual([{ type: "ERROR", object: expect.objectContaining({ kind: "Status", code: 410, reason: "Expired" }) as unknown }]);
    expect(res.ends).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(res.ends).toEqual([undefined]);
    expect(res.writes).toHaveLength(1);
  });
});

describe("emulator watch bookmarks", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  function hubWith(bookmarkIntervalMs: number): { hub: WatchHub; store: ObjectStore } {
    const store = new ObjectStore(100);
    seed(store, 1);
    return { hub: new WatchHub(store, { bookmarkIntervalMs, isDown: () => false, outagePollMs: 200 }), store };
  }

  const bookmarks = (res: RecordingResponse) => res.events().filter((e) => e.type === "BOOKMARK");

  it("sends a bookmark every interval with the current resourceVersion, and one 2 s before timeoutSeconds", () => {
    const { hub, store } = hubWith(60_000);
    const res = serve(hub, watchRequest({ resourceVersion: store.resourceVersion.toString(), bookmarks: true, timeoutSeconds: 150 }));

    vi.advanceTimersByTime(59_999);
    expect(bookmarks(res)).toHaveLength(0);
    vi.advanceTimersByTime(1);
    expect(bookmarks(res)).toHaveLength(1);
    seed(store, 1);
    vi.advanceTimersByTime(60_000);
    expect(bookmarks(res).map((b) => b.object.metadata?.resourceVersion)).toEqual(["1", "2"]);
    vi.advanceTimersByTime(27_999);
    expect(bookmarks(res)).toHaveLength(2);
    vi.advanceTimersByTime(1); // 148 s: the pre-timeout bookmark
    expect(bookmarks(res)).toHaveLength(3);
    expect(res.ends).toEqual([]);
    vi.advanceTimersByTime(2_000);
    expect(res.ends).toEqual([undefined]);
    vi.advanceTimersByTime(120_000);
    expect(bookmarks(res)).toHaveLength(3);
    expect(hub.size).toBe(0);
  });

  it("sends no bookmarks unless the client allows them, and none on a watch shorter than 2 s", () => {
    const { hub } = hubWith(100);
    const plain = serve(hub, watchRequest({ bookmarks: false }));
    const short = serve(hub, watchRequest({ bookmarks: true, timeoutSeconds: 2 }));
    vi.advanceTimersByTime(1_000);
    expect(bookmarks(plain)).toHaveLength(0);
    expect(bookmarks(short)).toHaveLength(0);
    vi.advanceTimersByTime(1_000);
    expect(short.ends).toEqual([undefined]);
    hub.closeAll();
  });

  it("keeps a shortened cadence for tests and stops bookmarking when the stream ends", () => {
    const { hub } = hubWith(20);
    const res = serve(hub, watchRequest({ bookmarks: true }));
    vi.advanceTimersByTime(100);
    expect(bookmarks(res)).toHaveLength(5);
    hub.closeAll();
    vi.advanceTimersByTime(100);
    expect(bookmarks(res)).toHaveLength(5);
  });
});
