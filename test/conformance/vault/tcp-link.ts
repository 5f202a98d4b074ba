// A loopback TCP forwarder that can be cut and restored: Vault reaches the Kubernetes API through it, so a test can make TokenReview fail while the broker's own API connection works.
import { createConnection, createServer, type Server, type Socket } from "node:net";

export interface TcpLink {
  /** The port clients connect to; the same across cut() and restore(). */
  port: number;
  /** Closes the listener and destroys every open connection: new connections are refused. Idempotent. */
  cut(): Promise<void>;
  /** Listens again on the same port. Idempotent. */
  restore(): Promise<void>;
  /** Connections accepted so far (a proof that traffic went through the link). */
  accepted(): number;
  close(): Promise<void>;
}

/** Forwards 127.0.0.1:<free port> to 127.0.0.1:`targetPort` byte for byte (TLS passes through untouched). I/O. */
export async function startTcpLink(targetPort: number): Promise<TcpLink> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const onConnection = (client: Socket): void => {
    accepted++;
    const upstream = createConnection({ host: "127.0.0.1", port: targetPort });
    sockets.add(client);
    sockets.add(upstream);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    // Errors (a reset, the target down) end both sides; they must never reach the test process.
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
    client.pipe(upstream);
    upstream.pipe(client);
  };
  let server: Server | undefined;
  const listen = (port: number): Promise<number> =>
    new Promise((resolve, reject) => {
      const s = createServer(onConnection);
      s.once("error", reject);
      s.listen(port, "127.0.0.1", () => {
        server = s;
        resolve((s.address() as { port: number }).port);
      });
    });
  const port = await listen(0);
  const cut = async (): Promise<void> => {
    const s = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    if (s !== undefined) await new Promise((resolve) => s.close(resolve));
  };
  return {
    port,
    cut,
    restore: async () => {
      if (server === undefined) await listen(port);
    },
    accepted: () => accepted,
    close: cut,
  };
}
