// The watch loop against a raw HTTP server playing the framings a real kube-apiserver (or a proxy in front of it) sends:
// ERROR events before a separate end, resets, torn lines, garbage. The loop must keep delivering, say why it restarted, and never crash the process.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createSystemClock } from "../../../src/runtime/clock.js";
import { createWatchLoop, type WatchEventType, type WatchLoop, type WatchLoopOptions, type WatchRestartCause, type WatchedObject } from "../../../src/runtime/kube/watch-loop.js";
import { waitFor } from "../../controller/helpers.js";

type Script = (res: ServerResponse, req: IncomingMessage) => void;

const PATH = "/apis/gloo.solo.io/v1/namespaces/team-a/upstreams";

/** An Upstream as the real server returns it: with the managedFields the loop must strip. */
function upstreamObject(name: string, rv: number, annotations: Record<string, string> = {}): Record<string, unknown> {
  return {
    apiVersion: "gloo.solo.io/v1",
    kind: "Upstream",
    metadata: {
      name,
      namespace: "team-a",
      resourceVersion: String(rv),
      labels: { app: name },
      annotations,
      managedFields: [{ manager: "kubectl", operation: "Apply", apiVersion: "gloo.solo.io/v1", fieldsType: "FieldsV1", fieldsV1: { "f:spec": { "f:aws": {} } } }],
    },
    spec: { aws: { region: "us-east-1" } },
  };
}

function eventLine(type: string, object: unknown): string {
  return `${JSON.stringify({ type, object })}\n`;
}

function statusObject(code: number, reason: string): Record<string, unknown> {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: `${reason} for the test`, reason, code };
}

function watchHead(res: ServerResponse, contentType = "application/json"): void {
  res.writeHead(200, { "content-type": contentType, "cache-control": "no-cache, private", "transfer-encoding": "chunked" });
  res.flushHeaders();
}

/**
 * A stand-in API server for one collection: lists answer `listed` (after `listScripts`, one per list), each watch
 * plays the next of `watchScripts`, and once those are used up a watch sends ADDED `next-<n>` and stays open.
 */
class FakeApiServer {
  lists = 0;
  watches = 0;
  private rv = 10;
  private readonly listed = [upstreamObject("listed", 10)];
  private readonly server: Server;

  constructor(
    private readonly watchScripts: Script[],
    private readonly listScripts: Script[] = [],
  ) {
    this.server = createServer((req, res) => this.answer(req, res));
  }

  nextRv(): number {
    return ++this.rv;
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private answer(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://fake");
    if (url.pathname !== PATH) {
      res.writeHead(404).end();
      return;
    }
    if (url.searchParams.get("watch") !== "true") {
      this.lists++;
      const script = this.listScripts.shift();
      if (script !== undefined) return script(res, req);
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ apiVersion: "gloo.solo.io/v1", kind: "UpstreamList", metadata: { resourceVersion: String(this.rv) }, items: this.listed }));
      return;
    }
    this.watches++;
    const script = this.watchScripts.shift();
    if (script !== undefined) return script(res, req);
    watchHead(res);
    res.write(eventLine("ADDED", upstreamObject(`next-${this.watches}`, this.nextRv())));
  }
}

/** Writes `text` one byte per write, each on its own turn of the event loop, then runs `then`. */
function byteByByte(res: ServerResponse, text: string, then: () => void): void {
  const bytes = Buffer.from(text, "utf8");
  let i = 0;
  const step = (): void => {
    if (res.destroyed) return;
    if (i >= bytes.length) return then();
    res.write(bytes.subarray(i, ++i));
    setImmediate(step);
  };
  step();
}

interface Scenario {
  name: string;
  /** What the first watch (or list) does. */
  watch?: Script;
  list?: Script;
  /** "relist": the loop lists again (410); "restart": it watches again from its resourceVersion without a list. */
  expect: "relist" | "restart";
  /** An object the broken stream still delivers before it breaks. */
  delivers?: string;
  overrides?: Partial<WatchLoopOptions>;
}

const scenarios: Scenario[] = [
  {
    // On loopback the end usually lands in the same read as the line; the next scenario keeps them apart.
    name: "an ERROR 410 line, then the end in a separate write (the real server)",
    watch: (res) => {
      watchHead(res);
      res.write(eventLine("ERROR", statusObject(410, "Expired")));
      setImmediate(() => res.end());
    },
    expect: "relist",
  },
  {
    name: "an ERROR 410 line, then the end a few ms later",
    watch: (res) => {
      watchHead(res);
      res.write(eventLine("ERROR", statusObject(410, "Expired")));
      setTimeout(() => res.end(), 5);
    },
    expect: "relist",
  },
  {
    name: "an ERROR 410 line and the end in one write",
    watch: (res) => {
      watchHead(res);
      res.end(eventLine("ERROR", statusObject(410, "Expired")));
    },
    expect: "relist",
  },
  {
    name: "an ERROR 410 line on a response that stays open",
    watch: (res) => {
      watchHead(res);
      res.write(eventLine("ERROR", statusObject(410, "Gone")));
    },
    expect: "relist",
  },
  {
    name: "an ERROR 500 line, then the end a few ms later",
    watch: (res) => {
      watchHead(res);
      res.write(eventLine("ERROR", statusObject(500, "InternalError")));
      setTimeout(() => res.end(), 5);
    },
    expect: "restart",
  },
  {
    name: "an ERROR event without a Status",
    watch: (res) => {
      watchHead(res);
      res.write('{"type":"ERROR"}\n');
    },
    expect: "restart",
  },
  {
    name: "events split byte by byte over many writes, multi-byte characters included",
    watch: (res) => {
      watchHead(res);
      const line = eventLine("ADDED", upstreamObject("split", 11, { note: "zürich ☃ 🙂" })) + eventLine("BOOKMARK", { kind: "Upstream", metadata: { resourceVersion: "11" } });
      byteByByte(res, line, () => res.end());
    },
    expect: "restart",
    delivers: "split",
  },
  {
    name: "a stream that ends in the middle of a line",
    watch: (res) => {
      watchHead(res);
      res.write(eventLine("ADDED", upstreamObject("whole", 11)));
      res.write('{"type":"ADDED","object":{"metadata":{"name":"torn"');
      setImmediate(() => res.end());
    },
    expect: "restart",
    delivers: "whole",
  },
  {
    name: "the socket destroyed mid-stream",
    watch: (res) => {
      watchHead(res);
      res.write(eventLine("ADDED", upstreamObject("before-destroy", 11)));
      res.write('{"type":"MODIFIED","obj');
      setImmediate(() => res.socket?.destroy());
    },
    expect: "restart",
    delivers: "before-destroy",
  },
  {
    name: "the connection reset mid-stream",
    watch: (res) => {
      watchHead(res);
      res.write(eventLine("ADDED", upstreamObject("before-reset", 11)));
      setImmediate(() => res.socket?.resetAndDestroy());
    },
    expect: "restart",
    delivers: "before-reset",
  },
  {
    name: "the connection reset before any answer",
    watch: (_res, req) => {
      req.socket.resetAndDestroy();
    },
    expect: "restart",
  },
  {
    name: "a line that is not JSON on a stream that stays open",
    watch: (res) => {
      watchHead(res);
      res.write("this is not json\n");
    },
    expect: "restart",
  },
  {
    name: "an event without name or resourceVersion",
    watch: (res) => {
      watchHead(res);
      res.write(eventLine("ADDED", { kind: "Upstream", metadata: {} }));
    },
    expect: "restart",
  },
  {
    name: "a 200 with a text/plain garbage body (a proxy's page)",
    watch: (res) => {
      watchHead(res, "text/plain; charset=utf-8");
      res.write("<html><body>502 Bad Gateway</body></html>\nsomething else\n");
      setTimeout(() => res.end(), 5);
    },
    expect: "restart",
  },
  {
    name: "a 200 with garbage and no newline at all, then the end",
    watch: (res) => {
      watchHead(res, "text/plain");
      res.end("upstream connect error or disconnect/reset before headers");
    },
    expect: "restart",
  },
  {
    name: "a line longer than maxEventBytes",
    watch: (res) => {
      watchHead(res);
      res.write(eventLine("ADDED", upstreamObject("short-enough", 11)));
      for (let i = 0; i < 8; i++) res.write("x".repeat(512));
    },
    expect: "restart",
    delivers: "short-enough",
    overrides: { maxEventBytes: 2048 },
  },
  {
    name: "a list answered 200 with a text/plain garbage body",
    list: (res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("<html>maintenance</html>\n");
    },
    expect: "relist",
  },
  {
    name: "a list whose connection is reset mid-body",
    list: (res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write('{"kind":"UpstreamList","items":[');
      setImmediate(() => res.socket?.resetAndDestroy());
    },
    expect: "relist",
  },
];

interface CauseScenario {
  cause: WatchRestartCause;
  how: string;
  watch?: Script;
  list?: Script;
  overrides?: Partial<WatchLoopOptions>;
}

/** One scripted round per restart cause; the round after it is the server's default watch, which delivers `next-<n>`. */
const causeScenarios: CauseScenario[] = [
  {
    cause: "expired",
    how: "an ERROR 410 event",
    watch: (res) => {
      watchHead(res);
      res.write(eventLine("ERROR", statusObject(410, "Expired")));
      setImmediate(() => res.end());
    },
  },
  {
    cause: "expired",
    how: "a list answered 410 (an expired continue token)",
    list: (res) => {
      res.writeHead(410, { "content-type": "application/json" });
      res.end(JSON.stringify(statusObject(410, "Expired")));
    },
  },
  {
    cause: "error",
    how: "an ERROR 500 event",
    watch: (res) => {
      watchHead(res);
      res.write(eventLine("ERROR", statusObject(500, "InternalError")));
    },
  },
  {
    cause: "error",
    how: "a list answered 500",
    list: (res) => {
      res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify(statusObject(500, "InternalError")));
    },
  },
  {
    cause: "stalled",
    how: "a watch that sends nothing past the stall timeout",
    // Silent from the start; the default watch after it delivers at once.
    watch: (res) => watchHead(res),
    overrides: { stallTimeoutMs: 150 },
  },
  {
    cause: "closed",
    how: "a watch the server ends cleanly",
    watch: (res) => {
      watchHead(res);
      res.write(eventLine("BOOKMARK", { kind: "Upstream", metadata: { resourceVersion: "10" } }));
      setImmediate(() => res.end());
    },
  },
];

function fakeKubeConfig(server: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "fake", server, skipTLSVerify: true }],
    users: [{ name: "tester", token: "not-a-secret" }],
    contexts: [{ name: "fake", cluster: "fake", user: "tester" }],
    currentContext: "fake",
  });
  return kc;
}

describe("watch loop against the real server's framings", () => {
  const crashes: Array<{ kind: string; err: unknown }> = [];
  const onUncaught = (err: unknown) => crashes.push({ kind: "uncaughtException", err });
  const onUnhandled = (err: unknown) => crashes.push({ kind: "unhandledRejection", err });
  let loop: WatchLoop | undefined;
  let server: FakeApiServer | undefined;

  beforeEach(() => {
    crashes.length = 0;
    process.on("uncaughtException", onUncaught);
    process.on("unhandledRejection", onUnhandled);
  });

  afterEach(async () => {
    await loop?.stop();
    await server?.close();
    loop = undefined;
    server = undefined;
    process.off("uncaughtException", onUncaught);
    process.off("unhandledRejection", onUnhandled);
  });

  async function run(watchScripts: Script[], listScripts: Script[], overrides: Partial<WatchLoopOptions> = {}) {
    server = new FakeApiServer(watchScripts, listScripts);
    const url = await server.listen();
    const events: Array<{ type: WatchEventType; obj: WatchedObject }> = [];
    loop = createWatchLoop({
      kubeConfig: fakeKubeConfig(url),
      path: PATH,
      clock: createSystemClock(),
      random: () => 0.5,
      backoff: { minMs: 20, maxMs: 50 },
      stallTimeoutMs: 10_000,
      onEvent: (type, obj) => events.push({ type, obj }),
      onSynced: () => undefined,
      ...overrides,
    });
    loop.start();
    return { server, loop, events };
  }

  const names = (events: Array<{ obj: WatchedObject }>) => events.map((e) => e.obj.metadata.name);

  it.each(scenarios)("keeps delivering after $name, and nothing crashes", async (s) => {
    const { server, loop, events } = await run(s.watch ? [s.watch] : [], s.list ? [s.list] : [], s.overrides);
    await waitFor("an event from a later watch", () => names(events).some((n) => n.startsWith("next-")));

    expect(loop.restarts).toBeGreaterThanOrEqual(1);
    expect(server.lists).toBe(s.expect === "relist" ? 2 : 1);
    expect(server.watches).toBe(s.list ? 1 : 2);
    if (s.delivers !== undefined) expect(names(events)).toContain(s.delivers);
    expect(names(events)).not.toContain("torn");
    for (const e of events) expect(e.obj.metadata).not.toHaveProperty("managedFields");
    await loop.stop();
    expect(crashes).toEqual([]);
  });

  it.each(causeScenarios)("reports a restart after $how to onRestart as $cause", async (s) => {
    const causes: WatchRestartCause[] = [];
    const { loop, events } = await run(s.watch ? [s.watch] : [], s.list ? [s.list] : [], { ...s.overrides, onRestart: (cause) => causes.push(cause) });
    await waitFor("an event from a later watch", () => names(events).some((n) => n.startsWith("next-")));
    // The default watch goes quiet after its one event, so with a short stall timeout it may stall too before this check.
    expect(causes[0]).toBe(s.cause);
    if (s.overrides?.stallTimeoutMs === undefined) expect(causes).toEqual([s.cause]);
    expect(causes).toHaveLength(loop.restarts);
    expect(crashes).toEqual([]);
  });

  it("keeps running when onRestart throws", async () => {
    const failing: Script = (res) => {
      watchHead(res);
      res.end();
    };
    let calls = 0;
    const { events } = await run([failing, failing], [], {
      onRestart: () => {
        calls++;
        throw new Error("handler bug");
      },
    });
    await waitFor("an event after two restarts", () => names(events).some((n) => n.startsWith("next-")));
    expect(calls).toBe(2);
    expect(crashes).toEqual([]);
  });

  it("decodes an event whose multi-byte characters were split across writes", async () => {
    const split: Script = (res) => {
      watchHead(res);
      byteByByte(res, eventLine("ADDED", upstreamObject("split", 11, { note: "zürich ☃ 🙂" })), () => res.end());
    };
    const { events } = await run([split], []);
    await waitFor("the split event", () => names(events).includes("split"));
    const annotations = events.find((e) => e.obj.metadata.name === "split")?.obj.metadata["annotations"];
    expect(annotations).toEqual({ note: "zürich ☃ 🙂" });
    expect(crashes).toEqual([]);
  });

  it("relists once at once after a 410, and backs off before a second 410 in a row", async () => {
    const gone: Script = (res) => {
      watchHead(res);
      res.write(eventLine("ERROR", statusObject(410, "Expired")));
      setImmediate(() => res.end());
    };
    const { server, loop, events } = await run([gone, gone, gone], []);
    await waitFor("an event after three 410s", () => names(events).some((n) => n.startsWith("next-")));
    expect(server.lists).toBe(4);
    expect(loop.restarts).toBe(3);
    expect(crashes).toEqual([]);
  });

  it("strips managedFields from listed objects and from watch events, and keeps the rest of metadata", async () => {
    const { events } = await run([], []);
    await waitFor("the listed object and a watch event", () => names(events).includes("listed") && names(events).some((n) => n.startsWith("next-")));
    expect(events.map((e) => e.type)).toEqual(["added", "added"]);
    for (const e of events) {
      expect(e.obj.metadata).not.toHaveProperty("managedFields");
      expect(e.obj.metadata["labels"]).toEqual({ app: e.obj.metadata.name });
      expect(e.obj["spec"]).toEqual({ aws: { region: "us-east-1" } });
    }
    expect(crashes).toEqual([]);
  });
});
