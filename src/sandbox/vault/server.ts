// Listening for the Vault emulator: like common listen(), plus support for Vault's non-standard LIST method.
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createNetServer, type AddressInfo, type Socket } from "node:net";
import { Duplex } from "node:stream";
import { HttpError, readBody, sendJson, type RequestHandler, type RunningServer } from "../common/http-server.js";

const LIST_PREFIX = Buffer.from("LIST ");

/**
 * Node's HTTP parser rejects methods it does not know, and Vault clients (node-vault, hvac, the
 * CLI) send `LIST`. A chunk that starts a request with `LIST <target> HTTP/1.x` is rewritten to
 * `GET <target>?list=true`, which Vault itself treats as the same operation. Only a request line
 * at the start of a chunk is seen; clients write each request line in one piece, so that suffices
 * for the emulator.
 */
export function rewriteListRequestLine(chunk: Buffer): Buffer {
  if (chunk.length < LIST_PREFIX.length || !chunk.subarray(0, LIST_PREFIX.length).equals(LIST_PREFIX)) return chunk;
  const lineEnd = chunk.indexOf(" HTTP/", LIST_PREFIX.length);
  if (lineEnd < 0) return chunk;
  const target = chunk.subarray(LIST_PREFIX.length, lineEnd).toString("latin1");
  const rewritten = `GET ${target}${target.includes("?") ? "&" : "?"}list=true`;
  return Buffer.concat([Buffer.from(rewritten, "latin1"), chunk.subarray(lineEnd)]);
}

/** Wraps a TCP socket in a Duplex that rewrites LIST request lines before the HTTP parser sees them. */
function listAwareStream(socket: Socket): Duplex {
  const stream = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _encoding, callback) {
      socket.write(chunk, callback);
    },
    final(callback) {
      socket.end();
      callback();
    },
    destroy(err, callback) {
      socket.destroy();
      callback(err);
    },
  });
  socket.on("data", (chunk: Buffer) => {
    if (!stream.push(rewriteListRequestLine(chunk))) socket.pause();
  });
  socket.on("end", () => stream.push(null));
  socket.on("close", () => stream.destroy());
  socket.on("error", () => stream.destroy());
  socket.on("timeout", () => stream.emit("timeout"));
  // The HTTP server arms idle timers on its connections; the TCP socket keeps the real ones.
  Object.assign(stream, {
    setTimeout: (ms: number, cb?: () => void) => (socket.setTimeout(ms, cb), stream),
    setNoDelay: () => stream,
    setKeepAlive: () => stream,
    remoteAddress: socket.remoteAddress,
    remotePort: socket.remotePort,
  });
  return stream;
}

/** Starts the HTTP server for `handler` on `host:port` (0: a free port). Handler errors become 500s. */
export async function listenVault(handler: RequestHandler, options: { host?: string; port?: number; maxBodyBytes?: number } = {}): Promise<RunningServer> {
  const host = options.host ?? "127.0.0.1";
  const limit = options.maxBodyBytes ?? 16 * 1024 * 1024;
  const sockets = new Set<Socket>();
  const http = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      try {
        await handler(req, res, await readBody(req, limit));
      } catch (err) {
        if (res.headersSent) {
          res.destroy();
          return;
        }
        sendJson(res, err instanceof HttpError ? err.status : 500, { errors: [err instanceof HttpError ? err.message : "internal error"] });
      }
    })();
  });
  http.keepAliveTimeout = 30_000;
  let accepted = 0;
  const tcp = createNetServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    http.emit("connection", listAwareStream(socket));
  });
  await new Promise<void>((resolve, reject) => {
    tcp.once("error", reject);
    tcp.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (tcp.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    host,
    port,
    get connectionsAccepted() {
      return accepted;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        tcp.close(() => resolve());
      }),
  };
}
