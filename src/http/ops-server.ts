// The operational endpoints every replica serves: liveness, readiness and Prometheus metrics.
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import express, { type Express } from "express";

export interface OpsDeps {
  /** Watches have synced: the broker knows the fleet. A Vault outage does not make it unready. */
  ready: () => boolean;
  renderMetrics: () => Promise<string>;
  metricsContentType: string;
}

/** Builds the app; later routes (reverify, upstream views) mount on the same app. No I/O until listened. */
export function createOpsApp(deps: OpsDeps): Express {
  const app = express();
  app.disable("x-powered-by");
  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  app.get("/readyz", (_req, res) => {
    const ready = deps.ready();
    res.status(ready ? 200 : 503).json({ status: ready ? "ready" : "syncing" });
  });
  app.get("/metrics", (_req, res, next) => {
    deps.renderMetrics().then(
      (text) => {
        res.type(deps.metricsContentType).send(text);
      },
      (err: unknown) => next(err),
    );
  });
  return app;
}

/** Listens on host:port (0 picks a free port). I/O. */
export async function listenOps(app: Express, host: string, port: number): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(port, host, (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  const address = server.address() as AddressInfo;
  return {
    server,
    url: `http://${host.includes(":") ? `[${host}]` : host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
