// Listening, body reading and the admin routes (faults, counters) every emulator shares.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import type { CallCounters } from "./counters.js";
import { FaultSettingsError } from "./fault-settings.js";
import type { FaultInjector } from "./faults.js";

export type RequestHandler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => Promise<void> | void;

export interface ListenOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  tls?: { key: string; cert: string };
  /** Largest request body accepted, in bytes. */
  maxBodyBytes?: number;
  /** Answers a body over `maxBodyBytes` in the emulated service's own shape (default: a JSON 413). */
  answerTooLarge?: (res: ServerResponse, limitBytes: number) => void;
}

export interface RunningServer {
  url: string;
  /** TCP connections accepted so far (shows whether clients reuse connections). */
  readonly connectionsAccepted: number;
  host: string;
  port: number;
  /** Closes the listener and every open connection (watch streams included). */
  close(): Promise<void>;
}

/** The handle every emulator returns: where it listens plus its fault and counter controls. */
export interface SandboxServer extends RunningServer {
  faults: FaultInjector;
  counters: CallCounters;
}

export class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** Reads a whole request body, refusing bodies over `limit` bytes with HttpError 413. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > limit) throw new HttpError(413, "request body too large");
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text).toString(), ...headers });
  res.end(text);
}

export function sendText(res: ServerResponse, status: number, body: string, contentType: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": contentType, "content-length": Buffer.byteLength(body).toString(), ...headers });
  res.end(body);
}

/** Drops the connection without an answer, as a dead server behind a load balancer would. */
export function dropConnection(res: ServerResponse): void {
  res.socket?.destroy();
}

export const ADMIN_PREFIX = "/__sandbox/";

/** Answers a fault-settings change: 200 with the merged settings, or 400 naming the bad field (and, for operations, the valid names). */
function putFaults(res: ServerResponse, body: Buffer, faults: FaultInjector): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8") || "{}");
  } catch {
    sendJson(res, 400, { error: "body must be JSON fault settings" });
    return;
  }
  try {
    sendJson(res, 200, faults.update(parsed));
  } catch (err) {
    if (!(err instanceof FaultSettingsError)) throw err;
    sendJson(res, 400, { error: err.message, field: err.field, ...(err.validOperations === undefined ? {} : { validOperations: err.validOperations }) });
  }
}

/**
 * Serves `GET|PUT|DELETE /__sandbox/faults`, `GET /__sandbox/operations` and `GET|DELETE
 * /__sandbox/counters`. A PUT merges the settings it names and is refused whole (400 naming the
 * field) when one is unknown, mistyped, out of range or names an operation the emulator lacks.
 * Returns true when the request was an admin request (and has been answered). Admin requests are
 * never faulted or counted.
 */
export function handleAdmin(req: IncomingMessage, res: ServerResponse, body: Buffer, faults: FaultInjector, counters: CallCounters): boolean {
  const path = (req.url ?? "").split("?")[0] ?? "";
  if (!path.startsWith(ADMIN_PREFIX)) return false;
  const what = path.slice(ADMIN_PREFIX.length);
  if (what === "faults") {
    if (req.method === "PUT" || req.method === "POST") putFaults(res, body, faults);
    else if (req.method === "DELETE") {
      faults.reset();
      sendJson(res, 200, faults.current);
    } else sendJson(res, 200, faults.current);
    return true;
  }
  if (what === "operations") {
    sendJson(res, 200, { operations: faults.operationNames ?? null });
    return true;
  }
  if (what === "counters") {
    if (req.method === "DELETE") counters.reset();
    sendJson(res, 200, { total: counters.total(), operations: counters.snapshot() });
    return true;
  }
  sendJson(res, 404, { error: "unknown sandbox admin route" });
  return true;
}

/** Starts an HTTP(S) server for `handler`; handler exceptions become 500s (HttpError keeps its status). */
export async function listen(handler: RequestHandler, options: ListenOptions = {}): Promise<RunningServer> {
  const host = options.host ?? "127.0.0.1";
  const limit = options.maxBodyBytes ?? 16 * 1024 * 1024;
  const sockets = new Set<Socket>();
  let accepted = 0;
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    void (async () => {
      try {
        const body = await readBody(req, limit);
        await handler(req, res, body);
      } catch (err) {
        if (res.headersSent) {
          res.destroy();
          return;
        }
        if (err instanceof HttpError && err.status === 413 && options.answerTooLarge) return options.answerTooLarge(res, limit);
        const status = err instanceof HttpError ? err.status : 500;
        sendJson(res, status, { error: err instanceof Error ? err.message : "internal error" });
      }
    })();
  };
  const server: Server = options.tls ? createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, onRequest) : createHttpServer(onRequest);
  server.keepAliveTimeout = 30_000;
  server.on("connection", (s: Socket) => {
    accepted++;
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  server.on("secureConnection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const scheme = options.tls ? "https" : "http";
  const urlHost = host.includes(":") ? `[${host}]` : host;
  return {
    url: `${scheme}://${urlHost}:${port}`,
    host,
    port,
    get connectionsAccepted() {
      return accepted;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
